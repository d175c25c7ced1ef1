"""PettingZoo envs for the multi-agent runner: any parallel env found by import path, AEC envs
converted where PettingZoo allows it, and `num_envs` copies stepped together as per-agent arrays.

`ParallelVectorEnv` resets and steps the copies the way rlrun's single-agent vector envs do
(SAME_STEP autoreset: an episode's last step returns the next episode's first observations, the
true last ones in `JointStep.next_obs`), so each agent's learner sees exactly the arrays a
single-agent vector env would give it. An episode of a copy ends when its last agent is done.
An agent done before the others is death-masked (Yu et al. 2022, MAPPO): until the episode ends
it observes zeros, gets reward 0 and is `terminated` at every step, and its actions are not sent
to the env, so its learner's rows stay in step with the other agents' without learning anything
but a value of 0 for that absorbing state.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np
from pettingzoo import AECEnv, ParallelEnv
from pettingzoo.utils.conversions import aec_to_parallel

from rlrun.errors import ConfigError, RlrunError

EXAMPLE = "pettingzoo.classic.rps_v2:parallel_env"


def import_env_fn(env_id: str) -> Callable[..., Any]:
    """The function `env.id` names: `module:function`, or a module whose `parallel_env` (else
    `env`) makes the env, as PettingZoo's own modules have."""
    module, _, name = env_id.partition(":")
    try:
        mod = importlib.import_module(module)
    except ImportError as e:
        raise ConfigError("env.id", f"cannot import {module!r} ({e}); e.g. {EXAMPLE}") from None
    names = [name] if name else ["parallel_env", "env"]
    fn = next((getattr(mod, n) for n in names if callable(getattr(mod, n, None))), None)
    if fn is None:
        raise ConfigError(
            "env.id", f"{module} has no function {' or '.join(names)}; give module:function"
        )
    return fn


def as_parallel(env: Any, env_id: str) -> ParallelEnv:
    """`env` with PettingZoo's parallel API: as it is, or converted from the AEC API when every
    agent acts at each step (metadata `is_parallelizable`); turn-based games are refused."""
    if isinstance(env, ParallelEnv):
        return env
    if isinstance(env, AECEnv):
        if not env.metadata.get("is_parallelizable", False):
            raise ConfigError(
                "env.id",
                f"{env_id} is a turn-based (AEC) env PettingZoo cannot convert to the parallel "
                "API (its metadata lacks is_parallelizable: true); rlrun steps all agents at once",
            )
        return aec_to_parallel(env)
    raise ConfigError(
        "env.id", f"{env_id} made a {type(env).__name__}, not a PettingZoo env; e.g. {EXAMPLE}"
    )


def parallel_env_factory(env_id: str, kwargs: dict[str, Any]) -> Callable[[], ParallelEnv]:
    """A function making one copy of the env `env_id` names with `kwargs` (the first copy is
    made now, so a bad id or argument fails here with a one-line error)."""
    fn = import_env_fn(env_id)

    def make() -> ParallelEnv:
        try:
            env = fn(**kwargs)
        except (TypeError, ValueError) as e:
            raise ConfigError("env.kwargs", f"{env_id} rejected {kwargs}: {e}") from None
        return as_parallel(env, env_id)

    for agent in (first := make()).possible_agents:
        for what in ("observation", "action"):
            space = getattr(first, f"{what}_space")(agent)
            if not isinstance(space, (gym.spaces.Box, gym.spaces.Discrete)):
                raise ConfigError(
                    "env.id",
                    f"{env_id}'s agent {agent} has {type(space).__name__} {what}s; rlrun's "
                    "multi-agent runner takes Box or Discrete ones",
                )
    first.close()
    return make


class JointStep(NamedTuple):
    """One step of every copy, per agent (arrays with the copies along axis 0)."""

    obs: dict[str, np.ndarray]  # what to act on next: a new episode's first where one ended
    next_obs: dict[str, np.ndarray]  # the true next observations (an episode's last)
    reward: dict[str, np.ndarray]
    terminated: dict[str, np.ndarray]
    truncated: dict[str, np.ndarray]
    ended: np.ndarray  # bool per copy: its episode ended in this step
    returns: np.ndarray  # (num_envs, agents): each agent's episode return where `ended`
    lengths: np.ndarray  # (num_envs,): episode length in steps where `ended`


