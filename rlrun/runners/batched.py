"""Seed-batched training: the members of a group, jobs that differ only in `seed`, trained as one
computation, each with its run directory, TensorBoard events, evaluations, checkpoints and
summary as if it had run alone (`rlrun -m seed=range(16) hydra/launcher=batched`).

What a step costs a small tabular or network learner is mostly fixed per operation (numpy's and
torch's dispatch, Gymnasium's wrappers), not per sample: one operation on all members' data pays
it once for all of them. So the group holds:

- one vector env of N x num_envs copies, member i's the block [i*E, (i+1)*E), each seeded as the
  member's own run seeds its copies (seed_i + k); toy-text envs as one numpy computation
  (rlrun.envs.toy_text);
- one agent for all members. Tabular: a table of N*S rows, member i's states the block
  [i*S, (i+1)*S), so its values, visit counts (UCB) and statistics are its own while one array
  operation acts for and updates every member;
- per member, an online loop (`MemberRunner`) that logs its episodes and losses, evaluates it on
  its own evaluation env, checkpoints it and answers signals, as `OnlineRunner` does alone.

A member's checkpoint is a plain run's (its block of the table, the group's generator state), so
`rlrun resume=<member run dir>` continues that job alone, and `rlrun-eval` reads it. A member
that fails (a non-finite loss) fails its own job; the others train on. The exploration draws come
from one generator for the group, so a member's run equals its separate run in distribution, not
draw for draw.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from functools import partial
from typing import Any

import gymnasium as gym
import numpy as np

from rlrun.agents.base import AGENT_STREAM, Agent, make_agent, stream_seed
from rlrun.agents.tabular.td import Sarsa, TabularAgent
from rlrun.checkpoint import capture_agent
from rlrun.config.registry import AGENTS
from rlrun.config.run import EnvConfig, RunConfig
from rlrun.envs import toy_text
from rlrun.envs.vector import Finished, finished, make_vec_env, true_next_obs
from rlrun.errors import Interrupted
from rlrun.runners.base import Services, TrainResult, check_eval_spaces, interrupts
from rlrun.runners.online import OnlineRunner
from rlrun.runtime import seed_everything
from rlrun.transition import Spaces, Transition

log = logging.getLogger(__name__)

# Agents whose group is one computation; the others' jobs run one after another.
BATCHED_AGENTS = ("qlearning", "sarsa", "expected_sarsa")


def unbatchable(rc: RunConfig) -> str | None:
    """Why `rc`'s job cannot join a seed-batched group (None: it can)."""
    if rc.agent.name not in BATCHED_AGENTS:
        return f"agent {rc.agent.name} is not batched yet (batched: {', '.join(BATCHED_AGENTS)})"
    if AGENTS[rc.agent.name].runner != "online" or rc.multiagent:
        return "only single-agent online runs are batched"
    for key, value in (("bonus", rc.bonus), ("demos", rc.demos), ("reward", rc.reward)):
        if value is not None:
            return f"{key} is set (not batched yet)"
    if rc.resume is not None:
        return "it resumes a checkpoint"
    return None


def group_key(rc: RunConfig) -> RunConfig:
    """What must be equal for two jobs to share a group: everything but the seed."""
    return dataclasses.replace(rc, seed=0)


def make_group_env(cfg: EnvConfig, num_envs: int) -> gym.vector.VectorEnv:
    """`num_envs` copies of the env, as one numpy computation where the env allows."""
    if toy_text.supports(cfg):
        return toy_text.ToyTextVectorEnv(cfg, num_envs)
    return make_vec_env(cfg, num_envs)


def member_seeds(rcs: list[RunConfig], copies: int) -> list[int]:
    """Each member's copies seeded as its own run's vector env seeds them: seed, seed + 1, ..."""
    return [rc.seed + k for rc in rcs for k in range(copies)]


def slice_finished(done: Finished, envs: slice) -> Finished | None:
    """The episodes of `done` that ended in the envs `envs` (None if none did)."""
    ended = done.envs[envs]
    if not ended.any():
        return None

    def part(x: Any) -> Any:
        if isinstance(x, dict):
            return {k: part(v) for k, v in x.items()}
        return x[envs] if isinstance(x, np.ndarray) and x.ndim else x

    return Finished(ended, done.returns[envs], done.lengths[envs], part(done.final_info))


