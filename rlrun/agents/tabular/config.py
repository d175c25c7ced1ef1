"""Configs of the tabular learners, TD control and bandits (torch-free: read on the
config-error path)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rlrun.config.fields import param
from rlrun.config.registry import AgentConfig, register_agent
from rlrun.errors import ConfigError

if TYPE_CHECKING:
    from rlrun.config.run import RunConfig


@dataclass
class TabularConfig(AgentConfig):
    learning_rate: float = param(0.1, gt=0, le=1)
    gamma: float = param(0.99, ge=0, le=1)
    init_value: float = 0.0  # optimistic initial values encourage exploration


DECAYING_EPSILON = {"schedule": "linear", "start": 1.0, "end": 0.05, "fraction": 0.5}


def register_tabular(
    name: str,
    impl: str,
    exploration: dict[str, Any] = DECAYING_EPSILON,
    explorations: tuple[str, ...] = ("epsilon_greedy", "boltzmann", "ucb"),
    runner: str = "online",
) -> Callable[[type], type]:
    return register_agent(
        name,
        impl=impl,
        actions={"discrete"},
        observations={"discrete"},
        explorations=explorations,
        default_exploration=exploration,
        runner=runner,
        uses_encoder=False,
    )


@register_tabular("qlearning", "rlrun.agents.tabular.td:QLearning")
@dataclass
class QLearningConfig(TabularConfig):
    pass


@register_tabular("sarsa", "rlrun.agents.tabular.td:Sarsa")
@dataclass
class SarsaConfig(TabularConfig):
    pass


@register_tabular("expected_sarsa", "rlrun.agents.tabular.td:ExpectedSarsa")
@dataclass
class ExpectedSarsaConfig(TabularConfig):
    pass


# Sutton & Barto (2nd ed.), chapter 8: Example 8.1 (figure 8.2) takes alpha = 0.1, gamma = 0.95 and
# epsilon = 0.1 throughout; n = 5 is its middle curve and the reproduction's default
# (ShangtongZhang/reinforcement-learning-an-introduction, chapter08/maze.py, DynaParams).
BOOK_EPSILON = {"schedule": "constant", "start": 0.1, "end": 0.1}


@register_tabular("dyna_q", "rlrun.agents.tabular.dyna:DynaQ", BOOK_EPSILON)
@dataclass
class DynaQConfig(TabularConfig):
    """Tabular Dyna-Q: a Q-learning update per real step, then `planning_steps` updates from the
    learned model per real transition."""

    gamma: float = param(0.95, ge=0, le=1)
    planning_steps: int = param(5, ge=0)  # n; 0 is Q-learning


@register_tabular("dyna_q_plus", "rlrun.agents.tabular.dyna:DynaQPlus", BOOK_EPSILON)
@dataclass
class DynaQPlusConfig(DynaQConfig):
    """Dyna-Q+: planning rewards get kappa * sqrt(tau), tau = real steps since (s, a) was tried.
    kappa: the reproduction's 1e-3 for the shortcut maze (1e-4 for the blocking maze; the book
    gives none)."""

    kappa: float = param(1e-3, ge=0)


@register_tabular(
    "prioritized_sweeping", "rlrun.agents.tabular.dyna:PrioritizedSweeping", BOOK_EPSILON
)
@dataclass
class PrioritizedSweepingConfig(DynaQConfig):
    """Prioritized sweeping: up to `planning_steps` model updates per real step, of the pairs
    whose value would change most; theta: the reproduction's 1e-4 (Example 8.4)."""

    planning_steps: int = param(5, gt=0)  # every value update is a planning one: 0 learns nothing
    theta: float = param(1e-4, ge=0)


# --- bandits (Sutton & Barto chapter 2): one problem per vector env, run by the testbed runner ---


def register_bandit(
    name: str, impl: str, explorations: tuple[str, ...], default: dict[str, Any]
) -> Callable[[type], type]:
    return register_tabular(name, impl, default, explorations, runner="testbed")


def check_testbed(run: RunConfig) -> list[str]:
    """The testbed runs each of env.num_envs problems for total_timesteps / env.num_envs steps."""
    if run.total_timesteps < run.env.num_envs:
        raise ConfigError(
            "total_timesteps",
            f"{run.total_timesteps} is less than one step of each of env.num_envs="
            f"{run.env.num_envs} problems; use steps per problem x env.num_envs",
        )
    if run.total_timesteps % run.env.num_envs:
        steps = run.total_timesteps // run.env.num_envs
        return [
            f"total_timesteps={run.total_timesteps} is not a multiple of env.num_envs="
            f"{run.env.num_envs}: each problem runs {steps} steps"
        ]
    return []


@register_bandit(
    "action_value",
    "rlrun.agents.tabular.bandits:ActionValue",
    ("epsilon_greedy", "ucb", "thompson", "boltzmann"),
    {"schedule": "constant", "start": 0.1},
)
@dataclass
class ActionValueConfig(AgentConfig):
    """Action-value estimates per arm (section 2.4): Q(a) += lr (R - Q(a)), with lr = 1/N(a)
    (the sample average) when learning_rate is null, constant otherwise (section 2.5, for
    nonstationary problems); init_value > 0 is optimistic (section 2.6)."""

    learning_rate: float | None = param(None, gt=0, le=1)
    init_value: float = 0.0

    def check(self, run: RunConfig) -> list[str]:
        beta = getattr(run.exploration, "posterior", None) == "beta"
        if beta and run.env.kwargs.get("distribution", "gaussian") != "bernoulli":
            raise ConfigError(
                "exploration.posterior",
                "beta needs 0/1 rewards (Bernoulli arms), but this testbed's are gaussian; "
                "use exploration.posterior=gaussian, or env=bernoulli_bandit",
            )
        warnings = check_testbed(run)
        if run.exploration.name == "thompson" and (
            self.learning_rate is not None or self.init_value != 0
        ):
            warnings.append(
                "exploration=thompson acts on its own posteriors (stationary arms): "
                "agent.learning_rate and agent.init_value change nothing it does"
            )
        return warnings


@register_bandit("gradient_bandit", "rlrun.agents.tabular.bandits:GradientBandit", ("policy",), {})
@dataclass
class GradientBanditConfig(AgentConfig):
    """Softmax over action preferences H(a), moved by stochastic gradient ascent on the expected
    reward (section 2.8): H(a) += lr (R_t - baseline) (1[a = A_t] - pi(a)), the baseline the
    average of the rewards before step t (R_1 at t = 1), or 0 with baseline=false."""

    learning_rate: float = param(0.1, gt=0)
    baseline: bool = True

    def check(self, run: RunConfig) -> list[str]:
        return check_testbed(run)
