"""What every exploration strategy shares: a scheduled value, and a look at every transition.

Strategies hold no RNG of their own: the agent passes its generator, so one seed drives
everything. They see the observations they act on and every transition (`observe`), so a strategy
that counts visits (UCB) or keeps a per-episode state (OU noise) needs nothing from the agent.
"""

from __future__ import annotations

from typing import TypeVar

from rlrun.config.registry import EXPLORATIONS, ExplorationConfig, load_impl
from rlrun.exploration.config import ScheduledConfig
from rlrun.exploration.schedules import Schedule
from rlrun.transition import Spaces, Transition


class Exploration:
    tag: str | None = "value"  # charts/<tag> in TensorBoard; None: nothing to chart

    def __init__(self, cfg: ExplorationConfig, spaces: Spaces) -> None:
        # a scheduled value (epsilon, temperature, sigma), or a constant one a strategy sets
        self.schedule = (
            Schedule(cfg, spaces.total_timesteps) if isinstance(cfg, ScheduledConfig) else None
        )
        self.value = 0.0 if self.schedule is None else self.schedule(0)

    def chart(self) -> tuple[str, float] | None:
        """(tag, value) for charts/<tag>, or None for a strategy with nothing to chart."""
        return None if self.tag is None else (self.tag, self.value)

    def observe(self, t: Transition, step: int) -> None:
        """After every vector step; `step` is the global env-step count so far."""
        if self.schedule is not None:
            self.value = self.schedule(step)


E = TypeVar("E", bound=Exploration)


def make_exploration(cfg: ExplorationConfig, spaces: Spaces, kind: type[E]) -> E:
    """The registered strategy `cfg` names, built for `spaces`; the agent says which `kind` of
    strategy it drives (the config's `explorations` flags only ever allow that kind)."""
    strategy = load_impl(EXPLORATIONS[cfg.name].impl)(cfg, spaces)
    if not isinstance(strategy, kind):
        raise TypeError(f"exploration {cfg.name} is not a {kind.__name__}")
    return strategy
