"""The learners of a multi-agent env, driven by the multi-agent runner like one agent over dicts
of per-agent arrays: one learner per agent (independent learners, Tan 1993; agents may differ in
their values, `agents.<name>.<key>`), or one learner for all (`agent.share_parameters=true`,
Gupta et al. 2017) whose rows are every agent's, each observation tagged with its agent: a
one-hot id appended to a Box observation, a Discrete one offset into the agent's own block.

Any single-agent learner serves, unchanged: it sees the arrays a single-agent vector env would
give it. A shared learner sees `num_envs * agents` rows a step, agent-major, and counts its
steps (schedules, update intervals, the budget) in agent-steps.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import gymnasium as gym
import numpy as np

from rlrun.agents.base import AGENT_STREAM, Agent, check_compatible, make_agent, stream_seed
from rlrun.config.fields import build
from rlrun.config.run import RunConfig
from rlrun.errors import ConfigError
from rlrun.transition import Spaces, Transition


class Team:
    """What the multi-agent runner drives: Agent's interface over {agent: array} dicts."""

    def __init__(self, agents: list[str], learners: dict[str, Agent]) -> None:
        self.agents = agents
        self.learners = learners  # by name: each agent's, or one "shared"

    def act(self, obs: dict[str, np.ndarray], *, explore: bool) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def observe(self, ts: dict[str, Transition], step: int) -> None:
        """Each agent's share of one step of every copy; `step`: env steps so far."""
        raise NotImplementedError

    def update(self, step: int) -> None:
        raise NotImplementedError

    def end_episodes(self, ended: np.ndarray) -> None:
        """`Agent.end_episodes` for every learner (a shared one's rows are agent-major)."""
        rows = np.tile(ended, len(self.agents)) if SHARED in self.learners else ended
        for learner in self.learners.values():
            learner.end_episodes(rows)

    def pop_metrics(self) -> dict[str, float]:
        """Each learner's metrics, tagged `<agent>/...` (a shared learner's as they are)."""
        return {
            tag if name == SHARED else f"{name}/{tag}": value
            for name, learner in self.learners.items()
            for tag, value in learner.pop_metrics().items()
        }

    def exploration_charts(self) -> dict[str, float]:
        """TensorBoard tag -> each learner's exploration value (epsilon, ...)."""
        charts = {}
        for name, learner in self.learners.items():
            value = learner.exploration_value()
            if value is not None:
                prefix = "" if name == SHARED else f"{name}/"
                charts[f"{prefix}charts/{value[0]}"] = value[1]
        return charts


SHARED = "shared"


class IndependentLearners(Team):
    def act(self, obs: dict[str, np.ndarray], *, explore: bool) -> dict[str, np.ndarray]:
        return {a: self.learners[a].act(obs[a], explore=explore) for a in self.agents}

    def observe(self, ts: dict[str, Transition], step: int) -> None:
        for a in self.agents:
            self.learners[a].observe(ts[a], step)

    def update(self, step: int) -> None:
        for a in self.agents:
            self.learners[a].update(step)


