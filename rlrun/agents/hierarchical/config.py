"""Configs of the options learners (torch-free: read on the config-error path)."""

from __future__ import annotations

from dataclasses import dataclass, field

from rlrun.agents.tabular.config import TabularConfig, register_tabular
from rlrun.config.checks import check_replay
from rlrun.config.fields import ACTIVATIONS, OPTIMIZERS, param
from rlrun.config.registry import AgentConfig, register_agent
from rlrun.config.run import RunConfig

# Sutton, Precup & Singh (1999), section 3's four-rooms experiments: epsilon-greedy at 0.1.
PAPER_EPSILON = {"schedule": "constant", "start": 0.1, "end": 0.1}
EXPLORATIONS = ("epsilon_greedy", "boltzmann")


@dataclass
class OptionsConfig(TabularConfig):
    """A table Q(s, o) over options, chosen epsilon-greedily among those whose initiation set
    holds s and run until they terminate (call-and-return); deterministic evaluation runs the
    greedy option likewise, ending it where beta_o >= 1/2. `options`: `module:function`
    returning the env's OptionSet (rlrun/envs/options.py), null for none; `primitive`: the
    env's actions as one-step options too."""

    gamma: float = param(0.9, ge=0, le=1)  # the paper's
    options: str | None = "rlrun.envs.four_rooms:hallway_options"
    primitive: bool = True


@register_tabular(
    "smdp_q", "rlrun.agents.hierarchical.options_q:SMDPQLearning", PAPER_EPSILON, EXPLORATIONS
)
@dataclass
class SMDPQLearningConfig(OptionsConfig):
    """SMDP Q-learning (Bradtke & Duff 1995; SPS99 section 3): when option o, started in s,
    ends in s' after k steps with discounted return r, Q(s, o) += lr (r + gamma^k
    max_o' Q(s', o') - Q(s, o))."""


@register_tabular(
    "intra_option_q",
    "rlrun.agents.hierarchical.options_q:IntraOptionQLearning",
    PAPER_EPSILON,
    EXPLORATIONS,
)
@dataclass
class IntraOptionQLearningConfig(OptionsConfig):
    """Intra-option Q-learning (SPS99 section 6): after every step (s, a, r, s'), each option o
    that could have taken a in s learns Q(s, o) += lr (r + gamma U(s', o) - Q(s, o)), with
    U(s', o) = (1 - beta_o(s')) Q(s', o) + beta_o(s') max_o' Q(s', o')."""


# The four-rooms code of the option-critic paper (Bacon, Harb & Precup 2017), as public
# reproductions of it carry its defaults: epsilon 0.01 over options, constant.
OPTION_CRITIC_EPSILON = {"schedule": "constant", "start": 0.01, "end": 0.01}


@register_tabular(
    "option_critic",
    "rlrun.agents.hierarchical.option_critic:OptionCritic",
    OPTION_CRITIC_EPSILON,
    EXPLORATIONS,
)
@dataclass
class OptionCriticConfig(TabularConfig):
    """Tabular option-critic (Bacon, Harb & Precup 2017): `n_options` options learned end to end,
    each a softmax policy over actions (preferences / `temperature`) and a sigmoid termination,
    chosen epsilon-greedily by Q(s, o). Critic: intra-option Q-learning of Q(s, o) and Q(s, o, a)
    at `learning_rate`; intra-option policy gradient at `intra_lr` (with Q(s, o) as baseline);
    termination gradient at `termination_lr` along -(Q(s', o) - V(s') + `deliberation_cost`).
    With one option (`n_options=1`) switching changes nothing: it is flat actor-critic."""

    learning_rate: float = param(0.5, gt=0, le=1)  # the critic's
    gamma: float = param(0.99, ge=0, le=1)
    n_options: int = param(4, gt=0)
    intra_lr: float = param(0.25, gt=0)
    termination_lr: float = param(0.25, ge=0)  # 0: the terminations stay at 1/2
    temperature: float = param(0.01, gt=0)
    deliberation_cost: float = 0.0  # xi: > 0 favours longer options (Harb et al. 2018)
    baseline: bool = True


@register_agent(
    "deep_option_critic",
    impl="rlrun.agents.hierarchical.deep_option_critic:DeepOptionCritic",
    actions={"discrete"},
    observations={"box", "discrete", "image"},
    explorations=("epsilon_greedy", "boltzmann"),
    # the reference's epsilon over options, 0.1 + 0.9 exp(-t / 20,000), as a geometric decay to
    # 0.1 at 60k steps (never more than 0.045 from it)
    default_exploration={"schedule": "exponential", "start": 1.0, "end": 0.1, "decay_steps": 60000},
)
@dataclass
class DeepOptionCriticConfig(AgentConfig):
    """Option-critic with function approximation (Bacon, Harb & Precup 2017, section 5), with the
    defaults of the public PyTorch reference implementation's CartPole runs
    (lweitkamp/option-critic-pytorch; it takes the termination gradient at s, rlrun at s' as the
    paper's Algorithm 1 does): one network (encoder, trunk `net_arch`) with heads Q(s, .)
    over `n_options` options, sigmoid terminations and softmax intra-option policies
    (logits / `temperature`). Every env step after `learning_starts`, one optimiser step on the
    actor loss of that step (intra-option policy gradient with advantage g - Q(s, o), minus
    `ent_coef` x entropy; termination gradient beta_o(s') (Q(s', o) - V(s') +
    `deliberation_cost`)), plus, every `train_freq` steps, the critic's loss on a replay
    minibatch: 1/2 (Q(s, o) - g)^2 with g = r + gamma U(s', o) from a target network copied
    every `target_update_interval` steps."""

    learning_rate: float = param(5e-4, gt=0)
    optimizer: str = param("rmsprop", choices=OPTIMIZERS)  # PyTorch's RMSprop, as the reference
    gamma: float = param(0.99, ge=0, le=1)
    n_options: int = param(2, gt=0)
    batch_size: int = param(32, gt=0)
    buffer_size: int = param(10_000, gt=0)
    optimize_memory_usage: bool = False  # each frame of frame-stacked pixels stored once
    learning_starts: int = param(32, ge=0)  # the reference starts once the buffer holds a batch
    train_freq: int = param(4, gt=0)  # env steps between the critic's minibatch updates
    target_update_interval: int = param(200, gt=0)  # env steps between target copies
    temperature: float = param(1.0, gt=0)  # of the options' policies over actions
    ent_coef: float = param(0.01, ge=0)
    deliberation_cost: float = 0.01  # xi (the reference's termination_reg): > 0, longer options
    max_grad_norm: float | None = param(None, gt=0)  # null: no clipping, as the reference
    net_arch: list[int] = field(default_factory=lambda: [32, 64], metadata={"gt": 0})
    activation: str = param("relu", choices=ACTIVATIONS)

    def check(self, run: RunConfig) -> list[str]:
        return check_replay(self, run)
