"""DQN's config (torch-free: read on the config-error path)."""

from __future__ import annotations

from dataclasses import dataclass, field

from rlrun.config.checks import check_replay
from rlrun.config.fields import ACTIVATIONS, param
from rlrun.config.registry import AgentConfig, register_agent
from rlrun.config.run import RunConfig
from rlrun.errors import ConfigError


@register_agent(
    "dqn",
    impl="rlrun.agents.value.dqn:DQN",
    actions={"discrete"},
    observations={"box", "discrete", "image"},
    explorations=("epsilon_greedy", "boltzmann"),
    # Stable-Baselines3's DQN defaults.
    default_exploration={"schedule": "linear", "start": 1.0, "end": 0.05, "fraction": 0.1},
)
@dataclass
class DQNConfig(AgentConfig):
    # Defaults are Stable-Baselines3's, so a bare `agent=dqn` behaves as SB3 users expect.
    learning_rate: float = param(1e-4, gt=0)
    gamma: float = param(0.99, ge=0, le=1)
    batch_size: int = param(32, gt=0)
    buffer_size: int = param(1_000_000, gt=0)
    # Each observation stored once, and each frame of frame-stacked pixels once (SB3's name)
    optimize_memory_usage: bool = False
    learning_starts: int = param(100, ge=0)
    train_freq: int = param(4, gt=0)  # env steps between training bursts
    gradient_steps: int = param(1, gt=0)  # gradient steps per burst
    target_update_interval: int = param(10_000, gt=0)  # env steps between target updates
    tau: float = param(1.0, gt=0, le=1)  # 1 = hard copy, < 1 = Polyak averaging
    double_q: bool = False
    loss: str = param("huber", choices=("huber", "mse"))
    max_grad_norm: float | None = param(10.0, gt=0)  # null disables clipping
    net_arch: list[int] = field(default_factory=lambda: [64, 64], metadata={"gt": 0})
    activation: str = param("relu", choices=ACTIVATIONS)
    # Rainbow-style improvements, each a switch (Hessel et al. 2018):
    dueling: bool = False  # separate V and A heads (Wang et al. 2016)
    n_step: int = param(1, gt=0)  # n-step returns, cut short at episode ends
    prioritized_replay: bool = False  # proportional PER (Schaul et al. 2016)
    prioritized_alpha: float = param(0.6, ge=0)  # how much priorities count (0: uniform)
    prioritized_beta: float = param(0.4, ge=0, le=1)  # IS-weight exponent, annealed to 1

    def check(self, run: RunConfig) -> list[str]:
        warnings = check_replay(self, run)
        needs_next_obs = {"n_step": self.n_step > 1, "prioritized_replay": self.prioritized_replay}
        for key, on in needs_next_obs.items():
            if on and self.optimize_memory_usage:
                raise ConfigError(
                    f"agent.{key}",
                    "needs a replay buffer that stores next observations: with it, set "
                    "agent.optimize_memory_usage=false",
                )
        if self.n_step > self.buffer_size:
            raise ConfigError(
                "agent.n_step",
                f"{self.n_step} is larger than agent.buffer_size={self.buffer_size}: an n-step "
                "return cannot span more transitions than the buffer holds",
            )
        if self.target_update_interval > run.total_timesteps:
            warnings.append(
                f"agent.target_update_interval={self.target_update_interval} > total_timesteps="
                f"{run.total_timesteps}: the target network is never updated"
            )
        return warnings


@register_agent(
    "bootstrapped_dqn",
    impl="rlrun.agents.value.bootstrapped:BootstrappedDQN",
    actions={"discrete"},
    observations={"box", "discrete", "image"},
    explorations=("epsilon_greedy", "boltzmann"),
    # the heads explore: greedy w.r.t. the episode's head, as the papers and bsuite's agent
    default_exploration={"schedule": "constant", "start": 0.0, "end": 0.0},
)
@dataclass
class BootstrappedDQNConfig(DQNConfig):
    """DQN with `n_heads` bootstrapped Q-heads (Osband et al. 2016): each transition is in a
    head's sample with probability `mask_prob`; each episode follows one head; `prior_scale` >
    0 adds a fixed random prior to every head (Osband et al. 2018). The rest is DQN's."""

    n_heads: int = param(10, gt=0)
    mask_prob: float = param(0.5, gt=0, le=1)
    prior_scale: float = param(0.0, ge=0)
    # One norm over all heads would let one head's large errors shrink every head's step (the
    # papers and bsuite train the heads apart): none by default.
    max_grad_norm: float | None = param(None, gt=0)

    def check(self, run: RunConfig) -> list[str]:
        for key, on in (("prioritized_replay", self.prioritized_replay), ("dueling", self.dueling)):
            if on:
                raise ConfigError(
                    f"agent.{key}",
                    "bootstrapped_dqn has plain heads sampled uniformly; set it to false, or use "
                    "agent=dqn",
                )
        return super().check(run)
