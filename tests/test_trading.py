"""The trading env (rlrun/envs/trading.py): book-keeping, costs, the date split, the metrics and
the baselines against hand-computed values; PPO learns a trend through rlrun."""

from __future__ import annotations

import math
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from rlrun.envs.trading import (
    Trading,
    max_drawdown,
    moving_average_positions,
    sharpe_ratio,
    simulate,
    synthetic_prices,
)

from .conftest import train

SHORT, FLAT, LONG = 0, 1, 2


def write_prices(path: Path, closes: list[float], start: str = "2020-01-01") -> Path:
    dates = np.datetime64(start) + np.arange(len(closes))
    rows = [f"{d},{c},123" for d, c in zip(dates, closes, strict=True)]
    path.write_text("Date,Close,Volume\n" + "\n".join(rows) + "\n")
    return path


def small(path: Path, **kwargs) -> Trading:
    """An env over a CSV with a 2-day window and moving averages of 1 and 2 days."""
    defaults = {"window": 2, "ma_fast": 1, "ma_slow": 2, "episode_length": 2, "test_start": 0.99}
    env = Trading(data=str(path), **{**defaults, **kwargs})
    env.reset(seed=0)
    return env


def test_the_env_passes_gymnasiums_checker():
    check_env(gym.make("rlrun/Trading-v0", render_mode="rgb_array").unwrapped)
    check_env(gym.make("rlrun/Trading-v0", continuous=True).unwrapped)


def test_a_round_trip_at_one_price_loses_twice_the_cost(tmp_path):
    env = small(write_prices(tmp_path / "p.csv", [100.0] * 10), cost=0.001, slippage=0.0)
    _, r1, *_ = env.step(LONG)  # buy units worth 1.0 (the value before the trade): pay 0.001
    _, r2, _, truncated, info = env.step(FLAT)  # sell those units, still worth 1.0: pay 0.001
    assert truncated and info["trades"] == 2
    assert info["portfolio_value"] == pytest.approx(1 - 2 * 0.001, abs=1e-12)
    assert r1 + r2 == pytest.approx(100 * math.log(info["portfolio_value"]), abs=1e-9)


def test_slippage_adds_to_the_cost_of_each_trade(tmp_path):
    env = small(write_prices(tmp_path / "p.csv", [100.0] * 10), cost=0.001, slippage=0.002)
    env.step(LONG)
    assert env.value == pytest.approx(1 - 0.003, abs=1e-12)


def test_the_reward_is_the_change_in_portfolio_value_price_moves_included(tmp_path):
    # prices 100 -> 110: long gains 10% of the 1 - fee left after buying, short loses it
    path = write_prices(tmp_path / "p.csv", [100.0, 100.0, 110.0, 110.0] + [110.0] * 6)
    for action, value in ((LONG, 1.1 - 0.0015), (SHORT, 0.9 - 0.0015), (FLAT, 1.0)):
        env = small(path, cost=0.001, slippage=0.0005)
        env.start = env.t = 1  # the price is 100 now, 110 tomorrow
        _, reward, *_ = env.step(action)
        assert env.value == pytest.approx(value, abs=1e-12)
        assert reward == pytest.approx(100 * math.log(value), abs=1e-9)


def test_observations_are_the_last_log_returns_position_and_cash(tmp_path):
    env = small(write_prices(tmp_path / "p.csv", [100.0, 110.0, 121.0, 121.0] + [121.0] * 6))
    env.start = env.t = 2
    obs = env._obs()
    np.testing.assert_allclose(obs, [100 * math.log(1.1), 100 * math.log(1.1), 0.0, 1.0], 1e-6)
    env.step(LONG)  # all in: cash is what the costs took, the position the rest
    held, cash = env._obs()[2:]
    assert held == pytest.approx(1.0 / (1 - 0.0015), rel=1e-6)
    assert cash == pytest.approx(-0.0015 / (1 - 0.0015), rel=1e-5)


def test_train_and_test_episodes_never_share_a_date(tmp_path):
    """The last train episode ends on the last price before test_start; test episodes trade
    from it on (their observations look back into older dates, as history)."""
    path = write_prices(tmp_path / "p.csv", list(100 + np.arange(200.0)))
    cut = np.datetime64("2020-05-01")  # index 121 of days from 2020-01-01
    train_env, test_env = (
        Trading(data=str(path), split=split, test_start="2020-05-01", episode_length=20)
        for split in ("train", "test")
    )
    assert train_env.hi + 20 == 120 and train_env.dates[120] < cut  # the last train price
    assert test_env.lo == 121 and test_env.dates[121] == cut
    assert test_env.hi + 20 == 199  # the last price of the data
    for env in (train_env, test_env):
        for seed in range(30):
            env.reset(seed=seed)
            assert env.lo <= env.start <= env.hi


def test_sharpe_and_drawdown_by_hand():
    values = np.array([1.0, 1.1, 0.99, 1.089])  # returns +10%, -10%, +10%
    # mean 1/30, population std sqrt(0.008889) = 0.094281: 0.353553 x sqrt(252)
    assert sharpe_ratio(values) == pytest.approx(0.353553 * math.sqrt(252), rel=1e-5)
    assert max_drawdown(values) == pytest.approx(0.1)  # 1.1 -> 0.99
    assert sharpe_ratio(np.ones(5)) == 0.0


