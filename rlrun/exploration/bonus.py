"""Reward bonuses: an intrinsic reward the runner adds to the env's reward before the agent
learns from it, whatever the agent and its action-selection strategy. The logged episodic return
stays the env's own; the bonus is charted as charts/intrinsic_reward."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from rlrun.config.registry import BONUSES, BonusConfig, load_impl
from rlrun.errors import ConfigError
from rlrun.exploration.config import CountBonusConfig, SimHashBonusConfig
from rlrun.transition import Spaces, Transition


class RewardBonus:
    """Built as `Bonus(cfg, spaces, seed=)`, seed the run's (for a bonus that draws anything)."""

    def __call__(self, t: Transition) -> np.ndarray:
        """The intrinsic reward of each env's transition (and whatever the bonus learns from it)."""
        raise NotImplementedError


class CountBonus(RewardBonus):
    """beta / sqrt(N) with N the visit count, this transition included, of the state reached
    (`counts: state`) or of the state-action pair taken (`state_action`); Discrete observations."""

    def __init__(self, cfg: CountBonusConfig, spaces: Spaces, seed: int = 0) -> None:
        obs, action = spaces.observation, spaces.action
        assert isinstance(obs, gym.spaces.Discrete)  # the capability check made sure
        self.beta = cfg.beta
        self.by_action = cfg.counts == "state_action"
        if self.by_action and not isinstance(action, gym.spaces.Discrete):
            raise ConfigError("bonus.counts", "state_action needs discrete actions; use state")
        self.start = int(obs.start)
        n_actions = int(action.n) if isinstance(action, gym.spaces.Discrete) else 0
        shape = (int(obs.n), n_actions) if self.by_action else (int(obs.n),)
        self.counts = np.zeros(shape, dtype=np.int64)

    def __call__(self, t: Transition) -> np.ndarray:
        key = (t.obs - self.start, t.action) if self.by_action else (t.next_obs - self.start,)
        np.add.at(self.counts, key, 1)  # several envs may visit the same cell in one step
        return self.beta / np.sqrt(self.counts[key])


def simhash(x: np.ndarray, projection: np.ndarray) -> np.ndarray:
    """SimHash codes (Charikar 2002; Tang et al. 2017): the signs of k random projections of
    each row of `x`, packed into one integer (bit i set where projection i is positive)."""
    bits = (x @ projection.T) > 0
    return bits.astype(np.int64) @ (np.int64(1) << np.arange(projection.shape[0], dtype=np.int64))


class SimHashBonus(RewardBonus):
    """beta / sqrt(n(phi(s'))) for Box observations, n the visits of the next state's SimHash
    code (Tang et al. 2017, "#Exploration"): states close in angle share a code, so the count
    generalizes over a continuous space. With `normalize`, observations are first scaled to
    [-1, 1] by the space's bounds (where finite), so every dimension counts, not just the
    widest one, and the hyperplanes through 0 cut the space through its middle."""

    def __init__(self, cfg: SimHashBonusConfig, spaces: Spaces, seed: int = 0) -> None:
        obs = spaces.observation
        assert isinstance(obs, gym.spaces.Box)  # the capability check made sure
        self.beta = cfg.beta
        dim = int(np.prod(obs.shape))
        low, high = obs.low.reshape(-1).astype(np.float64), obs.high.reshape(-1).astype(np.float64)
        finite = cfg.normalize & np.isfinite(low) & np.isfinite(high) & (high > low)
        self.center = np.where(finite, (low + high) / 2, 0.0)
        self.scale = np.where(finite, (high - low) / 2, 1.0)
        # A ~ N(0, 1)^(k x D), fixed for the run: drawn from the bonus's own stream of the run seed
        self.projection = np.random.default_rng(seed).standard_normal((cfg.bits, dim))
        self.counts: dict[int, int] = {}

    def __call__(self, t: Transition) -> np.ndarray:
        x = (t.next_obs.reshape(len(t.next_obs), -1) - self.center) / self.scale
        codes = simhash(x, self.projection).tolist()
        for code in codes:  # all of this step's visits counted first, as CountBonus does
            self.counts[code] = self.counts.get(code, 0) + 1
        return self.beta / np.sqrt([self.counts[code] for code in codes])


def make_bonus(cfg: BonusConfig, spaces: Spaces, seed: int) -> RewardBonus:
    bonus: RewardBonus = load_impl(BONUSES[cfg.name].impl)(cfg, spaces, seed=seed)
    return bonus
