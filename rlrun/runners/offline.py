"""The offline loop: an agent that learns from demonstrations alone (`demos=<file>`, attached as
the online loop attaches them) takes one update per step and never an env step; evaluation (on
the env, with its own reward), logging, checkpoints, resume and signals are the online loop's.
An inverse-RL learner's recovered reward is written to <run_dir>/reward.npz at every evaluation
(the last one is the run's result) and shown as an image for grid envs."""

from __future__ import annotations

from typing import Any

import numpy as np

from rlrun.agents.base import DemoLearner
from rlrun.config.run import RunConfig
from rlrun.demos import REWARD_FILE, RecoveredReward, save_reward
from rlrun.envs.dynamics import grid_shape
from rlrun.envs.vector import make_env
from rlrun.runners.base import EvalResult, Services
from rlrun.runners.online import OnlineRunner


class OfflineRunner(OnlineRunner):
    agent: DemoLearner
    grid: tuple[int, int] | None = None  # the env's grid, for the reward image

    @classmethod
    def build(cls, rc: RunConfig, device: Any, services: Services) -> OfflineRunner:
        runner = super().build(rc, device, services)  # the demonstrations attached
        assert isinstance(runner, OfflineRunner)
        runner.grid = grid_shape(make_env(rc.env))
        return runner

    def _step(self) -> None:
        self.state.step += 1
        self.agent.update(self.state.step)

    def _evaluate(self, step: int, start: float) -> EvalResult:
        ev = super()._evaluate(step, start)
        table = self.agent.recovered_reward()
        if table is not None:
            meta = {
                "env_id": self.cfg.env.id,
                "env_kwargs": self.cfg.env.kwargs,
                "gamma": getattr(self.cfg.agent, "gamma", None),
                "agent": self.cfg.agent.name,
                "step": step,
            }
            save_reward(self.logger.run_dir / REWARD_FILE, RecoveredReward(table, meta))
            if self.grid is not None:
                per_state = table if table.ndim == 1 else table.max(1)
                self.logger.image("irl/reward", reward_image(per_state, self.grid), step)
        return ev


def reward_image(values: np.ndarray, grid: tuple[int, int], cell: int = 16) -> np.ndarray:
    """r(s) over a grid as an RGB image: white at 0, red for the largest positive value, blue
    for the most negative, `cell` pixels a state."""
    scale = np.abs(values).max() or 1.0
    x = (values / scale).reshape(grid)[..., None]  # in [-1, 1]
    white = np.ones(3)
    rgb = np.where(x > 0, white - x * np.array([0, 1, 1]), white + x * np.array([1, 1, 0]))
    return (np.kron(rgb, np.ones((cell, cell, 1))) * 255).astype(np.uint8)