class SharedLearner(Team):
    def __init__(self, agents: list[str], learner: Agent, observation: gym.Space) -> None:
        super().__init__(agents, {SHARED: learner})
        self.learner = learner
        self.discrete_obs = isinstance(observation, gym.spaces.Discrete)
        n = len(agents)
        if self.discrete_obs:
            assert isinstance(observation, gym.spaces.Discrete)
            self.offsets = [k * int(observation.n) for k in range(n)]
        else:
            self.one_hot = np.eye(n, dtype=np.float32)

    def _tag(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        """Every agent's observations stacked agent-major, each tagged with its agent."""
        if self.discrete_obs:
            return np.concatenate(
                [obs[a] + off for a, off in zip(self.agents, self.offsets, strict=True)]
            )
        rows = len(obs[self.agents[0]])
        return np.concatenate(
            [
                np.concatenate(
                    [obs[a], np.broadcast_to(self.one_hot[k], (rows, len(self.agents)))], 1
                )
                for k, a in enumerate(self.agents)
            ]
        )

    def act(self, obs: dict[str, np.ndarray], *, explore: bool) -> dict[str, np.ndarray]:
        actions = np.split(self.learner.act(self._tag(obs), explore=explore), len(self.agents))
        return dict(zip(self.agents, actions, strict=True))

    def observe(self, ts: dict[str, Transition], step: int) -> None:
        def stacked(field: str) -> np.ndarray:
            return np.concatenate([getattr(ts[a], field) for a in self.agents])

        t = Transition(
            self._tag({a: ts[a].obs for a in self.agents}),
            stacked("action"),
            stacked("reward"),
            self._tag({a: ts[a].next_obs for a in self.agents}),
            stacked("terminated"),
            stacked("truncated"),
        )
        self.learner.observe(t, step * len(self.agents))

    def update(self, step: int) -> None:
        self.learner.update(step * len(self.agents))


def tagged_space(space: gym.Space, n: int, env_id: str) -> gym.Space:
    """The shared learner's observation space: `space` with the agent's identity in it."""
    if isinstance(space, gym.spaces.Discrete):
        return gym.spaces.Discrete(int(space.n) * n)
    assert isinstance(space, gym.spaces.Box)
    if len(space.shape) != 1:
        raise ConfigError(
            "agent.share_parameters",
            f"{env_id}'s observations have shape {space.shape}; the agent id is appended to flat "
            "(1-D) observations only: use independent learners (agent.share_parameters=false)",
        )
    low = np.concatenate([space.low.astype(np.float32), np.zeros(n, np.float32)])
    high = np.concatenate([space.high.astype(np.float32), np.ones(n, np.float32)])
    return gym.spaces.Box(low, high, dtype=np.float32)


def make_team(
    rc: RunConfig,
    observation_spaces: dict[str, gym.Space],
    action_spaces: dict[str, gym.Space],
    num_envs: int,
    device: Any,
) -> Team:
    """The run's learners for an env with these agents (and their spaces) in `num_envs` copies."""
    agents = list(observation_spaces)
    for name in rc.agents:
        if name not in observation_spaces:
            raise ConfigError(
                f"agents.{name}",
                f"{rc.env.id} has no agent {name}; its agents: {', '.join(agents)}",
            )
    if rc.agent.share_parameters:
        first = agents[0]
        for a in agents[1:]:
            if (observation_spaces[a], action_spaces[a]) != (
                observation_spaces[first],
                action_spaces[first],
            ):
                raise ConfigError(
                    "agent.share_parameters",
                    f"{rc.env.id}'s agents {first} and {a} have different observation or action "
                    "spaces; one network needs the same: use agent.share_parameters=false",
                )
        n = len(agents)
        spaces = Spaces(
            tagged_space(observation_spaces[first], n, rc.env.id),
            action_spaces[first],
            num_envs * n,
            rc.total_timesteps * n,
        )
        check_compatible(rc, spaces)
        learner = _checked(make_agent(rc, spaces, device), rc)
        return SharedLearner(agents, learner, observation_spaces[first])
    learners = {}
    for k, a in enumerate(agents):
        values = {**dataclasses.asdict(rc.agent), **rc.agents.get(a, {})}
        agent_rc = dataclasses.replace(rc, agent=build(type(rc.agent), values, f"agents.{a}"))
        spaces = Spaces(observation_spaces[a], action_spaces[a], num_envs, rc.total_timesteps)
        check_compatible(agent_rc, spaces)
        seed = stream_seed(rc.seed, AGENT_STREAM, k)
        learners[a] = _checked(make_agent(agent_rc, spaces, device, seed=seed), rc)
    return IndependentLearners(agents, learners)


def _checked(learner: Agent, rc: RunConfig) -> Agent:
    if type(learner).restart is not Agent.restart:
        raise ConfigError(
            "agent",
            f"agent '{rc.agent.name}' restarts episodes to evaluate its candidates, which a "
            "multi-agent env's copies cannot do per agent; use e.g. ppo, dqn or qlearning",
        )
    return learner
