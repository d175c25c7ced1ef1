"""Learning the values of options in numpy: SMDP Q-learning and intra-option Q-learning.

Both keep a table Q(s, o) and behave alike while training: each env runs its option until the
option terminates (beta_o(s') drawn at each arrival) or the episode ends, then picks the next one
from the exploration strategy over the options available in its state. They differ in what they
learn from: SMDP Q-learning from each finished option as one transition of a semi-Markov
decision process, intra-option Q-learning from every primitive step, for every option whose
policy would have taken that step (so it learns about options it is not running).
"""

from __future__ import annotations

import importlib
from typing import Any

import gymnasium as gym
import numpy as np

from rlrun.agents.hierarchical.base import RunsOptions, option_table_spaces
from rlrun.agents.hierarchical.config import OptionsConfig
from rlrun.agents.tabular.table import ValueTable
from rlrun.config.registry import ExplorationConfig
from rlrun.envs.options import OptionSet, combined, primitive_options
from rlrun.errors import ConfigError
from rlrun.exploration.strategies import sample_categorical
from rlrun.maths import option_arrival_value, td_target
from rlrun.transition import Spaces, Transition


def load_options(cfg: OptionsConfig, states: int, actions: int) -> OptionSet:
    """The options `cfg.options` names (none: null), checked against the env's spaces, after
    the primitive actions when `cfg.primitive`."""
    options = primitive_options(states, actions)
    if cfg.options is not None:
        given = import_options(cfg.options)
        if given.policy.shape[1] != states:
            raise ConfigError(
                "agent.options",
                f"{cfg.options} gives options over {given.policy.shape[1]} states but this env "
                f"has {states}; name this env's (module:function returning an OptionSet), or "
                "agent.options=null for its primitive actions alone",
            )
        if given.policy.max() >= actions:
            raise ConfigError("agent.options", f"{cfg.options} takes actions the env lacks")
        options = combined(options, given) if cfg.primitive else given
    elif not cfg.primitive:
        raise ConfigError("agent.primitive", "with agent.options=null it must be true")
    if not options.initiation.any(axis=0).all():
        raise ConfigError(
            "agent.primitive",
            "some states start no option; keep agent.primitive=true or give options for all",
        )
    return options


def import_options(path: str) -> OptionSet:
    module, _, name = path.partition(":")
    try:
        options = getattr(importlib.import_module(module), name)()
    except (ImportError, AttributeError, TypeError) as e:
        raise ConfigError(
            "agent.options", f"cannot load {path!r} ({e}); give module:function"
        ) from None
    if not isinstance(options, OptionSet):
        raise ConfigError("agent.options", f"{path} must return an OptionSet")
    return options


def masked_max(q: np.ndarray, available: np.ndarray) -> np.ndarray:
    """max over the available options of each row of q."""
    return np.where(available, q, -np.inf).max(axis=-1)


