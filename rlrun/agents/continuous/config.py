"""Configs of the continuous-control learners (torch-free: read on the config-error path)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rlrun.config.checks import check_replay
from rlrun.config.fields import ACTIVATIONS, param
from rlrun.config.registry import AgentConfig, register_agent
from rlrun.config.run import RunConfig


@dataclass
class ContinuousControlConfig(AgentConfig):
    """What DDPG, TD3 and SAC share: replay, Polyak-averaged targets, actor and critics."""

    learning_rate: float = param(1e-3, gt=0)
    gamma: float = param(0.99, ge=0, le=1)
    batch_size: int = param(256, gt=0)
    buffer_size: int = param(1_000_000, gt=0)
    optimize_memory_usage: bool = False  # each observation stored once (SB3's name)
    learning_starts: int = param(100, ge=0)  # uniform random actions until then
    train_freq: int = param(1, gt=0)
    gradient_steps: int = param(1, gt=0)
    tau: float = param(0.005, gt=0, le=1)
    net_arch: list[int] = field(default_factory=lambda: [400, 300], metadata={"gt": 0})
    activation: str = param("relu", choices=ACTIVATIONS)

    def check(self, run: RunConfig) -> list[str]:
        return check_replay(self, run)


# Their networks take the flattened Box observation: no encoder choice (yet).
_CONTINUOUS: dict[str, Any] = {"actions": {"box"}, "observations": {"box"}, "uses_encoder": False}
_ACTION_NOISE: dict[str, Any] = {
    **_CONTINUOUS,
    "explorations": ("gaussian", "ou"),
    "default_exploration": {"schedule": "constant", "start": 0.1, "end": 0.1},
}


@register_agent("ddpg", impl="rlrun.agents.continuous.ddpg:DDPG", **_ACTION_NOISE)
@dataclass
class DDPGConfig(ContinuousControlConfig):
    """Deep Deterministic Policy Gradient (Lillicrap et al. 2016); SB3's defaults."""


@register_agent("td3", impl="rlrun.agents.continuous.td3:TD3", **_ACTION_NOISE)
@dataclass
class TD3Config(ContinuousControlConfig):
    """Twin Delayed DDPG (Fujimoto et al. 2018); SB3's defaults."""

    policy_delay: int = param(2, gt=0)  # critic updates per actor (and target) update
    target_policy_noise: float = param(0.2, ge=0)  # smoothing noise on the target action
    target_noise_clip: float = param(0.5, ge=0)
    n_critics: int = param(2, gt=0)  # clipped double-Q: the minimum over the critics


@register_agent(
    "sac",
    impl="rlrun.agents.continuous.sac:SAC",
    explorations=("policy",),
    default_exploration={},
    **_CONTINUOUS,
)
@dataclass
class SACConfig(ContinuousControlConfig):
    """Soft Actor-Critic (Haarnoja et al. 2018); SB3's defaults."""

    learning_rate: float = param(3e-4, gt=0)
    net_arch: list[int] = field(default_factory=lambda: [256, 256], metadata={"gt": 0})
    # "auto": learned, starting at 1; "auto_0.1": learned, starting at 0.1; "0.2": fixed
    ent_coef: str = param(
        "auto",
        pattern=(r"auto(_[0-9.eE+-]+)?|[0-9.eE+-]+", "auto, auto_<init> or a number"),
    )
    target_entropy: float | None = None  # null: -dim(action space)
    target_update_interval: int = param(1, gt=0)  # gradient steps between target updates
    n_critics: int = param(2, gt=0)
    # gSDE (Raffin et al. 2021), SB3's SAC switches: noise h(s) @ W, W per env resampled at
    # each train_freq block and every sde_sample_freq steps; log_std_init is W's (gSDE only)
    use_sde: bool = False
    sde_sample_freq: int = param(-1, ge=-1)  # -1: once per train_freq block
    log_std_init: float = -3.0
    full_std: bool = True
    use_expln: bool = False
    use_sde_at_warmup: bool = False  # gSDE instead of uniform actions before learning_starts
