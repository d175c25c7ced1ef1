"""A market to trade one asset in (rlrun/Trading-v0): the guides' stock-trading agent, with the
reward its code left out (the change in portfolio value, price moves included) and costs.

Prices come from a CSV (`data=path.csv`: a header with `date` (ISO, YYYY-MM-DD) and `close`
columns, other columns ignored, rows in date order) or, with `data=None`, from a seeded synthetic
history: geometric Brownian motion whose drift and volatility switch between bull, bear and
sideways regimes (a Markov chain; regimes last ~50 days). Persistent regimes are what makes it
learnable; nothing is downloaded. `series_seed` fixes the history, so the train and test splits
are one market, apart by date: `split=train` draws episodes from the dates before `test_start`
(a date for a CSV, a fraction of the history for the synthetic one), `split=test` from those
on or after it (the env config evaluates there: `eval.env_kwargs: {split: test}`).

The book-keeping is in units: value V = cash + units x price. An action sets a target position
(a fraction of V in the asset, -1 short to +1 long); the trade to it pays `cost + slippage` of
the notional traded, so a round trip flat -> long -> flat at one price loses 2 x (cost +
slippage) x V. Reward: 100 x log(V' / V) per step (log growth in percent: an episode's rewards
sum to its log return). Observation: the last `window` log returns of the price (x 100), the
position held (fraction of V) and the cash fraction.

On an episode's last step the info holds `portfolio_value` (V / V at the start), `trades`,
`sharpe` (annualised, `PERIODS_PER_YEAR` steps a year, per-step simple returns of V),
`max_drawdown`, and the Sharpe ratios of two baselines over the same dates and costs:
`buy_and_hold_sharpe` and `ma_crossover_sharpe` (long while the `ma_fast`-day moving average
of the close is above the `ma_slow`-day one, short below).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

PERIODS_PER_YEAR = 252  # trading days
# Synthetic regimes: the price's daily drift (the log price's is drift - vol^2 / 2) and
# volatility, and the chance that a regime lasts another day.
REGIMES = {"bull": (0.0012, 0.008), "bear": (-0.0012, 0.02), "sideways": (0.0, 0.012)}
STAY = 0.98
ACTION_MODES = ("position", "trade")
POSITIONS = np.array([-1.0, 0.0, 1.0])  # short, flat, long


def synthetic_prices(length: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(business dates from 2000-01-03, closes from 100) of a regime-switching GBM."""
    rng = np.random.default_rng(seed)
    drift, vol = (np.array(v) for v in zip(*REGIMES.values(), strict=True))
    regime = np.empty(length, dtype=np.int64)
    regime[0] = rng.integers(len(REGIMES))
    switch = rng.random(length) > STAY
    others = rng.integers(1, len(REGIMES), length)  # a switch goes to one of the other regimes
    for t in range(1, length):
        regime[t] = (regime[t - 1] + others[t]) % len(REGIMES) if switch[t] else regime[t - 1]
    sigma = vol[regime]
    log_returns = drift[regime] - 0.5 * sigma**2 + sigma * rng.standard_normal(length)
    log_returns[0] = 0.0
    dates = np.busday_offset(np.datetime64("2000-01-03"), np.arange(length), roll="forward")
    return dates, 100.0 * np.exp(np.cumsum(log_returns))


