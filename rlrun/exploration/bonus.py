"""Reward bonuses: an intrinsic reward the runner adds to the env's reward before the agent
learns from it, whatever the agent and its action-selection strategy. The logged episodic return
stays the env's own; the bonus is charted as charts/intrinsic_reward."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from rlrun.config.registry import BONUSES, BonusConfig, load_impl
from rlrun.errors import ConfigError
from rlrun.exploration.config import CountBonusConfig
from rlrun.transition import Spaces, Transition


class RewardBonus:
    def __call__(self, t: Transition) -> np.ndarray:
        """The intrinsic reward of each env's transition (and whatever the bonus learns from it)."""
        raise NotImplementedError


class CountBonus(RewardBonus):
    """beta / sqrt(N) with N the visit count, this transition included, of the state reached
    (`counts: state`) or of the state-action pair taken (`state_action`); Discrete observations."""

    def __init__(self, cfg: CountBonusConfig, spaces: Spaces) -> None:
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


def make_bonus(cfg: BonusConfig, spaces: Spaces) -> RewardBonus:
    bonus: RewardBonus = load_impl(BONUSES[cfg.name].impl)(cfg, spaces)
    return bonus
