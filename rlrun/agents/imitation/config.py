"""Configs of the learners that learn from demonstrations (torch-free: read on the config-error
path). They need `demos=<file>`: MCE IRL learns from them alone in the offline loop
(rlrun/runners/offline.py), GAIL beside its own env steps in the online one."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rlrun.agents.continuous.config import SACConfig
from rlrun.config.fields import ACTIVATIONS, param
from rlrun.config.registry import AgentConfig, register_agent
from rlrun.errors import ConfigError

if TYPE_CHECKING:
    from rlrun.config.run import RunConfig

REWARD_INPUTS = ("next_state", "state_action")


@register_agent(
    "mce_irl",
    impl="rlrun.agents.imitation.mce_irl:MCEIRL",
    actions={"discrete"},
    observations={"discrete"},
    explorations=("policy",),
    default_exploration={},
    runner="offline",
    uses_encoder=False,
    takes_demos=True,
)
@dataclass
class MCEIRLConfig(AgentConfig):
    """Maximum-causal-entropy IRL (Ziebart 2010) on a tabular env whose dynamics are known: a
    reward r(s') of arriving in s' (or r(s, a)) fitted by Adam until the soft-optimal policy's
    discounted occupancy matches the demonstrations'. `net_arch: []` is a linear reward on
    one-hot states (MaxEnt IRL); hidden layers make it deep MaxEnt IRL (Wulfmeier et al. 2015).
    One update = one gradient step; `total_timesteps` counts them."""

    # Adam's. null: 1.0 for the linear reward, 0.01 with hidden layers (1.0 kills their units).
    # A deterministic expert's optimum lies at infinitely large rewards: big steps get there,
    # and the linear decay stops them overshooting a stochastic expert's.
    learning_rate: float | None = param(None, gt=0)
    lr_schedule: str = param("linear", choices=("constant", "linear"))  # linear: to 0 at the end
    gamma: float = param(0.99, ge=0, le=0.9999)  # < 1: occupancies are finite
    reward_input: str = param("next_state", choices=REWARD_INPUTS)
    net_arch: list[int] = field(default_factory=list, metadata={"gt": 0})
    # soft policy iteration stops once V moves less than this times its size
    tolerance: float = param(1e-10, gt=0)

    @property
    def adam_lr(self) -> float:
        if self.learning_rate is not None:
            return self.learning_rate
        return 0.01 if self.net_arch else 1.0

    def check(self, run: RunConfig) -> list[str]:
        require_demos(self.name, run)
        return []


def require_demos(name: str, run: RunConfig) -> None:
    if run.demos is None:
        raise ConfigError(
            "demos",
            f"agent={name} learns from demonstrations: record them with "
            "rlrun-demos <run_dir> episodes=N, then pass demos=<run_dir>/demos.npz",
        )


@register_agent(
    "gail",
    impl="rlrun.agents.imitation.gail:GAIL",
    actions={"box"},
    observations={"box"},
    explorations=("policy",),
    default_exploration={},
    uses_encoder=False,
    takes_demos=True,
)
@dataclass
class GAILConfig(SACConfig):
    """Adversarial imitation (GAIL, Ho & Ermon 2016) off-policy, on SAC, as in
    Discriminator-Actor-Critic (Kostrikov et al. 2019): a discriminator D(s, a) learns to tell
    the demonstrations from replay (cross-entropy, with a gradient penalty on interpolates), and
    SAC learns from its reward log D - log(1 - D) instead of the env's. One discriminator step
    per SAC gradient step. DAC's discriminator: two tanh layers of 100, Adam 1e-3, penalty 10."""

    disc_net_arch: list[int] = field(default_factory=lambda: [100, 100], metadata={"gt": 0})
    disc_activation: str = param("tanh", choices=ACTIVATIONS)
    disc_learning_rate: float = param(1e-3, gt=0)
    disc_gradient_penalty: float = param(10.0, ge=0)

    def check(self, run: RunConfig) -> list[str]:
        require_demos(self.name, run)
        return super().check(run)