def load_prices(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(dates, closes) from a CSV with `date` and `close` columns (any case, any others)."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise ValueError(f"{path} has no rows")
    columns = {name.strip().lower(): name for name in rows[0]}
    missing = {"date", "close"} - columns.keys()
    if missing:
        raise ValueError(
            f"{path} has no {' or '.join(sorted(missing))} column; it has {list(rows[0])}"
        )
    try:
        dates = np.array([r[columns["date"]].strip()[:10] for r in rows], dtype="datetime64[D]")
    except ValueError as e:
        raise ValueError(f"{path}: a date is not YYYY-MM-DD ({e})") from None
    closes = np.array([_number(r[columns["close"]]) for r in rows])
    bad = np.flatnonzero(~(closes > 0) | ~np.isfinite(closes))  # NaN fails both
    if len(bad):
        raise ValueError(
            f"{path}: data row {bad[0] + 1} has close {rows[bad[0]][columns['close']]!r}; "
            "every close must be a positive number"
        )
    if (np.diff(dates) <= np.timedelta64(0, "D")).any():
        raise ValueError(f"{path}: dates must increase row by row")
    return dates, closes


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("nan")


def sharpe_ratio(values: np.ndarray, periods_per_year: int = PERIODS_PER_YEAR) -> float:
    """Annualised Sharpe ratio of a value path (risk-free rate 0): mean / population std of the
    per-step simple returns, x sqrt(periods); 0 for a path that never moves. (eval/sharpe is the
    mean of the evaluation episodes' ratios, not the ratio of their pooled returns.)"""
    returns = np.diff(values) / values[:-1]
    std = returns.std()
    return 0.0 if std == 0 else float(returns.mean() / std * np.sqrt(periods_per_year))


def max_drawdown(values: np.ndarray) -> float:
    """The largest fall from a running peak, as a fraction of that peak."""
    return float((1 - values / np.maximum.accumulate(values)).max())


def simulate(prices: np.ndarray, positions: np.ndarray, fee: float) -> np.ndarray:
    """The value path (from 1) of holding `positions[t]` (fraction of value, set at price t,
    traded only when it changes) from price t to t + 1, paying `fee` of each trade's notional."""
    cash, units, values = 1.0, 0.0, [1.0]
    held = 0.0
    for t in range(len(positions)):
        value = cash + units * prices[t]
        if positions[t] != held:
            cash, units = trade(cash, units, prices[t], positions[t] * value / prices[t], fee)
            held = positions[t]
        values.append(cash + units * prices[t + 1])
    return np.array(values)


def trade(
    cash: float, units: float, price: float, target: float, fee: float
) -> tuple[float, float]:
    """(cash, units) after trading from `units` to `target` units at `price`, paying the fee."""
    notional = abs(target - units) * price
    return cash - (target - units) * price - fee * notional, target


def moving_average_positions(
    prices: np.ndarray, start: int, steps: int, fast: int, slow: int
) -> np.ndarray:
    """Long (+1) while the fast moving average of the closes up to t is above the slow one, else
    short (-1), for t = start .. start + steps - 1."""
    sums = np.concatenate([[0.0], np.cumsum(prices)])
    t = np.arange(start, start + steps) + 1  # averages of prices[t - n + 1 .. t]
    fast_ma = (sums[t] - sums[t - fast]) / fast
    slow_ma = (sums[t] - sums[t - slow]) / slow
    return np.where(fast_ma > slow_ma, 1.0, -1.0)


class Trading(gym.Env):
    metadata = {"render_modes": ["rgb_array"], "render_fps": 30}  # noqa: RUF012

    def __init__(
        self,
        data: str | None = None,
        series_seed: int = 0,
        length: int = 20_000,
        split: str = "train",
        test_start: str | float = 0.8,
        episode_length: int = 256,
        window: int = 16,
        action_mode: str = "position",
        continuous: bool = False,
        cost: float = 0.001,
        slippage: float = 0.0005,
        ma_fast: int = 10,
        ma_slow: int = 40,
        render_mode: str | None = None,
    ) -> None:
        if split not in ("train", "test"):
            raise ValueError(f"split must be train or test, got {split!r}")
        if action_mode not in ACTION_MODES:
            raise ValueError(f"action_mode must be one of {ACTION_MODES}, got {action_mode!r}")
        if not 1 <= ma_fast < ma_slow:
            raise ValueError(
                f"need 1 <= ma_fast < ma_slow, got ma_fast={ma_fast}, ma_slow={ma_slow}"
            )
        if window < 1 or episode_length < 1:
            raise ValueError(
                f"window and episode_length must be >= 1, got {window}, {episode_length}"
            )
        self.dates, self.prices = (
            synthetic_prices(length, series_seed) if data is None else load_prices(data)
        )
        cut = self._cut(test_start)
        warmup = max(window, ma_slow)  # history the first observation and baseline need
        # episodes start at a price index in [lo, hi]; each steps episode_length prices on
        self.lo, self.hi = (
            (warmup, cut - episode_length - 1)
            if split == "train"
            else (
                max(cut, warmup),
                len(self.prices) - episode_length - 1,
            )
        )
        if self.hi < self.lo:
            raise ValueError(
                f"the {split} split holds too few prices for {episode_length}-step episodes "
                f"after {warmup} of history ({len(self.prices)} prices, test from index {cut})"
            )
        self.log_returns = np.concatenate([[0.0], np.diff(np.log(self.prices))])
        self.episode_length, self.window = episode_length, window
        self.action_mode, self.continuous = action_mode, continuous
        self.fee = cost + slippage
        self.ma_fast, self.ma_slow = ma_fast, ma_slow
        self.render_mode = render_mode
        self.action_space: gym.Space = (
            gym.spaces.Box(-1.0, 1.0, (1,), np.float32) if continuous else gym.spaces.Discrete(3)
        )
        high = np.full(window + 2, np.inf, np.float32)
        self.observation_space = gym.spaces.Box(-high, high, dtype=np.float32)
        self.start = self.t = self.lo
        self.cash, self.units, self.position = 1.0, 0.0, 0.0
        self.values: list[float] = [1.0]  # V / V at the start, per step of the episode
        self.held: list[float] = []  # the position held over each step
        self.trades = 0

    def _cut(self, test_start: str | float) -> int:
        """The index of the first test price: a fraction of the history, or a date."""
        first, last = self.dates[0], self.dates[-1]
        if isinstance(test_start, float | int) and not isinstance(test_start, bool):
            if not 0 < test_start < 1:
                raise ValueError(
                    f"test_start {test_start} is no fraction in (0, 1) nor a date YYYY-MM-DD"
                )
            return round(float(test_start) * len(self.prices))
        try:
            date = np.datetime64(str(test_start), "D")
        except ValueError:
            raise ValueError(
                f"test_start {test_start!r} is no date YYYY-MM-DD nor a fraction"
            ) from None
        if not first < date <= last:
            raise ValueError(f"test_start {date} is outside the data's dates ({first} to {last})")
        return int(np.searchsorted(self.dates, date))

    @property
    def value(self) -> float:
        return self.cash + self.units * self.prices[self.t]

    def _obs(self) -> np.ndarray:
        value = self.value
        recent = 100.0 * self.log_returns[self.t - self.window + 1 : self.t + 1]
        held = self.units * self.prices[self.t] / value
        return np.concatenate([recent, [held, self.cash / value]]).astype(np.float32)

    def reset(
        self, *, seed: int | None = None, options: dict | None = None
    ) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.start = self.t = int(self.np_random.integers(self.lo, self.hi + 1))
        self.cash, self.units, self.position = 1.0, 0.0, 0.0
        self.values, self.held, self.trades = [1.0], [], 0
        return self._obs(), {}

    def _target(self, action: Any) -> float:
        if self.continuous:
            return float(np.clip(np.asarray(action).reshape(-1)[0], -1.0, 1.0))
        if self.action_mode == "position":
            return float(POSITIONS[int(action)])
        step = (0.0, 1.0, -1.0)[int(action)]  # hold, buy, sell: one notch toward long or short
        return float(np.clip(self.position + step, -1.0, 1.0))

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        target = self._target(action)
        before = self.value
        if target != self.position:  # a position is held, not rebalanced, until it changes
            price = self.prices[self.t]
            self.cash, self.units = trade(
                self.cash, self.units, price, target * before / price, self.fee
            )
            self.position = target
            self.trades += 1
        self.held.append(self.position)
        self.t += 1
        after = self.value
        self.values.append(after)
        truncated = self.t - self.start >= self.episode_length
        terminated = after <= 0  # bankrupt (a short through a price spike)
        reward = 100.0 * np.log(max(after, 1e-12) / before)
        info = self._episode_info() if terminated or truncated else {}
        return self._obs(), float(reward), bool(terminated), bool(truncated), info

    def _episode_info(self) -> dict[str, Any]:
        values = np.array(self.values)
        prices = self.prices[self.start : self.t + 1]
        steps = self.t - self.start
        crossover = moving_average_positions(
            self.prices, self.start, steps, self.ma_fast, self.ma_slow
        )
        return {
            "portfolio_value": float(values[-1]),
            "trades": self.trades,
            "sharpe": sharpe_ratio(values),
            "max_drawdown": max_drawdown(values),
            "buy_and_hold_sharpe": sharpe_ratio(simulate(prices, np.ones(steps), self.fee)),
            "ma_crossover_sharpe": sharpe_ratio(simulate(prices, crossover, self.fee)),
        }

    def render(self) -> np.ndarray | None:
        """The episode so far: the close as a black line over the episode's days, the background
        green where the position was long, red where short (200 x 400 RGB)."""
        if self.render_mode != "rgb_array":
            return None
        h, w = 200, 400
        frame = np.full((h, w, 3), 255, np.uint8)
        end = self.start + self.episode_length
        prices = self.prices[self.start : end + 1]
        x = np.linspace(0, w - 1, len(prices)).astype(int)
        lo, hi = prices.min(), prices.max()
        y = (h - 1 - (prices - lo) / max(hi - lo, 1e-12) * (h - 1)).astype(int)
        shade = {1.0: (200, 255, 200), -1.0: (255, 200, 200)}
        for i in range(len(prices) - 1):
            if i < len(self.held):
                frame[:, x[i] : x[i + 1] + 1] = shade.get(float(np.sign(self.held[i])), 255)
            top, bottom = sorted((y[i], y[i + 1]))
            frame[top : bottom + 1, x[i] : x[i + 1] + 1] = 0
        return frame
