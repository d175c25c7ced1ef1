"""Configs of the on-policy learners (torch-free: read on the config-error path)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from rlrun.config.checks import check_rollout
from rlrun.config.fields import ACTIVATIONS, OPTIMIZERS, param
from rlrun.config.registry import AgentConfig, register_agent
from rlrun.config.run import RunConfig
from rlrun.errors import ConfigError


@dataclass
class OnPolicyConfig(AgentConfig):
    """What REINFORCE, A2C and PPO share: rollouts, an actor-critic, and its optimizer."""

    learning_rate: float = param(3e-4, gt=0)
    lr_schedule: str = param("constant", choices=("constant", "linear"))  # linear: to 0 at the end
    gamma: float = param(0.99, ge=0, le=1)
    gae_lambda: float = param(0.95, ge=0, le=1)
    n_steps: int = param(2048, gt=0)  # rollout length per env
    n_epochs: int = param(10, gt=0)
    batch_size: int | None = param(64, gt=0)  # minibatch rows (of n_steps * num_envs); null: all
    ent_coef: float = param(0.0, ge=0)
    vf_coef: float = param(0.5, ge=0)
    max_grad_norm: float | None = param(0.5, gt=0)
    normalize_advantage: bool = True
    optimizer: str = param("adam", choices=OPTIMIZERS)
    net_arch: list[int] = field(default_factory=lambda: [64, 64], metadata={"gt": 0})
    activation: str = param("tanh", choices=ACTIVATIONS)
    shared_network: bool = False  # one trunk for actor and critic, or two separate MLPs
    ortho_init: bool = True
    log_std_init: float = 0.0  # Box actions: state-independent log standard deviation
    action_bounds: str = param("clip", choices=("clip", "tanh"))  # how Box bounds are kept
    normalize_obs: bool = False  # running mean/std, frozen for evaluation, saved with the agent
    normalize_reward: bool = False  # scaled by the std of the discounted return
    # gSDE (Raffin et al. 2021), Box actions: state-dependent exploration, SB3's switches
    use_sde: bool = False
    sde_sample_freq: int = param(-1, ge=-1)  # new noise matrices every n steps; -1: per rollout
    full_std: bool = True  # a std per (feature, action); false: per feature
    use_expln: bool = False  # std = expln(log_std): grows like log above 0, not exp

    def check(self, run: RunConfig) -> list[str]:
        return check_rollout(self, run)


_ON_POLICY: dict[str, Any] = {
    "actions": {"discrete", "box"},
    "observations": {"box", "discrete", "image"},
    "explorations": ("policy",),
    "default_exploration": {},
}


@register_agent("ppo", impl="rlrun.agents.onpolicy.ppo:PPO", **_ON_POLICY)
@dataclass
class PPOConfig(OnPolicyConfig):
    # Defaults are Stable-Baselines3's PPO.
    clip_range: float = param(0.2, gt=0)
    clip_range_schedule: str = param("constant", choices=("constant", "linear"))
    clip_range_vf: float | None = param(None, gt=0)  # null: the value loss is not clipped
    target_kl: float | None = param(None, gt=0)  # stop the epochs early past 1.5 x this


@register_agent("a2c", impl="rlrun.agents.onpolicy.a2c:A2C", **_ON_POLICY)
@dataclass
class A2CConfig(OnPolicyConfig):
    # Defaults are Stable-Baselines3's A2C: one gradient step per 5-step rollout, RMSprop.
    learning_rate: float = param(7e-4, gt=0)
    gae_lambda: float = param(1.0, ge=0, le=1)
    n_steps: int = param(5, gt=0)
    n_epochs: int = param(1, gt=0)
    batch_size: int | None = param(None, gt=0)  # null: the whole rollout, one gradient step
    normalize_advantage: bool = False
    optimizer: str = param("rmsprop", choices=OPTIMIZERS)


@register_agent("reinforce", impl="rlrun.agents.onpolicy.reinforce:Reinforce", **_ON_POLICY)
@dataclass
class ReinforceConfig(OnPolicyConfig):
    """Monte-Carlo policy gradient. With `baseline`, a learned V(s) is subtracted from the
    return and bootstraps the unfinished episode at the end of a rollout; without it, the steps of
    an unfinished episode are left out of the update."""

    learning_rate: float = param(1e-3, gt=0)
    gae_lambda: float = param(1.0, ge=1, le=1)  # Monte-Carlo returns
    n_steps: int = param(1024, gt=0)
    n_epochs: int = param(1, gt=0)
    batch_size: int | None = param(None, gt=0)
    baseline: bool = True


@register_agent("trpo", impl="rlrun.agents.onpolicy.trpo:TRPO", **_ON_POLICY)
@dataclass
class TRPOConfig(OnPolicyConfig):
    """Trust Region Policy Optimization (Schulman et al. 2015); sb3-contrib's defaults. The policy
    takes one natural-gradient step per rollout (conjugate gradient on Fisher-vector products,
    then a backtracking line search within `target_kl`); the value function is fitted apart, by
    Adam at `learning_rate` for `n_critic_updates` epochs of `batch_size` minibatches."""

    learning_rate: float = param(1e-3, gt=0)
    batch_size: int | None = param(128, gt=0)
    # the trust region: the mean over states of KL(old || new), the KL of the whole action
    # distribution (summed over a Box's dimensions, as the paper and Spinning Up have it);
    # sb3-contrib averages its Gaussian KL over the d dimensions too, so its target_kl and
    # cg_damping are d times smaller than the same step here
    target_kl: float = param(0.01, gt=0)
    cg_max_steps: int = param(15, gt=0)
    cg_damping: float = param(0.1, ge=0)  # F + damping * I keeps the solve well-posed
    line_search_shrinking_factor: float = param(0.8, gt=0)
    line_search_max_iter: int = param(10, gt=0)
    n_critic_updates: int = param(10, gt=0)
    # what the other on-policy agents use and TRPO does not (sb3-contrib fixes them likewise)
    n_epochs: int = param(1, gt=0)
    ent_coef: float = param(0.0, ge=0)
    vf_coef: float = param(0.0, ge=0)
    max_grad_norm: float | None = param(None, gt=0)

    UNUSED: ClassVar[dict[str, Any]] = {
        "n_epochs": 1,
        "ent_coef": 0.0,
        "vf_coef": 0.0,
        "max_grad_norm": None,
        "optimizer": "adam",
        "shared_network": False,
    }

    def check(self, run: RunConfig) -> list[str]:
        for key, value in self.UNUSED.items():
            if getattr(self, key) != value:
                raise ConfigError(
                    f"agent.{key}",
                    f"TRPO does not use it (got {getattr(self, key)!r}); leave it at "
                    f"{'null' if value is None else str(value).lower()}",
                )
        return super().check(run)
