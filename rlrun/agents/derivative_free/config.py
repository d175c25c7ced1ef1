"""Configs of the derivative-free policy searches (torch-free: read on the config-error path)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rlrun.config.fields import param
from rlrun.config.registry import AgentConfig, register_agent
from rlrun.config.run import RunConfig
from rlrun.errors import ConfigError

VARIANTS = ("random", "hill_climbing")


_SEARCH: dict[str, Any] = {
    "actions": {"discrete", "box"},
    "observations": {"box"},
    "explorations": ("policy",),  # the search itself explores: it tries candidates
    "default_exploration": {},
    "uses_encoder": False,
}


@register_agent("random_search", impl="rlrun.agents.derivative_free.search:RandomSearch", **_SEARCH)
@dataclass
class RandomSearchConfig(AgentConfig):
    """Linear policies a = argmax(W s) (discrete) or clip(W s) (Box), each candidate scored by its
    undiscounted episode return, the best kept. `random`: every candidate W ~ N(0, I) afresh;
    `hill_climbing`: the best plus noise_scale * N(0, I), the scale halved after an improvement
    and doubled otherwise (within [noise_min, noise_max]) when `adaptive`. Each of env.num_envs
    envs scores a candidate of its own."""

    variant: str = param("random", choices=VARIANTS)
    episodes_per_candidate: int = param(1, gt=0)  # the score is their mean return
    noise_scale: float = param(1.0, gt=0)  # hill climbing: the first perturbations' scale
    adaptive: bool = True
    noise_min: float = param(1e-3, gt=0)
    noise_max: float = param(2.0, gt=0)

    def check(self, run: RunConfig) -> list[str]:
        if self.noise_min > self.noise_max:
            raise ConfigError(
                "agent.noise_min",
                f"{self.noise_min} is above agent.noise_max={self.noise_max}",
            )
        return []


@register_agent("cem", impl="rlrun.agents.derivative_free.search:CEM", **_SEARCH)
@dataclass
class CEMConfig(AgentConfig):
    """The cross-entropy method over linear policies (Szita & Lorincz 2006): candidates from a
    diagonal Gaussian over W, refit to the best `elite_frac` of each `population` scored;
    evaluation acts with its mean."""

    population: int = param(50, gt=1)
    elite_frac: float = param(0.2, gt=0, le=1)
    init_std: float = param(1.0, gt=0)
    extra_std: float = param(0.0, ge=0)  # added to the refit std: keeps the search from freezing
    episodes_per_candidate: int = param(1, gt=0)
