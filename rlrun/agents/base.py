"""What every agent shares: the transition it observes, its interface, and how it is found by name."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from rlrun.errors import ConfigError
from rlrun.schema import AGENTS, AgentConfig, ExplorationConfig


@dataclass
class Transition:
    """One vector-env step. No `done`: the two reasons an episode ends are kept apart.

    `next_obs` is the TRUE next observation: at an episode end it is the final observation, not
    the first of the next episode. Bootstrap mask = 1 - terminated; a truncated (time-limit)
    step still bootstraps from `next_obs`.
    """

    obs: np.ndarray
    action: np.ndarray
    reward: np.ndarray
    next_obs: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray

    def select(self, mask: np.ndarray) -> Transition:
        """The same step restricted to the envs where `mask` is true."""
        return Transition(
            self.obs[mask],
            self.action[mask],
            self.reward[mask],
            self.next_obs[mask],
            self.terminated[mask],
            self.truncated[mask],
        )


@dataclass
class Spaces:
    """What an agent is built for: single-env spaces, the number of vector envs, the budget."""

    observation: gym.Space
    action: gym.Space
    num_envs: int
    total_timesteps: int

    @classmethod
    def of(cls, env: gym.vector.VectorEnv, total_timesteps: int) -> Spaces:
        return cls(
            env.single_observation_space,
            env.single_action_space,
            env.num_envs,
            total_timesteps,
        )


class Agent:
    """The interface the Trainer drives. All methods are batched over the vector envs."""

    def act(self, obs: np.ndarray, *, explore: bool) -> np.ndarray:
        raise NotImplementedError

    def observe(self, t: Transition, step: int) -> None:
        """Called after every vector-env step; `step` is the global env-step count so far."""
        raise NotImplementedError

    def update(self, step: int) -> None:
        """Train if an update is due at global env step `step` (the agent keeps its own clock)."""

    def pop_metrics(self) -> dict[str, float]:
        """TensorBoard tag -> mean since the last call (losses/..., charts/...); read once per
        log interval, so the hot loop never waits on the device."""
        return {}

    def exploration_value(self) -> tuple[str, float] | None:
        """The exploration strategy's current (name, value) for charts/<name>, if it has one."""
        return None


def space_kind(space: gym.Space) -> str:
    if isinstance(space, gym.spaces.Discrete):
        return "discrete"
    if isinstance(space, gym.spaces.Box):
        return "box"
    return type(space).__name__


def check_compatible(name: str, schema: type[AgentConfig], env_id: str, spaces: Spaces) -> None:
    """Fail fast, naming what would work, when the agent cannot handle the env's spaces."""
    for what, space, allowed in (
        ("actions", spaces.action, schema.action_spaces),
        ("observations", spaces.observation, schema.observation_spaces),
    ):
        kind = space_kind(space)
        if kind not in allowed:
            fits = sorted(
                n
                for n, s in AGENTS.items()
                if space_kind(spaces.action) in s.action_spaces
                and space_kind(spaces.observation) in s.observation_spaces
            )
            alternatives = (
                f"agents for this env: {', '.join(fits)}"
                if fits
                else ("no agent here supports this env yet")
            )
            raise ConfigError(
                "agent",
                f"agent '{name}' needs {' or '.join(sorted(allowed))} {what}, but {env_id} has "
                f"{kind} {what}; {alternatives}",
            )


def make_agent(
    cfg: AgentConfig,
    exploration: ExplorationConfig,
    spaces: Spaces,
    device: Any,
    seed: int,
) -> Agent:
    """Import the agent's class (only now: torch stays off the config-error path) and build it."""
    module, cls = type(cfg).impl.split(":")
    agent_cls = getattr(importlib.import_module(module), cls)
    return agent_cls(cfg, exploration, spaces, device=device, seed=seed)


class LossStats:
    """Running sums of per-update statistics, kept on the device (tensors) or as floats, and
    read once per log interval, so the hot loop never waits for a device-to-host copy."""

    def __init__(self) -> None:
        self.sums: dict[str, Any] = {}
        self.counts: dict[str, int] = {}

    @property
    def count(self) -> int:
        return max(self.counts.values(), default=0)

    def add(self, **values: Any) -> None:
        for name, value in values.items():
            value = value.detach() if hasattr(value, "detach") else value
            self.sums[name] = self.sums.get(name, 0.0) + value
            self.counts[name] = self.counts.get(name, 0) + 1

    def pop(self, prefix: str = "losses/") -> dict[str, float]:
        """Means since the last call, as {prefix + name: value}; empty if nothing was added."""
        out = {f"{prefix}{k}": float(v) / self.counts[k] for k, v in self.sums.items()}
        self.sums, self.counts = {}, {}
        return out
