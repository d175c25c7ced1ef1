"""Many copies of a Gymnasium toy-text env (FrozenLake, CliffWalking, ...) stepped as one numpy
computation, from the env's own transition table `P` and start distribution.

A `SyncVectorEnv` of such envs pays Gymnasium's wrapper stack per copy and per step (~20 us);
here a step of any number of copies is a handful of array operations, which is what lets a
seed-batched group of tabular learners (rlrun.runners.batched) run many seeds for the price of
one. The dynamics are the env's: each step draws the next state from P[s][a] as the env's
`categorical_sample` does, the time limit is the registered one (or `env.max_episode_steps`),
and episodes autoreset in the SAME_STEP mode with RecordEpisodeStatistics' infos, as
`rlrun.envs.vector.make_vec_env` builds them. The random streams are not the env's: results
match a SyncVectorEnv's in distribution, not draw for draw.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from rlrun.config.run import EnvConfig
from rlrun.envs.vector import make_kwargs


def transition_table(
    env: gym.Env,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """P[s][a] = [(prob, next_state, reward, terminated), ...] as arrays [S, A, K] (padded with
    probability 0), the cumulative probabilities in place of the probabilities."""
    table = env.unwrapped.P  # type: ignore[attr-defined]
    n_states, n_actions = len(table), len(table[0])
    k = max(len(outcomes) for row in table.values() for outcomes in row.values())
    cdf = np.ones((n_states, n_actions, k))  # padding is never drawn: the cdf is already 1
    next_state = np.zeros((n_states, n_actions, k), dtype=np.int64)
    reward = np.zeros((n_states, n_actions, k))
    terminated = np.zeros((n_states, n_actions, k), dtype=bool)
    for s, row in table.items():
        for a, outcomes in row.items():
            probs = [o[0] for o in outcomes]
            cdf[s, a, : len(outcomes)] = np.cumsum(probs)
            cdf[s, a, len(outcomes) - 1] = 1.0  # rounding: the last outcome takes what is left
            next_state[s, a, : len(outcomes)] = [o[1] for o in outcomes]
            reward[s, a, : len(outcomes)] = [o[2] for o in outcomes]
            terminated[s, a, : len(outcomes)] = [o[3] for o in outcomes]
    return cdf, next_state, reward, terminated


def supports(cfg: EnvConfig) -> bool:
    """Whether `cfg` is a plain toy-text env this module can step: a transition table and a
    start distribution, and nothing the vector env would add (wrappers, episode metrics)."""
    if cfg.wrappers or cfg.episode_metrics or cfg.api != "gymnasium":
        return False
    try:
        env = gym.make(cfg.id, **make_kwargs(cfg))
    except Exception:  # noqa: BLE001 - not makeable here: make_vec_env says why
        return False
    base = env.unwrapped
    return isinstance(getattr(base, "P", None), dict) and hasattr(base, "initial_state_distrib")


class ToyTextVectorEnv(gym.vector.VectorEnv):
    """`num_envs` copies of a toy-text env as arrays; see the module's docstring."""

    def __init__(self, cfg: EnvConfig, num_envs: int) -> None:
        env = gym.make(cfg.id, **make_kwargs(cfg))
        cdf, next_state, reward, terminated = transition_table(env)
        # flat over (state, action) and over (state, action, outcome): one index per lookup
        self.n_actions, self.n_outcomes = cdf.shape[1], cdf.shape[2]
        self.cdf = cdf.reshape(-1, self.n_outcomes)
        self.next_state, self.reward_table, self.term_table = (
            x.ravel() for x in (next_state, reward, terminated)
        )
        self.start_cdf = np.cumsum(env.unwrapped.initial_state_distrib)  # type: ignore[attr-defined]
        limit = env.spec.max_episode_steps if env.spec is not None else None
        self.max_steps = limit if limit is not None else np.iinfo(np.int64).max
        self.num_envs = num_envs
        self.single_observation_space = env.observation_space
        self.single_action_space = env.action_space
        self.observation_space = gym.vector.utils.batch_space(env.observation_space, num_envs)
        self.action_space = gym.vector.utils.batch_space(env.action_space, num_envs)
        self.metadata = {**env.metadata, "autoreset_mode": gym.vector.AutoresetMode.SAME_STEP}
        self.spec = env.spec
        self.state = np.zeros(num_envs, dtype=np.int64)
        self.returns = np.zeros(num_envs)
        self.lengths = np.zeros(num_envs, dtype=np.int64)
        self.np_random = np.random.default_rng()
        self._index = np.arange(num_envs)

    def _start_states(self, n: int) -> np.ndarray:
        return np.searchsorted(self.start_cdf, self.np_random.random(n), side="right")

    def reset(
        self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """All copies afresh; `seed` (an int, or one per copy) seeds the one stream they share.
        `options={"reset_mask": mask}` restarts only those copies."""
        if seed is not None:
            self.np_random = np.random.default_rng(seed)
        mask = None if options is None else options.get("reset_mask")
        envs = self._index if mask is None else np.flatnonzero(mask)
        self.state[envs] = self._start_states(len(envs))
        self.returns[envs] = 0.0
        self.lengths[envs] = 0
        return self.state.copy(), {}

    def step(
        self, actions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        sa = self.state * self.n_actions + actions
        u = self.np_random.random((self.num_envs, 1))
        # categorical_sample's draw: the first outcome whose cumulative probability exceeds u
        outcome = sa * self.n_outcomes + (self.cdf[sa] <= u).sum(axis=1)
        next_state = self.next_state[outcome]
        reward = self.reward_table[outcome]
        terminated = self.term_table[outcome]
        self.returns += reward
        self.lengths += 1
        truncated = self.lengths >= self.max_steps
        ended = terminated | truncated
        self.state = next_state
        infos: dict[str, Any] = {}
        if ended.any():
            final_obs = np.empty(self.num_envs, dtype=object)
            final_obs[ended] = list(next_state[ended])
            infos = {
                "final_obs": final_obs,
                "_final_obs": ended,
                "final_info": {
                    "episode": {
                        "r": np.where(ended, self.returns, 0.0),
                        "l": np.where(ended, self.lengths, 0),
                    },
                    "_episode": ended,
                },
            }
            self.state = next_state.copy()
            self.state[ended] = self._start_states(int(ended.sum()))
            self.returns[ended] = 0.0
            self.lengths[ended] = 0
        return self.state.copy(), reward, terminated, truncated, infos
