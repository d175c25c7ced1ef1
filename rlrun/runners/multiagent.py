"""The multi-agent loop: the online loop (its schedule of logs, evaluations, checkpoints and
signals) over a PettingZoo env, each step's arrays split by agent for the team's learners.

TensorBoard: `<agent>/charts/episodic_return` for each agent, `team/episodic_return` (the mean
of the agents' returns: in a common-payoff game, every agent's) and `team/episodic_length`;
`eval/mean_return` is the team's, `eval/<agent>/mean_return` each agent's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rlrun.agents.team import Team, make_team
from rlrun.checkpoint import capture_agent, replay_nbytes, restore_agent
from rlrun.config.run import EnvConfig, RunConfig
from rlrun.envs.multiagent import ParallelVectorEnv, parallel_env_factory
from rlrun.runners.base import EvalResult, Services, check_eval_spaces, episode_shares
from rlrun.runners.online import OnlineRunner
from rlrun.runtime import seed_everything
from rlrun.transition import Transition


def make_parallel_vec_env(env_cfg: EnvConfig, num_envs: int) -> ParallelVectorEnv:
    return ParallelVectorEnv(parallel_env_factory(env_cfg.id, env_cfg.kwargs), num_envs)


def evaluate_team(team: Team, env: ParallelVectorEnv, episodes: int, seed: int) -> EvalResult:
    """`episodes` deterministic episodes on `env` reseeded with `seed`, each copy a fixed share:
    the team's return (mean over agents) as `mean_return`, each agent's in `metrics`."""
    targets = episode_shares(episodes, env.num_envs)
    counts = np.zeros(env.num_envs, dtype=int)
    returns: list[np.ndarray] = []  # per episode: each agent's return
    lengths: list[int] = []
    obs, _ = env.reset(seed=seed)
    team.end_episodes(np.ones(env.num_envs, dtype=bool))
    while (counts < targets).any():
        j = env.step(team.act(obs, explore=False))
        obs = j.obs
        if j.ended.any():
            team.end_episodes(j.ended)
        for i in np.flatnonzero(j.ended & (counts < targets)):
            returns.append(j.returns[i])
            lengths.append(int(j.lengths[i]))
            counts[i] += 1
    per_agent = np.array(returns)
    team_returns = per_agent.mean(axis=1)
    return EvalResult(
        mean_return=float(team_returns.mean()),
        std_return=float(team_returns.std()),
        mean_length=float(np.mean(lengths)),
        success_rate=None,
        episodes=len(returns),
        metrics={
            f"{a}/mean_return": float(per_agent[:, k].mean()) for k, a in enumerate(env.agents)
        },
    )


class MultiAgentRunner(OnlineRunner):
    def __init__(
        self,
        cfg: RunConfig,
        team: Team,
        env: ParallelVectorEnv,
        eval_env: ParallelVectorEnv,
        services: Services,
    ) -> None:
        # The inherited loop touches the agent and envs only through the hooks overridden here.
        super().__init__(cfg, team, env, eval_env, services)  # type: ignore[arg-type]
        self.team = team
        self.ma_env = env
        self.ma_eval_env = eval_env

    @classmethod
    def build(cls, rc: RunConfig, device: Any, services: Services) -> MultiAgentRunner:
        seed_everything(rc.seed)
        env = make_parallel_vec_env(rc.env, rc.env.num_envs)
        eval_env = make_parallel_vec_env(rc.eval_env, min(rc.eval.num_envs, rc.eval.episodes))
        check_eval_spaces(
            (env.observation_spaces, env.action_spaces),
            (eval_env.observation_spaces, eval_env.action_spaces),
        )
        team = make_team(rc, env.observation_spaces, env.action_spaces, env.num_envs, device)
        return cls(rc, team, env, eval_env, services)

    def _step(self) -> None:
        team, env, s, logger = self.team, self.ma_env, self.state, self.logger
        actions = team.act(s.obs, explore=True)
        j = env.step(actions)
        s.step += env.num_envs
        team.observe(
            {
                a: Transition(
                    s.obs[a],
                    actions[a],
                    j.reward[a],
                    j.next_obs[a],
                    j.terminated[a],
                    j.truncated[a],
                )
                for a in env.agents
            },
            s.step,
        )
        team.update(s.step)
        s.obs = j.obs
        for i in np.flatnonzero(j.ended):
            for k, a in enumerate(env.agents):
                logger.scalar(f"{a}/charts/episodic_return", float(j.returns[i, k]), s.step)
            team_return = float(j.returns[i].mean())
            logger.scalar("team/episodic_return", team_return, s.step)
            logger.scalar("team/episodic_length", int(j.lengths[i]), s.step)
            s.recent_returns.append(team_return)
        s.result.episodes += int(j.ended.sum())

    def load_checkpoint(self, ckpt: dict[str, Any]) -> None:
        # A checkpointed copy had been reset; a fresh one only constructed, and PettingZoo envs
        # alias their lists differently then (mpe2's agent order is its first agent list): reset
        # first, so the state restored in place has the structure it was saved with.
        self.ma_env.reset(seed=self.cfg.seed)
        super().load_checkpoint(ckpt)

    def _run_evaluation(self) -> EvalResult:
        return evaluate_team(
            self.team, self.ma_eval_env, self.cfg.eval.episodes, self.cfg.eval_seed
        )

    def _exploration_charts(self) -> dict[str, float]:
        return self.team.exploration_charts()

    # Every learner's state (and replay data) under its name.
    def _capture_agent(self, replay: bool) -> tuple[Any, Any]:
        parts = {
            n: capture_agent(learner, replay=replay) for n, learner in self.team.learners.items()
        }
        trees = {n: tree for n, (tree, _) in parts.items()}
        return trees, {n: data for n, (_, data) in parts.items()} if replay else None

    def _restore_agent(self, tree: Any, replay: Any) -> None:
        for n, learner in self.team.learners.items():
            restore_agent(learner, tree[n], None if replay is None else replay[n])

    def _replay_nbytes(self) -> int:
        return sum(replay_nbytes(learner) for learner in self.team.learners.values())