class MemberAgent(Agent):
    """Member i of a group's tabular agent, as its run sees it: its own states, its own
    statistics. Acts (evaluation, videos) through the group's table."""

    def __init__(self, group: SeedBatch, index: int) -> None:
        self.group = group
        self.index = index
        self.offset = index * group.rows

    def act(self, obs: np.ndarray, *, explore: bool) -> np.ndarray:
        return self.group.agent.act(obs + self.offset, explore=explore)

    def pop_metrics(self) -> dict[str, float]:
        return self.group.pop_metrics(self.index)

    def exploration_value(self) -> tuple[str, float] | None:
        return self.group.agent.exploration_value()


class MemberRunner(OnlineRunner):
    """One member's online loop without its own steps: the group steps, the member logs,
    evaluates, checkpoints (as a plain run of its config) and takes signals."""

    group: SeedBatch
    index: int

    def _capture_agent(self, replay: bool) -> tuple[Any, Any]:
        return capture_agent(self.group.member_agent(self.index), replay=replay)

    def _replay_nbytes(self) -> int:
        return 0  # tabular: no replay


class SeedBatch:
    """A group's shared env and agent, and its members' loops; `train` steps them together."""

    def __init__(
        self,
        rcs: list[RunConfig],
        agent: TabularAgent,
        env: gym.vector.VectorEnv,
        rows: int,
        device: Any,
    ) -> None:
        self.rcs = rcs
        self.agent = agent
        self.env = env
        self.rows = rows  # each member's block of the table
        self.copies = rcs[0].env.num_envs  # each member's block of the vector env
        self.device = device
        self.members: list[MemberRunner] = []
        self._metrics: list[dict[str, float]] | None = None
        self._signalled = False

    @classmethod
    def build(cls, rcs: list[RunConfig], device: Any, services: list[Services]) -> SeedBatch:
        rc, n = rcs[0], len(rcs)
        seeds = [r.seed for r in rcs]
        seed_everything(stream_seed(seeds[0], AGENT_STREAM, *seeds[1:]))
        env = make_group_env(rc.env, n * rc.env.num_envs)
        obs, action = env.single_observation_space, env.single_action_space
        if not isinstance(obs, gym.spaces.Discrete) or obs.start != 0:
            raise TypeError(f"a batched tabular group needs Discrete observations, got {obs}")
        rows = int(obs.n)
        spaces = Spaces(gym.spaces.Discrete(n * rows), action, env.num_envs, rc.total_timesteps)
        agent = make_agent(rc, spaces, device, seed=stream_seed(seeds[0], AGENT_STREAM, *seeds[1:]))
        assert isinstance(agent, TabularAgent)  # unbatchable() lets only these in
        agent.split_members(n, one_env_each=rc.env.num_envs == 1)
        batch = cls(rcs, agent, env, rows, device)
        for i, (member_rc, member_services) in enumerate(zip(rcs, services, strict=True)):
            eval_env = make_group_env(
                member_rc.eval_env, min(member_rc.eval.num_envs, member_rc.eval.episodes)
            )
            check_eval_spaces(
                (obs, action), (eval_env.single_observation_space, eval_env.single_action_space)
            )
            # no env of its own: the group steps it, and its checkpoints hold no env state
            member = MemberRunner(
                member_rc,
                MemberAgent(batch, i),
                None,  # type: ignore[arg-type]
                eval_env,
                member_services,
            )
            member.group, member.index = batch, i
            batch.members.append(member)
        return batch

    def member_agent(self, i: int) -> TabularAgent:
        """Member i as a plain agent of its own config: its block of the table and of the
        strategy's per-state arrays, the group's generator state, its pending SARSA step."""
        group, rows = self.agent, slice(i * self.rows, (i + 1) * self.rows)
        rc = self.rcs[i]
        spaces = Spaces(
            gym.spaces.Discrete(self.rows),
            self.env.single_action_space,
            rc.env.num_envs,
            rc.total_timesteps,
        )
        plain = make_agent(rc, spaces, self.device)
        assert isinstance(plain, TabularAgent)
        plain.q[...] = group.q[rows]
        plain.rng.bit_generator.state = group.rng.bit_generator.state
        for name, value in vars(group.strategy).items():
            if isinstance(value, np.ndarray):  # per state: UCB's visit counts
                setattr(plain.strategy, name, value[rows].copy())
        plain.strategy.value = group.strategy.value
        if isinstance(group, Sarsa) and isinstance(plain, Sarsa) and group._pending is not None:
            envs = slice(i * self.copies, (i + 1) * self.copies)
            plain._pending = group._pending.select(envs).shift_obs(-i * self.rows)  # type: ignore[arg-type]
        return plain

    def pop_metrics(self, i: int) -> dict[str, float]:
        """Member i's losses since its last log: all members log at the same steps, so the
        group's table gives them up together."""
        if self._metrics is None:
            self._metrics = self.agent.pop_member_metrics()
        out, self._metrics[i] = self._metrics[i], {}
        if not any(self._metrics):
            self._metrics = None
        return out

    def on_signal(self, signum: int) -> None:
        """Every member checkpoints and stops at the next step (a second signal: at once)."""
        self._signalled = True
        for member in self.members:
            member.on_signal(signum)

    def train(self) -> list[TrainResult | BaseException]:
        """Step every member to the end; each member's result, or the exception that ended it
        (its job's failure; the others go on)."""
        agent, env, n, copies = self.agent, self.env, len(self.members), self.copies
        outcomes: list[TrainResult | BaseException | None] = [None] * n
        starts = [m.begin() for m in self.members]
        offsets = np.repeat(np.arange(n) * self.rows, copies)
        envs = [slice(i * copies, (i + 1) * copies) for i in range(n)]
        # one seed per copy: SyncVectorEnv and ToyTextVectorEnv take a list
        obs, _ = env.reset(seed=member_seeds(self.rcs, copies))  # type: ignore[arg-type]
        rows = obs + offsets
        step, total = 0, self.rcs[0].total_timesteps
        next_task = min(m.next_task for m in self.members)
        live = list(range(n))
        with interrupts(self.on_signal):
            while step < total and live:
                action = agent.act(rows, explore=True)
                next_obs, reward, terminated, truncated, infos = env.step(action)
                step += copies
                next_rows = next_obs + offsets
                true_next = true_next_obs(next_obs, infos) + offsets if infos else next_rows
                t = Transition(rows, action, reward, true_next, terminated, truncated)
                agent.observe(t, step)
                agent.update(step)
                rows = next_rows
                done = finished(infos)
                if done is not None:
                    for i in np.unique(np.flatnonzero(done.envs) // copies):
                        mine = slice_finished(done, envs[i])
                        if mine is not None and i in live:
                            self.members[i].state.step = step
                            self.members[i].record_episodes(mine)
                if step >= next_task or step >= total or self._signalled:
                    for i in list(live):
                        self.members[i].state.step = step
                        due = partial(MemberRunner.after_step, start=starts[i])
                        if self._member(i, due, outcomes):
                            live.remove(i)
                    if live:
                        next_task = min(self.members[i].next_task for i in live)
            for i in range(n):
                if outcomes[i] is None:  # stopped members keep the step they stopped at
                    if i in live:
                        self.members[i].state.step = step
                    self._member(i, partial(MemberRunner.end, start=starts[i]), outcomes)
        assert all(o is not None for o in outcomes)
        return outcomes  # type: ignore[return-value]

    def _member(
        self,
        i: int,
        task: Callable[[MemberRunner], bool | TrainResult],
        outcomes: list[TrainResult | BaseException | None],
    ) -> bool:
        """Run `task` for member i; its exception becomes its outcome (its job's failure, the
        others go on). True: member i is done stepping (failed, interrupted, stopped)."""
        member = self.members[i]
        try:
            result = task(member)
        except Interrupted as e:
            outcomes[i] = e
            return True
        except Exception as e:  # noqa: BLE001 - that member's job fails, alone
            log.error("seed %d: %s", member.cfg.seed, e)
            outcomes[i] = e
            return True
        if isinstance(result, TrainResult):
            outcomes[i] = result
            return True
        return result  # stopped by its on_eval: its final evaluation runs at the end
