"""The one training loop every agent runs in: act -> env.step -> observe -> update -> log / eval.

The agent decides when an update is due (every step for tabular TD, in bursts for DQN, after a
full rollout for on-policy agents), so the loop itself never changes with the algorithm.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import gymnasium as gym
import numpy as np
from tqdm import tqdm

from rlrun.agents.base import Agent, Transition
from rlrun.envs import is_success, true_next_obs
from rlrun.logger import TensorBoardLogger
from rlrun.schema import RunConfig


@dataclass
class EvalResult:
    mean_return: float
    std_return: float
    mean_length: float
    success_rate: float | None
    episodes: int


@dataclass
class TrainResult:
    steps: int = 0
    episodes: int = 0
    wall_time_s: float = 0.0
    sps: float = 0.0
    final_eval: EvalResult | None = None
    best_eval_mean_return: float | None = None
    # (env step, seconds since training started, mean return) of every evaluation
    evaluations: list[tuple[int, float, float]] = field(default_factory=list)
    # set when an `on_eval` callback (e.g. a search's pruner) ended the run early
    stopped_early: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


def evaluate(
    agent: Agent,
    env: gym.vector.VectorEnv,
    episodes: int,
    seed: int,
    success_rule: str | None,
) -> EvalResult:
    """Run `episodes` deterministic episodes on `env`, reseeded with `seed` every time.

    Each env runs a fixed share of the episodes (as Stable-Baselines3's evaluate_policy does), so
    faster-ending episodes are not over-represented.
    """
    n = env.num_envs
    targets = np.array([(episodes + i) // n for i in range(n)])
    counts = np.zeros(n, dtype=int)
    returns: list[float] = []
    lengths: list[int] = []
    successes: list[bool] = []
    obs, _ = env.reset(seed=seed)
    while (counts < targets).any():
        obs, reward, terminated, _truncated, infos = env.step(
            agent.act(obs, explore=False)
        )
        done = infos.get("_episode")
        if done is None or not done.any():
            continue
        success = is_success(success_rule, reward, terminated, infos)
        for i in np.flatnonzero(done & (counts < targets)):
            returns.append(float(infos["episode"]["r"][i]))
            lengths.append(int(infos["episode"]["l"][i]))
            if success is not None:
                successes.append(bool(success[i]))
            counts[i] += 1
    return EvalResult(
        mean_return=float(np.mean(returns)),
        std_return=float(np.std(returns)),
        mean_length=float(np.mean(lengths)),
        success_rate=float(np.mean(successes)) if successes else None,
        episodes=len(returns),
    )


class Trainer:
    def __init__(
        self,
        cfg: RunConfig,
        agent: Agent,
        env: gym.vector.VectorEnv,
        eval_env: gym.vector.VectorEnv,
        logger: TensorBoardLogger,
        on_eval: Callable[[int, EvalResult], bool] | None = None,
    ) -> None:
        """`on_eval(step, result)` is called after each periodic evaluation; returning True stops
        training there (the final evaluation still runs), as a pruned search trial needs."""
        self.cfg = cfg
        self.on_eval = on_eval
        self.agent = agent
        self.env = env
        self.eval_env = eval_env
        self.logger = logger
        self.eval_seed = (
            cfg.eval.seed if cfg.eval.seed is not None else cfg.seed + 10_000
        )
        self.result = TrainResult()

    def train(self) -> TrainResult:
        cfg, agent, env, logger = self.cfg, self.agent, self.env, self.logger
        num_envs = env.num_envs
        recent_returns: deque[float] = deque(maxlen=20)
        start = time.perf_counter()
        next_log = cfg.logger.log_every_steps
        next_eval = cfg.eval.every_steps
        step = 0
        bar = tqdm(
            total=cfg.total_timesteps,
            unit="step",
            disable=not cfg.logger.progress,
            dynamic_ncols=True,
            smoothing=0.1,
        )
        obs, _ = env.reset(seed=cfg.seed)
        env.action_space.seed(cfg.seed)
        while step < cfg.total_timesteps:
            action = agent.act(obs, explore=True)
            next_obs, reward, terminated, truncated, infos = env.step(action)
            step += num_envs
            agent.observe(
                Transition(
                    obs,
                    action,
                    reward,
                    true_next_obs(next_obs, infos),
                    terminated,
                    truncated,
                ),
                step,
            )
            agent.update(step)
            obs = next_obs

            ended = infos.get("_episode")
            if ended is not None and ended.any():
                for i in np.flatnonzero(ended):
                    ret = float(infos["episode"]["r"][i])
                    logger.scalar("charts/episodic_return", ret, step)
                    logger.scalar(
                        "charts/episodic_length", int(infos["episode"]["l"][i]), step
                    )
                    recent_returns.append(ret)
                self.result.episodes += int(ended.sum())

            if step >= next_log or step >= cfg.total_timesteps:
                next_log += cfg.logger.log_every_steps
                sps = step / (time.perf_counter() - start)
                self._log_charts(step, sps)
                bar.update(step - bar.n)
                if recent_returns:
                    bar.set_postfix(
                        sps=f"{sps:,.0f}",
                        ret=f"{np.mean(recent_returns):.2f}",
                        refresh=False,
                    )
            if step >= next_eval and step < cfg.total_timesteps:
                next_eval += cfg.eval.every_steps
                ev = self._evaluate(step, start)
                if self.on_eval is not None and self.on_eval(step, ev):
                    self.result.stopped_early = True
                    break
        bar.close()
        self.result.steps = step
        self.result.wall_time_s = time.perf_counter() - start
        self.result.sps = step / self.result.wall_time_s
        self._evaluate(step, start)  # the final evaluation is the run's result
        return self.result

    def _log_charts(self, step: int, sps: float) -> None:
        self.logger.scalar("charts/SPS", sps, step)
        exploration = self.agent.exploration_value()
        if exploration is not None:
            self.logger.scalar(f"charts/{exploration[0]}", exploration[1], step)
        for tag, value in self.agent.pop_metrics().items():
            self.logger.scalar(tag, value, step)

    def _evaluate(self, step: int, start: float) -> EvalResult:
        ev = evaluate(
            self.agent,
            self.eval_env,
            self.cfg.eval.episodes,
            self.eval_seed,
            self.cfg.env.success,
        )
        for name in ("mean_return", "std_return", "mean_length", "success_rate"):
            value = getattr(ev, name)
            if value is not None:
                self.logger.scalar(f"eval/{name}", value, step)
        r = self.result
        r.final_eval = ev
        r.evaluations.append(
            (step, round(time.perf_counter() - start, 3), ev.mean_return)
        )
        if r.best_eval_mean_return is None or ev.mean_return > r.best_eval_mean_return:
            r.best_eval_mean_return = ev.mean_return
        return ev
