"""Configs of the derivative-free policy searches (torch-free: read on the config-error path)."""

from __future__ import annotations

from dataclasses import dataclass, field
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


@dataclass
class SearchConfig(AgentConfig):
    """The policy class every search shares (rlrun.agents.derivative_free.policies.FlatPolicy):
    `linear` a = W s (no bias), or an `mlp` of net_arch hidden widths with biases."""

    policy: str = param("linear", choices=("linear", "mlp"))
    net_arch: list[int] = field(default_factory=lambda: [64, 64], metadata={"gt": 0})  # mlp only
    activation: str = param("relu", choices=("relu", "tanh"))  # mlp only
    action_bounds: str = param("clip", choices=("clip", "tanh"))  # Box: clip, or tanh-squash
    episodes_per_candidate: int = param(1, gt=0)  # a candidate's score: their mean return


@register_agent("random_search", impl="rlrun.agents.derivative_free.search:RandomSearch", **_SEARCH)
@dataclass
class RandomSearchConfig(SearchConfig):
    """Policies (SearchConfig) scored by their undiscounted episode return, the best kept.
    `random`: every candidate's parameters ~ N(0, I) afresh; `hill_climbing`: the best plus
    noise_scale * N(0, I), the scale halved after an improvement and doubled otherwise (within
    [noise_min, noise_max]) when `adaptive`. Each of env.num_envs envs scores a candidate of
    its own."""

    variant: str = param("random", choices=VARIANTS)
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
class CEMConfig(SearchConfig):
    """The cross-entropy method (Szita & Lorincz 2006): candidates from a diagonal Gaussian over
    the policy's parameters, refit to the best `elite_frac` of each `population` scored;
    evaluation acts with its mean."""

    population: int = param(50, gt=1)
    elite_frac: float = param(0.2, gt=0, le=1)
    init_std: float = param(1.0, gt=0)
    extra_std: float = param(0.0, ge=0)  # added to the refit std: keeps the search from freezing


@register_agent("ars", impl="rlrun.agents.derivative_free.search:ARS", **_SEARCH)
@dataclass
class ARSConfig(SearchConfig):
    """Augmented Random Search (Mania, Guy & Recht 2018). Each iteration scores the 2 n_delta
    candidates theta +- delta_std * delta_k (delta_k ~ N(0, I)) and steps theta along the
    return differences of the n_top best directions (ARS-t), the step scaled by the std of
    their returns (V1). normalize_obs: V2, states whitened by the mean and std of every state
    the candidates met, frozen within an iteration and updated after it. Defaults are
    sb3-contrib's."""

    n_delta: int = param(8, gt=0)  # directions per iteration
    n_top: int | None = param(None, gt=0)  # directions the step uses (b); null: all n_delta
    learning_rate: float = param(0.02, gt=0)
    delta_std: float = param(0.05, gt=0)  # the perturbations' scale (nu)
    zero_policy: bool = True  # theta starts at 0, else at torch.nn.Linear's initialisation
    alive_bonus_offset: float = 0.0  # added to a candidate's score per step (cancels alive bonuses)
    normalize_obs: bool = False  # V2

    def check(self, run: RunConfig) -> list[str]:
        if self.n_top is not None and self.n_top > self.n_delta:
            raise ConfigError(
                "agent.n_top",
                f"{self.n_top} is above agent.n_delta={self.n_delta}: "
                f"use at most {self.n_delta}, or null for all",
            )
        return []