class ParallelVectorEnv:
    """`num_envs` copies of a PettingZoo parallel env, stepped in this process."""

    def __init__(
        self, make: Callable[[], ParallelEnv], num_envs: int, *, autoreset: bool = True
    ) -> None:
        self.envs = [make() for _ in range(num_envs)]
        self.autoreset = autoreset  # False: an ended copy stays as it ended (to render it)
        self.num_envs = num_envs
        first = self.envs[0]
        self.agents: list[str] = list(first.possible_agents)
        self.observation_spaces = {a: first.observation_space(a) for a in self.agents}
        self.action_spaces = {a: first.action_space(a) for a in self.agents}
        self._returns = np.zeros((num_envs, len(self.agents)))
        self._lengths = np.zeros(num_envs, dtype=np.int64)
        self._alive = np.ones((num_envs, len(self.agents)), dtype=bool)
        self._zeros = {a: self._zero_obs(space) for a, space in self.observation_spaces.items()}

    def _zero_obs(self, space: gym.Space) -> np.ndarray:
        """Every copy's observation of an agent, zeroed: int64 for Discrete, float32 for float Box
        (the dtypes rlrun's single-agent vector envs give)."""
        if isinstance(space, gym.spaces.Discrete):
            return np.zeros(self.num_envs, dtype=np.int64)
        assert isinstance(space, gym.spaces.Box)  # parallel_env_factory allows no other
        dtype = np.float32 if np.issubdtype(space.dtype, np.floating) else space.dtype
        return np.zeros((self.num_envs, *space.shape), dtype=dtype)

    def reset(self, seed: int | None = None) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Every copy reset, copy i seeded with seed + i (as gymnasium seeds its vector envs);
        (observations, infos) as a gymnasium vector env returns them (no infos yet)."""
        obs = {a: z.copy() for a, z in self._zeros.items()}
        for i in range(self.num_envs):
            self._reset_copy(i, obs, None if seed is None else seed + i)
        return obs, {}

    def _reset_copy(self, i: int, obs: dict[str, np.ndarray], seed: int | None) -> None:
        first, _ = self.envs[i].reset(seed=seed)
        for a in self.agents:
            obs[a][i] = first.get(a, 0)
        self._returns[i] = 0.0
        self._lengths[i] = 0
        self._alive[i] = True

    def step(self, actions: dict[str, np.ndarray]) -> JointStep:
        obs = {a: z.copy() for a, z in self._zeros.items()}
        reward = {a: np.zeros(self.num_envs) for a in self.agents}  # float64, as gymnasium's
        terminated = {a: np.zeros(self.num_envs, dtype=bool) for a in self.agents}
        truncated = {a: np.zeros(self.num_envs, dtype=bool) for a in self.agents}
        ended = np.zeros(self.num_envs, dtype=bool)
        for i, env in enumerate(self.envs):
            live = [a for k, a in enumerate(self.agents) if self._alive[i, k]]
            o, r, term, trunc, _ = env.step({a: self._env_action(a, actions[a][i]) for a in live})
            for k, a in enumerate(self.agents):
                if not self._alive[i, k]:  # death-masked: zeros, reward 0, terminated
                    terminated[a][i] = True
                    continue
                obs[a][i] = o.get(a, 0)
                reward[a][i] = r.get(a, 0.0)
                terminated[a][i] = term.get(a, False)
                truncated[a][i] = trunc.get(a, False)
                self._alive[i, k] = not (terminated[a][i] or truncated[a][i])
                if not self._alive[i, k] and env.agents:  # done before the others
                    self._check_maskable(a)
            self._returns[i] += [reward[a][i] for a in self.agents]
            self._lengths[i] += 1
            ended[i] = not env.agents
        next_obs = {a: v.copy() for a, v in obs.items()} if ended.any() else obs
        returns, lengths = self._returns.copy(), self._lengths.copy()
        for j in np.flatnonzero(ended if self.autoreset else []):
            self._reset_copy(int(j), obs, None)
        return JointStep(obs, next_obs, reward, terminated, truncated, ended, returns, lengths)

    def _env_action(self, agent: str, action: np.ndarray) -> Any:
        if isinstance(self.action_spaces[agent], gym.spaces.Discrete):
            return int(action)
        return np.asarray(action, dtype=self.action_spaces[agent].dtype)

    def _check_maskable(self, agent: str) -> None:
        """Death masking observes zeros: meaningless for a Discrete observation (a real state)."""
        if isinstance(self.observation_spaces[agent], gym.spaces.Discrete):
            raise RlrunError(
                f"agent {agent} left an episode before the others; death masking (zero "
                "observations until the episode ends) needs Box observations, it has Discrete"
            )

    def close(self) -> None:
        for env in self.envs:
            env.close()
