"""What every agent shares: the interface the runners drive, how it is built by name, and the
capability check that refuses an agent the env does not suit."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from rlrun.config.registry import AGENTS, BONUSES, ENCODERS, AgentConfig, load_impl
from rlrun.config.run import RunConfig
from rlrun.demos import Demos
from rlrun.envs.spaces import space_kind
from rlrun.errors import ConfigError
from rlrun.transition import Spaces, Transition


class Agent:
    """The interface the runners drive. All methods are batched over the vector envs.

    Built as `Agent(cfg, exploration, spaces, device=, seed=)`, plus `encoder=` for agents whose
    config says `uses_encoder`. No state_dict: rlrun/checkpoint.py walks the attributes.
    """

    def act(self, obs: np.ndarray, *, explore: bool) -> np.ndarray:
        raise NotImplementedError

    def observe(self, t: Transition, step: int) -> None:
        """Called after every vector-env step; `step` is the global env-step count so far."""
        raise NotImplementedError

    def update(self, step: int) -> None:
        """Train if an update is due at global env step `step` (the agent keeps its own clock)."""

    def end_episodes(self, ended: np.ndarray) -> None:
        """Deterministic play (`act(..., explore=False)`): the envs whose episodes just ended, or
        all of them before the first step; an agent that remembers within an episode (the
        option it runs) forgets there. Training episodes end in `observe`."""

    def restart(self) -> np.ndarray | None:
        """A mask of the vector envs whose running episodes the agent gives up: the runner resets
        them before the next step (ARS: envs running its policy while candidates wait). None:
        none, every step but such moments."""
        return None

    def pop_metrics(self) -> dict[str, float]:
        """TensorBoard tag -> mean since the last call (losses/..., charts/...); read once per
        log interval, so the hot loop never waits on the device."""
        return {}

    def exploration_value(self) -> tuple[str, float] | None:
        """The exploration strategy's current (name, value) for charts/<name>, if it has one."""
        return None


class DemoLearner(Agent):
    """An agent that learns from demonstrations (`demos=`), handed to it by `attach` before
    training: from them alone in the offline loop (inverse RL: each `update` one step on them),
    or beside its own env steps (GAIL)."""

    def attach(self, demos: Demos, env: gym.Env, env_id: str) -> None:
        """Take the demonstrations (and what it needs of the env, e.g. its known dynamics)."""
        raise NotImplementedError

    def recovered_reward(self) -> np.ndarray | None:
        """Inverse RL: the reward it has learned for a tabular env, r[s'] (S,) or r[s, a] (S, A)
        (rlrun.demos.RecoveredReward); None for learners that recover none."""
        return None


def check_compatible(rc: RunConfig, spaces: Spaces) -> None:
    """Fail fast, naming what would work, when the agent (or the encoder, or the bonus) cannot
    handle the env's spaces."""
    name, schema = rc.agent.name, AGENTS[rc.agent.name]
    action, observation = space_kind(spaces.action), space_kind(spaces.observation)
    one_state = isinstance(spaces.observation, gym.spaces.Discrete) and spaces.observation.n == 1
    for what, kind, allowed in (
        ("actions", action, schema.action_spaces),
        ("observations", observation, schema.observation_spaces),
    ):
        if kind not in allowed:
            fits = sorted(
                n
                for n, s in AGENTS.items()
                if action in s.action_spaces
                and observation in s.observation_spaces
                and (s.runner != "testbed" or one_state)
            )
            alternatives = (
                f"agents for this env: {', '.join(fits)}"
                if fits
                else "no agent here supports this env yet"
            )
            raise ConfigError(
                "agent",
                f"agent '{name}' needs {' or '.join(sorted(allowed))} {what}, but {rc.env.id} has "
                f"{kind} {what}; {alternatives}",
            )
    if schema.runner == "testbed" and not one_state:  # the testbed runs bandits: one state
        raise ConfigError(
            "agent",
            f"agent '{name}' learns bandits (one state), but {rc.env.id} has "
            f"{spaces.observation} observations; use env=testbed (or testbed_nonstationary, "
            "bernoulli_bandit), or for an MDP agent=qlearning exploration=ucb",
        )
    if isinstance(spaces.action, gym.spaces.Discrete) and spaces.action.start != 0:
        raise ConfigError(
            "env",
            f"{rc.env.id} numbers its {spaces.action.n} actions from {spaces.action.start}; "
            "rlrun's agents act 0..n-1: shift them with a gymnasium.ActionWrapper in env.wrappers",
        )
    if schema.uses_encoder:
        _check_observations("encoder", rc.encoder.name, ENCODERS, observation, rc.env.id)
    if rc.bonus is not None:
        _check_observations("bonus", rc.bonus.name, BONUSES, observation, rc.env.id)


def _check_observations(group: str, name: str, registry: Any, kind: str, env_id: str) -> None:
    allowed = registry[name].observation_spaces
    if kind not in allowed:
        fits = sorted(n for n, s in registry.items() if kind in s.observation_spaces)
        instead = f"choose one of: {', '.join(fits)}" if fits else f"no {group} fits yet"
        raise ConfigError(
            group,
            f"{group}={name} needs {' or '.join(sorted(allowed))} observations, but {env_id} has "
            f"{kind} observations; {instead}",
        )


# The run's random streams. The vector env's copies are seeded with seed, seed + 1, ...
# (gymnasium: default_rng(seed + i)), so anything else drawing from default_rng(seed) would
# replay env 0's own draws: a Thompson sampler's first posterior draws would be the testbed's q*,
# FrozenLake's slips would follow the agent's exploration coins. Each other consumer draws from
# its own stream of the run seed.
AGENT_STREAM, BONUS_STREAM = 1, 2


def stream_seed(seed: int, stream: int, *sub: int) -> int:
    """A seed for `stream` of run seed `seed` (and its sub-stream `sub`, e.g. one agent of
    several), independent of the envs' and the other streams'."""
    return int(np.random.SeedSequence((seed, stream, *sub)).generate_state(1)[0])


def make_agent(rc: RunConfig, spaces: Spaces, device: Any, seed: int | None = None) -> Agent:
    """Import the agent's class (only now: torch stays off the config-error path) and build it,
    seeded from the run's agent stream unless `seed` is given."""
    schema: type[AgentConfig] = AGENTS[rc.agent.name]
    extra = {"encoder": rc.encoder} if schema.uses_encoder else {}
    agent: Agent = load_impl(schema.impl)(
        rc.agent,
        rc.exploration,
        spaces,
        device=device,
        seed=stream_seed(rc.seed, AGENT_STREAM) if seed is None else seed,
        **extra,
    )
    return agent


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
