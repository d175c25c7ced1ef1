"""The online single-agent loop every agent of rlrun runs in today:
act -> env.step -> (reward bonus) -> observe -> update -> log / eval / checkpoint.

The agent decides when an update is due (every step for tabular TD, in bursts for DQN, after a
full rollout for on-policy agents), so the loop itself never changes with the algorithm.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import signal
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
from tqdm import tqdm

from rlrun.agents.base import (
    BONUS_STREAM,
    Agent,
    DemoLearner,
    check_compatible,
    make_agent,
    stream_seed,
)
from rlrun.checkpoint import (
    STRUCTURE,
    NotCapturable,
    capture,
    capture_agent,
    first_non_finite,
    global_rng_state,
    identity,
    replay_nbytes,
    restore,
    restore_agent,
    set_global_rng_state,
)
from rlrun.config.run import RunConfig
from rlrun.demos import RecoveredReward, check_source_env, load_demos, load_reward
from rlrun.envs.vector import (
    Finished,
    episode_metrics,
    finished,
    frame_stack,
    make_env,
    make_vec_env,
    true_next_obs,
)
from rlrun.errors import ConfigError, Interrupted, NonFiniteError
from rlrun.exploration.bonus import RewardBonus, make_bonus
from rlrun.records import EVAL_SCALARS
from rlrun.runners.base import (
    EvalResult,
    Services,
    TrainResult,
    check_eval_spaces,
    evaluate,
    interrupts,
)
from rlrun.runtime import seed_everything
from rlrun.transition import Spaces, Transition

log = logging.getLogger(__name__)

# Statistics that are NaN without anything having diverged (no variance in the returns).
MAY_BE_UNDEFINED = frozenset({"losses/explained_variance"})


def make_env_and_agent(rc: RunConfig, device: Any) -> tuple[gym.vector.VectorEnv, Agent]:
    """The training vector env and a fresh agent for it, seeded as every run is."""
    seed_everything(rc.seed)
    env = make_vec_env(rc.env, rc.env.num_envs)
    spaces = Spaces.of(env, rc.total_timesteps, frame_stack(rc.env))
    check_compatible(rc, spaces)
    return env, make_agent(rc, spaces, device)


def recovered_reward(rc: RunConfig, env: gym.vector.VectorEnv) -> RecoveredReward:
    """`reward=<irl run>`'s table, checked against this run's env and agent."""
    assert rc.reward is not None
    learned = load_reward(rc.reward)
    check_source_env(learned.meta, rc.env.id, rc.env.kwargs, "reward")
    spaces = (env.single_observation_space, env.single_action_space)
    shape = tuple(getattr(space, "n", None) for space in spaces)
    if learned.table.shape not in (shape, shape[:1]):
        raise ConfigError(
            "reward",
            f"its table is {learned.table.shape}; this env's would be {shape[:1]} or {shape}",
        )
    gamma = getattr(rc.agent, "gamma", None)
    if learned.meta.get("gamma") not in (None, gamma):
        log.warning(
            "reward: recovered with gamma %s, agent.gamma is %s: the reward explains the "
            "demonstrations at its own discount",
            learned.meta["gamma"],
            gamma,
        )
    return learned


@dataclass
class LoopState:
    """Where the loop is: everything a checkpoint needs besides the agent and the envs."""

    step: int = 0
    obs: Any = None  # the vector env's current observations (an array, or one per agent)
    next_log: int = 0
    next_eval: int | None = 0
    next_checkpoint: int | None = None
    next_video: int | None = None
    elapsed_s: float = 0.0  # training time before this process (resumed runs)
    recent_returns: deque[float] = field(default_factory=lambda: deque(maxlen=20))
    intrinsic_sum: float = 0.0  # reward bonus since the last log
    intrinsic_count: int = 0
    result: TrainResult = field(default_factory=TrainResult)


class OnlineRunner:
    def __init__(
        self,
        cfg: RunConfig,
        agent: Agent,
        env: gym.vector.VectorEnv,
        eval_env: gym.vector.VectorEnv,
        services: Services,
        bonus: RewardBonus | None = None,
    ) -> None:
        self.cfg = cfg
        self.agent = agent
        self.env = env
        self.eval_env = eval_env
        self.logger = services.logger
        self.checkpoints = services.checkpoints
        self.on_eval = services.on_eval
        self.recorder = services.recorder
        self.bonus = bonus
        self.learned_reward: RecoveredReward | None = None  # reward=<irl run>: learn from it
        self.state = LoopState()
        self._schedule()
        self._signal: int | None = None

    @classmethod
    def build(cls, rc: RunConfig, device: Any, services: Services) -> OnlineRunner:
        env, agent = make_env_and_agent(rc, device)
        eval_env = make_vec_env(rc.eval_env, min(rc.eval.num_envs, rc.eval.episodes))
        check_eval_spaces(
            (env.single_observation_space, env.single_action_space),
            (eval_env.single_observation_space, eval_env.single_action_space),
        )
        bonus = (
            None
            if rc.bonus is None
            else make_bonus(
                rc.bonus, Spaces.of(env, rc.total_timesteps), stream_seed(rc.seed, BONUS_STREAM)
            )
        )
        runner = cls(rc, agent, env, eval_env, services, bonus)
        if rc.demos is not None:
            assert isinstance(agent, DemoLearner)  # validate: demos only for those
            demos = load_demos(rc.demos)
            check_source_env(demos.meta, rc.env.id, rc.env.kwargs, "demos")
            agent.attach(demos, make_env(rc.env), rc.env.id)
        if rc.reward is not None:
            runner.learned_reward = recovered_reward(rc, env)
        return runner

    @property
    def step(self) -> int:
        return self.state.step

    def _schedule(self) -> None:
        """The next step of each periodic task: the first multiple of its interval after the
        current step (so a resumed run follows the intervals of its new config)."""
        s, cfg = self.state, self.cfg

        def after(every: int) -> int:
            return (s.step // every + 1) * every

        s.next_log = after(cfg.logger.log_every_steps)
        s.next_eval = None if cfg.eval.every_steps is None else after(cfg.eval.every_steps)
        s.next_checkpoint = (
            None if cfg.checkpoint.every_steps is None else after(cfg.checkpoint.every_steps)
        )
        s.next_video = None if cfg.video.every_steps is None else after(cfg.video.every_steps)

    @property
    def result(self) -> TrainResult:
        return self.state.result

    def train(self) -> TrainResult:
        start = self.begin()
        if self.state.obs is None:
            self.state.obs, _ = self.env.reset(seed=self.cfg.seed)
        with interrupts(self.on_signal):
            while self.state.step < self.cfg.total_timesteps:
                self._step()
                if self.after_step(start):
                    break
            return self.end(start)

    def begin(self) -> float:
        """Before the first step of this process: the (perf_counter) time training started,
        counting the time of a resumed run's earlier processes."""
        cfg, s = self.cfg, self.state
        replay_size = self._replay_nbytes() if cfg.checkpoint.save_replay_buffer else 0
        if replay_size and self.checkpoints is not None:
            log.info(
                "checkpoint.save_replay_buffer: each checkpoint holds the replay buffer, "
                "%.2f GB once it is full",
                replay_size / 1e9,
            )
        self._bar = tqdm(
            total=cfg.total_timesteps,
            initial=s.step,
            unit="step",
            disable=not cfg.logger.progress,
            dynamic_ncols=True,
            smoothing=0.1,
        )
        return time.perf_counter() - s.elapsed_s

    @property
    def next_task(self) -> int:
        """The step at or after which `after_step` has something to do."""
        s = self.state
        due = [s.next_log, s.next_eval, s.next_video, s.next_checkpoint]
        return min(d for d in due if d is not None)

    def after_step(self, start: float) -> bool:
        """The periodic tasks due at this step: log, evaluate, record, checkpoint; a signal
        received saves and raises Interrupted. True: an `on_eval` callback stopped training."""
        cfg, s = self.cfg, self.state
        if s.step >= s.next_log or s.step >= cfg.total_timesteps:
            s.next_log += cfg.logger.log_every_steps
            sps = s.step / (time.perf_counter() - start)
            self._log_charts(s.step, sps)
            self._bar.update(s.step - self._bar.n)
            if s.recent_returns:
                self._bar.set_postfix(
                    sps=f"{sps:,.0f}", ret=f"{np.mean(s.recent_returns):.2f}", refresh=False
                )
        stop = False
        if s.next_eval is not None and s.step >= s.next_eval and s.step < cfg.total_timesteps:
            assert cfg.eval.every_steps is not None  # else no next_eval
            s.next_eval += cfg.eval.every_steps
            ev = self._evaluate(s.step, start)
            stop = self.on_eval is not None and self.on_eval(s.step, ev)
        if s.next_video is not None and s.step >= s.next_video:
            assert cfg.video.every_steps is not None  # else no next_video
            s.next_video += cfg.video.every_steps
            if self.recorder is not None:
                self.recorder.record(self.agent, s.step)
        if s.next_checkpoint is not None and s.step >= s.next_checkpoint:
            assert cfg.checkpoint.every_steps is not None  # else no next_checkpoint
            s.next_checkpoint += cfg.checkpoint.every_steps
            self._save(start)
        if self._signal is not None and s.step < cfg.total_timesteps:
            self._save(start)
            self._bar.close()
            raise Interrupted(self._signal)
        if stop:
            s.result.stopped_early = True
        return stop

    def end(self, start: float) -> TrainResult:
        """After the last step: the final evaluation and checkpoint; the run's result.

        A signal from here on lets the run finish: only a second one stops it."""
        s = self.state
        self._bar.close()
        r = s.result
        # Resumed from the checkpoint taken after the final evaluation (a run killed before it
        # wrote its summary): the result is all there.
        evaluated = bool(r.evaluations) and r.evaluations[-1][0] == s.step
        if not (s.step >= self.cfg.total_timesteps and evaluated):
            r.steps = s.step
            r.wall_time_s = time.perf_counter() - start
            r.sps = s.step / r.wall_time_s
            self._evaluate(s.step, start)  # the final evaluation is the run's result
            self._save(start)
        return r

    def _step(self) -> None:
        """One step of every env: act, learn, and log the episodes that ended."""
        agent, env, s = self.agent, self.env, self.state
        action = agent.act(s.obs, explore=True)
        next_obs, reward, terminated, truncated, infos = env.step(action)
        s.step += env.num_envs
        t = Transition(s.obs, action, reward, true_next_obs(next_obs, infos), terminated, truncated)
        if self.learned_reward is not None:  # the logged returns stay the env's
            t = dataclasses.replace(t, reward=self.learned_reward(t.obs, t.action, t.next_obs))
        if self.bonus is not None:
            t = self._add_bonus(t)
        agent.observe(t, s.step)
        agent.update(s.step)
        s.obs = next_obs
        restart = agent.restart()
        if restart is not None:  # episodes the agent gives up start afresh
            fresh, _ = env.reset(options={"reset_mask": restart})
            s.obs = s.obs.copy()  # the transition the agent saw keeps its own
            s.obs[restart] = fresh[restart]

        done = finished(infos)
        if done is not None:
            self.record_episodes(done)

    def record_episodes(self, done: Finished) -> None:
        """charts/ for the episodes that ended at this step."""
        logger, s = self.logger, self.state
        for i in np.flatnonzero(done.envs):
            ret = float(done.returns[i])
            logger.scalar("charts/episodic_return", ret, s.step)
            logger.scalar("charts/episodic_length", int(done.lengths[i]), s.step)
            s.recent_returns.append(ret)
        values = episode_metrics(self.cfg.env.episode_metrics, self.cfg.env.id, done)
        for key, value in values.items():
            for i in np.flatnonzero(done.envs):
                logger.scalar(f"charts/{key}", float(value[i]), s.step)
        s.result.episodes += int(done.envs.sum())

    def _add_bonus(self, t: Transition) -> Transition:
        """The transition with the bonus in its reward (the logged return stays the env's)."""
        assert self.bonus is not None
        intrinsic = self.bonus(t)
        self.state.intrinsic_sum += float(intrinsic.sum())
        self.state.intrinsic_count += len(intrinsic)
        return dataclasses.replace(t, reward=t.reward + intrinsic)

    def on_signal(self, signum: int) -> None:
        """First SIGINT/SIGTERM: finish this step, checkpoint, stop. A second one stops at once."""
        if self._signal is not None:
            raise Interrupted(signum)
        self._signal = signum
        log.warning(
            "%s: stopping after this step and saving a checkpoint (again to stop now)",
            signal.Signals(signum).name,
        )

    # --- checkpoints ----------------------------------------------------------------------------

    def checkpoint(self, *, replay: bool) -> dict[str, Any]:
        """The whole training state as plain data (see rlrun.checkpoint)."""
        agent_state, replay_state = self._capture_agent(replay)
        bad = first_non_finite(agent_state)
        if bad is not None:
            raise NonFiniteError(
                f"step {self.state.step}: agent.{bad} holds NaN or inf; not saved"
                f"{self._last_good()}"
            )
        try:
            env_state = capture(self.env, skip=STRUCTURE)
        except NotCapturable:
            env_state = None  # e.g. Box2D: on resume the episodes in progress restart
        return {
            "step": self.state.step,
            "config": identity(self.cfg),
            "loop": capture(self.state),
            "agent": agent_state,
            "replay": replay_state,
            "bonus": None if self.bonus is None else capture(self.bonus, skip=STRUCTURE),
            "env": env_state,
            "rng": global_rng_state(),
        }

    def _capture_agent(self, replay: bool) -> tuple[Any, Any]:
        return capture_agent(self.agent, replay=replay)

    def _restore_agent(self, tree: Any, replay: Any) -> None:
        restore_agent(self.agent, tree, replay)

    def _replay_nbytes(self) -> int:
        return replay_nbytes(self.agent)

    def load_checkpoint(self, ckpt: dict[str, Any]) -> None:
        self._restore_agent(ckpt["agent"], ckpt["replay"])
        restore(self.state, ckpt["loop"])
        if self.bonus is not None:
            restore(self.bonus, ckpt["bonus"])
        self._schedule()
        if ckpt["env"] is not None:
            restore(self.env, ckpt["env"])
        else:
            log.warning(
                "%s's state is not in the checkpoint (it lives in a C extension): "
                "the episodes in progress restart",
                self.cfg.env.id,
            )
            self.state.obs, _ = self.env.reset(seed=self.cfg.seed + self.state.step)
        set_global_rng_state(ckpt["rng"])

    def _save(self, start: float) -> None:
        if self.checkpoints is None:
            return
        self.state.elapsed_s = time.perf_counter() - start
        self.checkpoints.save(
            self.state.step,
            self.checkpoint(replay=self.cfg.checkpoint.save_replay_buffer),
        )

    def _last_good(self) -> str:
        last = self.checkpoints.last if self.checkpoints else None
        return f"; the last good checkpoint is {last}" if last is not None and last.exists() else ""

    # --- logging and evaluation -----------------------------------------------------------------

    def _log_charts(self, step: int, sps: float) -> None:
        self.logger.scalar("charts/SPS", sps, step)
        for tag, value in self._exploration_charts().items():
            self.logger.scalar(tag, value, step)
        s = self.state
        if s.intrinsic_count:
            self.logger.scalar("charts/intrinsic_reward", s.intrinsic_sum / s.intrinsic_count, step)
            s.intrinsic_sum, s.intrinsic_count = 0.0, 0
        for tag, value in self.agent.pop_metrics().items():
            if not math.isfinite(value) and tag not in MAY_BE_UNDEFINED:
                raise NonFiniteError(
                    f"step {step}: {tag} is {value}; training stopped{self._last_good()}"
                )
            self.logger.scalar(tag, value, step)

    def _exploration_charts(self) -> dict[str, float]:
        exploration = self.agent.exploration_value()
        return {} if exploration is None else {f"charts/{exploration[0]}": exploration[1]}

    def _run_evaluation(self) -> EvalResult:
        return evaluate(
            self.agent,
            self.eval_env,
            self.cfg.eval.episodes,
            self.cfg.eval_seed,
            self.cfg.eval_env,
        )

    def _evaluate(self, step: int, start: float) -> EvalResult:
        ev = self._run_evaluation()
        for name in EVAL_SCALARS:
            value = getattr(ev, name)
            if value is not None:
                self.logger.scalar(f"eval/{name}", value, step)
        for key, value in ev.metrics.items():
            self.logger.scalar(f"eval/{key}", value, step)
        r = self.state.result
        r.final_eval = ev
        r.evaluations.append((step, round(time.perf_counter() - start, 3), ev.mean_return))
        if r.best_eval_mean_return is None or ev.mean_return > r.best_eval_mean_return:
            r.best_eval_mean_return = ev.mean_return
            if self.checkpoints is not None and self.cfg.checkpoint.best:
                self.state.elapsed_s = time.perf_counter() - start
                self.checkpoints.save_best(self.checkpoint(replay=False))
        return ev
