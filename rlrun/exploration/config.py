"""Configs of the exploration strategies and reward bonuses (torch-free)."""

from __future__ import annotations

from dataclasses import dataclass

from rlrun.config.fields import SCHEDULES, param
from rlrun.config.registry import (
    BONUSES,
    EXPLORATIONS,
    BonusConfig,
    ExplorationConfig,
)


@dataclass
class ScheduledConfig(ExplorationConfig):
    """A strategy whose value (epsilon, temperature, ...) follows a schedule from start to end.

    The decay horizon is `decay_steps` env steps when given, else `fraction` of total_timesteps.
    """

    schedule: str = param("linear", choices=SCHEDULES)
    start: float = param(1.0, ge=0)
    end: float = param(0.05, ge=0)
    fraction: float = param(0.1, gt=0, le=1)
    decay_steps: int | None = param(None, gt=0)


@EXPLORATIONS.register("epsilon_greedy", impl="rlrun.exploration.strategies:EpsilonGreedy")
@dataclass
class EpsilonGreedyConfig(ScheduledConfig):
    start: float = param(1.0, ge=0, le=1)
    end: float = param(0.05, ge=0, le=1)


@EXPLORATIONS.register("boltzmann", impl="rlrun.exploration.strategies:Boltzmann")
@dataclass
class BoltzmannConfig(ScheduledConfig):
    start: float = param(1.0, gt=0)
    end: float = param(0.1, gt=0)


@EXPLORATIONS.register("gaussian", impl="rlrun.exploration.noise:GaussianNoise")
@dataclass
class GaussianNoiseConfig(ScheduledConfig):
    """N(0, sigma) added to the actor's action, in units of half the action range; sigma follows
    the schedule from `start` to `end`."""

    schedule: str = param("constant", choices=SCHEDULES)
    start: float = param(0.1, ge=0)
    end: float = param(0.1, ge=0)


@EXPLORATIONS.register("ou", impl="rlrun.exploration.noise:OUNoise")
@dataclass
class OUNoiseConfig(GaussianNoiseConfig):
    """Ornstein-Uhlenbeck noise: temporally correlated, reset at each episode start."""

    theta: float = param(0.15, gt=0)
    dt: float = param(1e-2, gt=0)


@EXPLORATIONS.register("ucb", impl="rlrun.exploration.strategies:UCB")
@dataclass
class UCBConfig(ExplorationConfig):
    """Upper confidence bound: argmax_a Q(s, a) + c sqrt(ln t / N(s, a)), t = N(s) + 1, untried
    actions first (Sutton & Barto section 2.7; Auer et al. 2002 with c = sqrt(2))."""

    name: str = "ucb"
    c: float = param(2.0, ge=0)


@EXPLORATIONS.register("thompson", impl="rlrun.exploration.strategies:Thompson")
@dataclass
class ThompsonConfig(ExplorationConfig):
    """Thompson sampling from a posterior over each action's mean reward: `gaussian` (prior
    N(prior_mean, prior_std^2), rewards of known std reward_std) or `beta` (Beta(prior_alpha,
    prior_beta) over the success probability of 0/1 rewards)."""

    name: str = "thompson"
    posterior: str = param("gaussian", choices=("gaussian", "beta"))
    prior_mean: float = 0.0
    prior_std: float = param(1.0, gt=0)
    reward_std: float = param(1.0, gt=0)
    prior_alpha: float = param(1.0, gt=0)
    prior_beta: float = param(1.0, gt=0)


@EXPLORATIONS.register("policy", impl="")  # nothing to build: the agent samples its policy
@dataclass
class PolicySamplingConfig(ExplorationConfig):
    """Explore by sampling the agent's own stochastic policy (policy-gradient agents, SAC)."""

    name: str = "policy"


@dataclass
class AutoExplorationConfig:
    """`exploration=auto`: the agent's own default strategy; any field set here overrides it."""

    name: str = "auto"
    schedule: str | None = param(None, choices=(*SCHEDULES, None))
    start: float | None = param(None, ge=0)
    end: float | None = param(None, ge=0)
    fraction: float | None = param(None, gt=0, le=1)
    decay_steps: int | None = param(None, gt=0)


@BONUSES.register(
    "count", impl="rlrun.exploration.bonus:CountBonus", observation_spaces=frozenset({"discrete"})
)
@dataclass
class CountBonusConfig(BonusConfig):
    """Count-based exploration bonus beta / sqrt(N) (Strehl & Littman 2008), N the visits of the
    next state (`counts: state`) or of the state-action pair just taken (`state_action`)."""

    name: str = "count"
    beta: float = param(0.1, ge=0)
    counts: str = param("state", choices=("state", "state_action"))


@BONUSES.register(
    "simhash",
    impl="rlrun.exploration.bonus:SimHashBonus",
    observation_spaces=frozenset({"box"}),
)
@dataclass
class SimHashBonusConfig(BonusConfig):
    """Count-based bonus beta / sqrt(n(phi(s'))) over SimHash codes phi of Box observations
    (Tang et al. 2017): `bits` random hyperplanes, fixed for the run."""

    name: str = "simhash"
    beta: float = param(0.01, ge=0)
    bits: int = param(32, gt=0, le=62)  # k: more bits, finer cells
    normalize: bool = True  # scale observations to [-1, 1] by the space's finite bounds first