def test_moving_average_crossover_by_hand():
    prices = np.array([1.0, 2.0, 3.0, 2.0, 1.0, 1.0])
    # t = 2..4: fast (1 day) 3, 2, 1 against slow (2 days) 2.5, 2.5, 1.5
    np.testing.assert_array_equal(moving_average_positions(prices, 2, 3, 1, 2), [1, -1, -1])


def test_the_baselines_are_what_the_env_itself_gives_their_actions(tmp_path):
    """`simulate` (the baselines' book-keeping) and `step` agree: the env driven by the
    crossover's own positions, or always long, ends with the Sharpe the info gives them."""
    env = Trading(series_seed=3, episode_length=100, ma_fast=5, ma_slow=20)
    for policy in ("crossover", "long"):
        env.reset(seed=7)
        positions = moving_average_positions(env.prices, env.start, 100, 5, 20)
        for t in range(100):
            action = LONG if policy == "long" or positions[t] > 0 else SHORT
            *_, info = env.step(action)
        key = "ma_crossover_sharpe" if policy == "crossover" else "buy_and_hold_sharpe"
        assert info["sharpe"] == pytest.approx(info[key], rel=1e-9)
    prices = np.array([100.0, 110.0, 99.0])
    np.testing.assert_allclose(simulate(prices, np.ones(2), 0.0), [1.0, 1.1, 0.99])
    # fee 1%: long at 100 pays 0.01 (V 1.09 at 110); going short there trades 0.01 + 1.09 / 110
    # units (notional 2.19, fee 0.0219): cash 2.1581, and at 99 V = 2.1581 - 1.09 * 99 / 110
    short_then = simulate(prices, np.array([1.0, -1.0]), 0.01)
    np.testing.assert_allclose(short_then, [1.0, 1.09, 1.1771])


def test_the_synthetic_history_is_fixed_by_its_own_seed():
    a, b = synthetic_prices(500, 1), synthetic_prices(500, 1)
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], synthetic_prices(500, 2)[1])
    assert str(a[0][0]) == "2000-01-03" and np.is_busday(a[0]).all()
    env = Trading(series_seed=1)
    env.reset(seed=0)
    first = env.start
    env.reset(seed=1)  # the episode seed moves the window, not the market
    assert env.start != first and np.array_equal(env.prices, Trading(series_seed=1).prices)


def test_bad_data_says_what_is_wrong(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("day,price\n2020-01-01,1\n")
    with pytest.raises(ValueError, match="has no close or date column"):
        Trading(data=str(bad))
    with pytest.raises(ValueError, match="too few prices"):
        Trading(data=str(write_prices(tmp_path / "p.csv", [1.0] * 30)))
    nan = write_prices(tmp_path / "nan.csv", [1.0, 2.0, float("nan")])
    with pytest.raises(ValueError, match="data row 3 has close 'nan'"):
        Trading(data=str(nan))
    prices = str(write_prices(tmp_path / "ok.csv", [1.0] * 400))
    for test_start, says in (
        (1.5, "test_start 1.5 is no fraction in"),
        ("2030-01-01", r"outside the data's dates \(2020-01-01 to 2021-02-03\)"),
        ("May 2020", "test_start 'May 2020' is no date YYYY-MM-DD"),
    ):
        with pytest.raises(ValueError, match=says):
            Trading(data=prices, test_start=test_start)
    with pytest.raises(ValueError, match="need 1 <= ma_fast < ma_slow"):
        Trading(ma_fast=40, ma_slow=10)


def test_the_render_shades_the_position_held(tmp_path):
    env = Trading(episode_length=50, render_mode="rgb_array")
    env.reset(seed=0)
    for _ in range(10):
        env.step(LONG)
    frame = env.render()
    assert frame.shape == (200, 400, 3) and frame.dtype == np.uint8
    assert tuple(frame[0, 5]) == (200, 255, 200)  # long at the start, green
    assert tuple(frame[0, 300]) == (255, 255, 255)  # days still to come


@pytest.mark.slow
def test_ppo_learns_to_ride_a_trend_out_of_sample(tmp_path):
    """Prices rise 0.5% a day with noise: long is right every day, on the test dates too.
    Random positions pay costs for nothing; PPO learns to stay long."""
    rng = np.random.default_rng(0)
    closes = 100 * np.exp(np.cumsum(0.005 + 0.005 * rng.standard_normal(1500)))
    path = write_prices(tmp_path / "trend.csv", list(closes))
    trainer = train(
        tmp_path / "run",
        "agent=ppo",
        "env=trading",
        f"env.kwargs.data={path}",
        "env.kwargs.test_start=2023-01-01",
        "env.kwargs.episode_length=64",
        "env.num_envs=4",
        "total_timesteps=8192",
        "eval.every_steps=8192",
    )
    ev = trainer.result.final_eval
    # always long: 64 days of ~0.5% = 100 x log growth ~ 32 minus costs
    assert ev.mean_return > 25
    assert ev.metrics["sharpe"] > 0.9 * ev.metrics["buy_and_hold_sharpe"]
