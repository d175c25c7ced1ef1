"""The schedules an exploration value (epsilon, temperature, noise scale) follows over a run."""

from __future__ import annotations

import math

from rlrun.exploration.config import ScheduledConfig


def linear_schedule(start: float, end: float, horizon: int, step: int) -> float:
    """Interpolate from `start` at step 0 to `end` at `horizon`, then stay at `end`."""
    progress = min(step / horizon, 1.0)
    return start + progress * (end - start)


def exponential_schedule(start: float, end: float, horizon: int, step: int) -> float:
    """Decay geometrically from `start` at step 0 to `end` at `horizon`, then stay at `end`."""
    if start == 0:
        return 0.0
    progress = min(step / horizon, 1.0)
    return start * math.exp(progress * math.log(end / start))


class Schedule:
    """A value that follows `cfg.schedule` over `cfg.decay_steps` or `cfg.fraction` of the run."""

    def __init__(self, cfg: ScheduledConfig, total_timesteps: int) -> None:
        self.kind = cfg.schedule
        self.start, self.end = cfg.start, cfg.end
        self.horizon = max(1, cfg.decay_steps or int(cfg.fraction * total_timesteps))

    def __call__(self, step: int) -> float:
        if self.kind == "constant":
            return self.start
        if self.kind == "linear":
            return linear_schedule(self.start, self.end, self.horizon, step)
        return exponential_schedule(self.start, self.end, self.horizon, step)