class OptionLearner(RunsOptions, ValueTable):
    """Q(s, o) and the option each training env is running (-1: none yet, choose one)."""

    def __init__(
        self,
        cfg: OptionsConfig,
        exploration: ExplorationConfig,
        spaces: Spaces,
        device: Any = None,
        seed: int = 0,
    ) -> None:
        obs, action = spaces.observation, spaces.action
        assert isinstance(obs, gym.spaces.Discrete) and isinstance(action, gym.spaces.Discrete)
        self.options = load_options(cfg, int(obs.n), int(action.n))
        self.temporal = self.options.n - (int(action.n) if cfg.primitive else 0)  # non-primitive
        option_spaces = option_table_spaces(spaces, self.options.n)
        super().__init__(int(obs.n), cfg.init_value, exploration, option_spaces, seed)
        self.cfg = cfg
        self.obs_start = int(obs.start)
        n = spaces.num_envs
        self.run_options(n)
        self.started = np.zeros(n, dtype=np.int64)  # the state it started in
        self.option_return = np.zeros(n)  # its discounted return so far
        self.option_steps = np.zeros(n, dtype=np.int64)  # and its duration
        self._lengths: list[int] = []
        self._options_chosen = np.zeros(self.options.n, dtype=np.int64)

    def act(self, obs: np.ndarray, *, explore: bool) -> np.ndarray:
        s = obs - self.obs_start
        if not explore:
            return self.act_greedy(s)
        new = self.running < 0
        if new.any():
            chosen = self.choose(s[new])
            self.running[new] = chosen
            self.started[new] = s[new]
            self.option_return[new] = 0.0
            self.option_steps[new] = 0
            np.add.at(self._options_chosen, chosen, 1)
        return self.options.policy[self.running, s]

    def act_greedy(self, s: np.ndarray) -> np.ndarray:
        """Deterministic play: the running option until it ends (beta_o(s) >= 1/2, or s outside
        its initiation set), then the greedy one (ties: the first)."""
        o = self.eval_running
        ended = (o < 0) | (self.options.termination[o, s] >= 0.5) | ~self.options.initiation[o, s]
        if ended.any():
            q = np.where(self.options.initiation[:, s[ended]].T, self.q[s[ended]], -np.inf)
            o[ended] = q.argmax(axis=-1)
        return self.options.policy[o, s]

    def choose(self, s: np.ndarray) -> np.ndarray:
        """An option for each state, from the strategy's probabilities over the available ones."""
        available = self.options.initiation[:, s].T
        probs = self.strategy.probs(s, np.where(available, self.q[s], -np.inf)) * available
        return sample_categorical(probs / probs.sum(axis=-1, keepdims=True), self.rng)

    def observe(self, t: Transition, step: int) -> None:
        rows = t if self.obs_start == 0 else t.shift_obs(-self.obs_start)
        self.strategy.observe(rows, step)
        s, s2 = rows.obs, rows.next_obs
        o = self.running
        self.option_return += self.cfg.gamma**self.option_steps * rows.reward
        self.option_steps += 1
        beta = self.options.termination[o, s2]
        stops = rows.terminated | rows.truncated | (self.rng.random(len(o)) < beta)
        self.learn_from(rows, s, s2, stops)
        self._lengths.extend(self.option_steps[stops].tolist())
        self.running[stops] = -1

    def learn_from(self, t: Transition, s: np.ndarray, s2: np.ndarray, stops: np.ndarray) -> None:
        raise NotImplementedError

    def next_value(self, s2: np.ndarray) -> np.ndarray:
        """max_o' Q(s', o') over the options available in s'."""
        return masked_max(self.q[s2], self.options.initiation[:, s2].T)

    def pop_metrics(self) -> dict[str, float]:
        out = super().pop_metrics()
        if self._lengths:
            out["charts/option_length"] = float(np.mean(self._lengths))
            self._lengths = []
        chosen = self._options_chosen.sum()
        if chosen and self.cfg.primitive:  # the share of choices that were not primitive
            primitive = self.options.n - self.temporal
            out["charts/option_share"] = float(self._options_chosen[primitive:].sum() / chosen)
        self._options_chosen[:] = 0
        return out


class SMDPQLearning(OptionLearner):
    def learn_from(self, t: Transition, s: np.ndarray, s2: np.ndarray, stops: np.ndarray) -> None:
        if not stops.any():
            return
        cont = ~t.terminated[stops]
        discount = self.cfg.gamma ** self.option_steps[stops]
        target = self.option_return[stops] + cont * discount * self.next_value(s2[stops])
        self.learn_rows(self.started[stops], self.running[stops], target, self.cfg.learning_rate)


class IntraOptionQLearning(OptionLearner):
    def learn_from(self, t: Transition, s: np.ndarray, s2: np.ndarray, stops: np.ndarray) -> None:
        # every (env, option) pair whose option could have taken this step's action
        consistent = self.options.initiation[:, s].T & (
            t.action[:, None] == self.options.policy[:, s].T
        )
        env, option = np.nonzero(consistent)
        beta = self.options.termination[option, s2[env]]
        u = option_arrival_value(self.q[s2[env], option], self.next_value(s2[env]), beta)
        target = td_target(t.reward[env], u, t.terminated[env], self.cfg.gamma)
        self.learn_rows(s[env], option, target, self.cfg.learning_rate)
