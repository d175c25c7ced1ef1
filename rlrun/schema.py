"""Typed schemas for the composed config, and the validation that turns a bad value into one line.

This module must stay free of torch and gymnasium imports: it runs on the error path, which has to
answer fast. Each agent and exploration strategy is a dataclass registered by name; an agent's
capability flags live beside its hyperparameters, so incompatible choices fail before anything is
built.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

from omegaconf import MISSING, DictConfig, OmegaConf
from omegaconf.errors import (
    ConfigKeyError,
    MissingMandatoryValue,
    OmegaConfBaseException,
    ValidationError,
)

from rlrun.errors import ConfigError


def param(
    default: Any = dataclasses.MISSING,
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    choices: tuple[Any, ...] | None = None,
    pattern: tuple[str, str] | None = None,  # (regular expression, what it accepts)
) -> Any:
    """A dataclass field whose allowed range, choices or pattern `validate` checks."""
    meta = {"ge": ge, "gt": gt, "le": le, "choices": choices, "pattern": pattern}
    return field(default=default, metadata=meta)


# --- exploration -------------------------------------------------------------------------------

SCHEDULES = ("constant", "linear", "exponential")


@dataclass
class ExplorationConfig:
    """A strategy whose value (epsilon, temperature, ...) follows a schedule from start to end.

    The decay horizon is `decay_steps` env steps when given, else `fraction` of total_timesteps.
    """

    name: str = ""
    schedule: str = param("linear", choices=SCHEDULES)
    start: float = param(1.0, ge=0)
    end: float = param(0.05, ge=0)
    fraction: float = param(0.1, gt=0, le=1)
    decay_steps: int | None = param(None, gt=0)


@dataclass
class EpsilonGreedyConfig(ExplorationConfig):
    start: float = param(1.0, ge=0, le=1)
    end: float = param(0.05, ge=0, le=1)


@dataclass
class BoltzmannConfig(ExplorationConfig):
    start: float = param(1.0, gt=0)
    end: float = param(0.1, gt=0)


@dataclass
class AutoExplorationConfig:
    """`exploration=auto`: the agent's own default strategy; any field set here overrides it."""

    name: str = "auto"
    schedule: str | None = param(None, choices=(*SCHEDULES, None))
    start: float | None = param(None, ge=0)
    end: float | None = param(None, ge=0)
    fraction: float | None = param(None, gt=0, le=1)
    decay_steps: int | None = param(None, gt=0)


@dataclass
class GaussianNoiseConfig(ExplorationConfig):
    """N(0, sigma) added to the actor's action, in units of half the action range; sigma follows
    the schedule from `start` to `end`."""

    schedule: str = param("constant", choices=SCHEDULES)
    start: float = param(0.1, ge=0)
    end: float = param(0.1, ge=0)


@dataclass
class OUNoiseConfig(GaussianNoiseConfig):
    """Ornstein-Uhlenbeck noise: temporally correlated, reset at each episode start."""

    theta: float = param(0.15, gt=0)
    dt: float = param(1e-2, gt=0)


@dataclass
class PolicySamplingConfig:
    """Explore by sampling the agent's own stochastic policy (policy-gradient agents)."""

    name: str = "policy"


EXPLORATIONS: dict[str, type] = {
    "epsilon_greedy": EpsilonGreedyConfig,
    "boltzmann": BoltzmannConfig,
    "gaussian": GaussianNoiseConfig,
    "ou": OUNoiseConfig,
    "policy": PolicySamplingConfig,
}

# --- agents --------------------------------------------------------------------------------------

ACTIVATIONS = ("relu", "tanh", "elu", "gelu", "silu")


@dataclass
class AgentConfig:
    """Base of every agent schema. Subclasses set the ClassVars through `@register_agent`."""

    name: str = ""
    impl: ClassVar[str]  # "module:Class" of the implementation, imported only when training starts
    action_spaces: ClassVar[frozenset[str]]  # "discrete" and/or "box"
    observation_spaces: ClassVar[frozenset[str]]
    explorations: ClassVar[tuple[str, ...]]  # allowed strategies; the first is `auto`'s choice
    default_exploration: ClassVar[dict[str, Any]]


AGENTS: dict[str, type[AgentConfig]] = {}


def register_agent(
    name: str,
    *,
    impl: str,
    actions: set[str],
    observations: set[str],
    explorations: tuple[str, ...],
    default_exploration: dict[str, Any],
):
    def wrap(cls: type[AgentConfig]) -> type[AgentConfig]:
        cls.impl = impl
        cls.action_spaces = frozenset(actions)
        cls.observation_spaces = frozenset(observations)
        cls.explorations = explorations
        cls.default_exploration = {"name": explorations[0], **default_exploration}
        AGENTS[name] = cls
        return cls

    return wrap


@dataclass
class TabularConfig(AgentConfig):
    learning_rate: float = param(0.1, gt=0, le=1)
    gamma: float = param(0.99, ge=0, le=1)
    init_value: float = 0.0  # optimistic initial values encourage exploration


_TABULAR = {
    "actions": {"discrete"},
    "observations": {"discrete"},
    "explorations": ("epsilon_greedy", "boltzmann"),
    "default_exploration": {
        "schedule": "linear",
        "start": 1.0,
        "end": 0.05,
        "fraction": 0.5,
    },
}


@register_agent("qlearning", impl="rlrun.agents.tabular:QLearning", **_TABULAR)
@dataclass
class QLearningConfig(TabularConfig):
    pass


@register_agent("sarsa", impl="rlrun.agents.tabular:Sarsa", **_TABULAR)
@dataclass
class SarsaConfig(TabularConfig):
    pass


@register_agent("expected_sarsa", impl="rlrun.agents.tabular:ExpectedSarsa", **_TABULAR)
@dataclass
class ExpectedSarsaConfig(TabularConfig):
    pass


@register_agent(
    "dqn",
    impl="rlrun.agents.dqn:DQN",
    actions={"discrete"},
    observations={"box", "discrete"},
    explorations=("epsilon_greedy", "boltzmann"),
    # Stable-Baselines3's DQN defaults.
    default_exploration={
        "schedule": "linear",
        "start": 1.0,
        "end": 0.05,
        "fraction": 0.1,
    },
)
@dataclass
class DQNConfig(AgentConfig):
    # Defaults are Stable-Baselines3's, so a bare `agent=dqn` behaves as SB3 users expect.
    learning_rate: float = param(1e-4, gt=0)
    gamma: float = param(0.99, ge=0, le=1)
    batch_size: int = param(32, gt=0)
    buffer_size: int = param(1_000_000, gt=0)
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


@dataclass
class OnPolicyConfig(AgentConfig):
    """What REINFORCE, A2C and PPO share: rollouts, an actor-critic, and its optimizer."""

    learning_rate: float = param(3e-4, gt=0)
    lr_schedule: str = param("constant", choices=("constant", "linear"))  # linear: to 0 at the end
    gamma: float = param(0.99, ge=0, le=1)
    gae_lambda: float = param(0.95, ge=0, le=1)
    n_steps: int = param(2048, gt=0)  # rollout length per env
    n_epochs: int = param(10, gt=0)
    batch_size: int = param(64, gt=0)  # minibatch size (rows of n_steps * num_envs)
    ent_coef: float = param(0.0, ge=0)
    vf_coef: float = param(0.5, ge=0)
    max_grad_norm: float | None = param(0.5, gt=0)
    normalize_advantage: bool = True
    optimizer: str = param("adam", choices=("adam", "rmsprop"))
    net_arch: list[int] = field(default_factory=lambda: [64, 64], metadata={"gt": 0})
    activation: str = param("tanh", choices=ACTIVATIONS)
    shared_network: bool = False  # one trunk for actor and critic, or two separate MLPs
    ortho_init: bool = True
    log_std_init: float = 0.0  # Box actions: state-independent log standard deviation
    action_bounds: str = param("clip", choices=("clip", "tanh"))  # how Box bounds are kept
    normalize_obs: bool = False  # running mean/std, frozen for evaluation, saved with the agent
    normalize_reward: bool = False  # scaled by the std of the discounted return


_ON_POLICY = {
    "actions": {"discrete", "box"},
    "observations": {"box", "discrete"},
    "explorations": ("policy",),
    "default_exploration": {},
}


@register_agent("ppo", impl="rlrun.agents.ppo:PPO", **_ON_POLICY)
@dataclass
class PPOConfig(OnPolicyConfig):
    # Defaults are Stable-Baselines3's PPO.
    clip_range: float = param(0.2, gt=0)
    clip_range_schedule: str = param("constant", choices=("constant", "linear"))
    clip_range_vf: float | None = param(None, gt=0)  # null: the value loss is not clipped
    target_kl: float | None = param(None, gt=0)  # stop the epochs early past 1.5 x this


@register_agent("a2c", impl="rlrun.agents.a2c:A2C", **_ON_POLICY)
@dataclass
class A2CConfig(OnPolicyConfig):
    # Defaults are Stable-Baselines3's A2C: one gradient step per 5-step rollout, RMSprop.
    learning_rate: float = param(7e-4, gt=0)
    gae_lambda: float = param(1.0, ge=0, le=1)
    n_steps: int = param(5, gt=0)
    n_epochs: int = param(1, gt=0)
    batch_size: int | None = param(None, gt=0)  # null: the whole rollout, one gradient step
    normalize_advantage: bool = False
    optimizer: str = param("rmsprop", choices=("adam", "rmsprop"))


@register_agent("reinforce", impl="rlrun.agents.reinforce:Reinforce", **_ON_POLICY)
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


@dataclass
class ContinuousControlConfig(AgentConfig):
    """What DDPG, TD3 and SAC share: replay, Polyak-averaged targets, actor and critics."""

    learning_rate: float = param(1e-3, gt=0)
    gamma: float = param(0.99, ge=0, le=1)
    batch_size: int = param(256, gt=0)
    buffer_size: int = param(1_000_000, gt=0)
    learning_starts: int = param(100, ge=0)  # uniform random actions until then
    train_freq: int = param(1, gt=0)
    gradient_steps: int = param(1, gt=0)
    tau: float = param(0.005, gt=0, le=1)
    net_arch: list[int] = field(default_factory=lambda: [400, 300], metadata={"gt": 0})
    activation: str = param("relu", choices=ACTIVATIONS)


_CONTINUOUS = {"actions": {"box"}, "observations": {"box"}}
_ACTION_NOISE = {
    **_CONTINUOUS,
    "explorations": ("gaussian", "ou"),
    "default_exploration": {"schedule": "constant", "start": 0.1, "end": 0.1},
}


@register_agent("ddpg", impl="rlrun.agents.ddpg:DDPG", **_ACTION_NOISE)
@dataclass
class DDPGConfig(ContinuousControlConfig):
    """Deep Deterministic Policy Gradient (Lillicrap et al. 2016); SB3's defaults."""


@register_agent("td3", impl="rlrun.agents.td3:TD3", **_ACTION_NOISE)
@dataclass
class TD3Config(ContinuousControlConfig):
    """Twin Delayed DDPG (Fujimoto et al. 2018); SB3's defaults."""

    policy_delay: int = param(2, gt=0)  # critic updates per actor (and target) update
    target_policy_noise: float = param(0.2, ge=0)  # smoothing noise on the target action
    target_noise_clip: float = param(0.5, ge=0)
    n_critics: int = param(2, gt=0)  # clipped double-Q: the minimum over the critics


@register_agent(
    "sac",
    impl="rlrun.agents.sac:SAC",
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


# --- env, eval, logger, run ----------------------------------------------------------------------

SUCCESS_RULES = ("terminated", "positive_reward", "is_success")


@dataclass
class EnvConfig:
    name: str = "custom"
    id: str = MISSING
    kwargs: dict[str, Any] = field(default_factory=dict)
    num_envs: int = param(1, gt=0)
    max_episode_steps: int | None = param(None, gt=0)  # overrides the registered time limit
    # How an episode counts as a success for eval/success_rate: terminated (reached the goal),
    # positive_reward (last reward > 0, e.g. FrozenLake), is_success (info key); null: no such metric.
    success: str | None = param(None, choices=(*SUCCESS_RULES, None))


@dataclass
class EvalConfig:
    every_steps: int = param(10_000, gt=0)
    episodes: int = param(10, gt=0)
    num_envs: int = param(8, gt=0)  # eval episodes run this many at a time
    seed: int | None = None  # default: the run's seed + 10_000, apart from training envs


@dataclass
class CheckpointConfig:
    # checkpoints/step_<N>.pt every this many env steps, and last.pt at the end; null: end only
    every_steps: int | None = param(10_000, gt=0)
    keep: int = param(3, ge=1)  # how many step_<N>.pt files to keep (last.pt is one of them)
    save_replay_buffer: bool = False  # with it, a resumed run is bit-identical to a straight one
    best: bool = True  # best.pt: the agent at its best evaluation (the final one included)


VIDEO_FORMATS = ("gif", "mp4")


@dataclass
class VideoConfig:
    every_steps: int | None = param(None, gt=0)  # record an eval episode this often
    format: str = param("gif", choices=VIDEO_FORMATS)  # mp4 needs `pip install rlrun[video]`
    fps: int = param(30, gt=0)
    max_frames: int = param(1_000, gt=0)


@dataclass
class LoggerConfig:
    log_every_steps: int = param(1_000, gt=0)  # losses and charts are averaged over this window
    progress: bool = True  # console progress bar


@dataclass
class RunConfig:
    agent: AgentConfig
    env: EnvConfig
    exploration: ExplorationConfig
    seed: int = param(0, ge=0)
    device: str = "auto"
    total_timesteps: int = param(100_000, gt=0)
    torch_threads: int = param(1, gt=0)
    eval: EvalConfig = field(default_factory=EvalConfig)
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)
    video: VideoConfig = field(default_factory=VideoConfig)
    resume: str | None = None  # a run directory to continue from its last checkpoint

    @property
    def eval_seed(self) -> int:
        """Evaluation envs (and videos) are seeded apart from the training envs."""
        return self.eval.seed if self.eval.seed is not None else self.seed + 10_000


DEVICE_PATTERN = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")

# --- validation ----------------------------------------------------------------------------------


def _build(schema: type, values: Any, prefix: str) -> Any:
    """Merge `values` into `schema`, turning OmegaConf's errors into one-line ConfigErrors."""
    if not isinstance(values, dict):
        raise ConfigError(prefix, f"expected a mapping, got {values!r}")
    try:
        merged = OmegaConf.merge(OmegaConf.structured(schema), values)
        obj = OmegaConf.to_object(merged)
    except ConfigKeyError as e:
        key = str(e.key)
        known = [f.name for f in dataclasses.fields(schema)]
        raise ConfigError(_key(prefix, key), f"unknown key{_suggest(key, known, prefix)}")
    except MissingMandatoryValue as e:
        key = _key(prefix, e.key)
        raise ConfigError(key, f"has no value; set it: {key}=<value>") from None
    except ValidationError as e:
        raise ConfigError(_key(prefix, e.key), _first_line(e)) from None
    except OmegaConfBaseException as e:
        raise ConfigError(prefix, _first_line(e)) from None
    _check_ranges(obj, prefix)
    return obj


def _suggest(key: str, known: list[str], prefix: str = "") -> str:
    """A 'did you mean' hint: a close spelling, or the name the key abbreviates (lr)."""
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.5)
    close += [k for k in known if "".join(w[0] for w in k.split("_")) == key]
    if close:
        return f"; did you mean '{_key(prefix, close[0])}'?"
    return f"; valid keys: {', '.join(known)}"


def _key(prefix: str, name: Any) -> str:
    return f"{prefix}.{name}" if prefix else str(name)


def _first_line(e: Exception) -> str:
    return str(e).strip().splitlines()[0]


def _check_ranges(obj: Any, prefix: str) -> None:
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        key = _key(prefix, f.name)
        if dataclasses.is_dataclass(value):
            _check_ranges(value, key)
            continue
        m = f.metadata
        if m.get("choices") is not None and value not in m["choices"]:
            valid = ", ".join(str(c) if c is not None else "null" for c in m["choices"])
            raise ConfigError(key, f"got {value!r}; choose one of: {valid}")
        if m.get("pattern") is not None and not re.fullmatch(m["pattern"][0], str(value)):
            raise ConfigError(key, f"got {value!r}; use {m['pattern'][1]}")
        if value is None or isinstance(value, (bool, str)):
            continue
        for item in value if isinstance(value, list) else [value]:
            if m.get("gt") is not None and not item > m["gt"]:
                raise ConfigError(key, f"must be > {m['gt']}, got {item}")
            if m.get("ge") is not None and not item >= m["ge"]:
                raise ConfigError(key, f"must be >= {m['ge']}, got {item}")
            if m.get("le") is not None and not item <= m["le"]:
                raise ConfigError(key, f"must be <= {m['le']}, got {item}")


def _lookup(registry: dict[str, type], kind: str, name: Any) -> type:
    if name not in registry:
        raise ConfigError(
            f"{kind}.name",
            f"unknown {kind} {name!r}; choose one of: {', '.join(sorted(registry))}",
        )
    return registry[name]


def resolve_exploration(agent: type[AgentConfig], values: dict[str, Any]) -> ExplorationConfig:
    """Build the exploration schema for `agent`; `auto` becomes the agent's own default."""
    if values.get("name") == "auto":
        auto = _build(AutoExplorationConfig, values, "exploration")
        overrides = {k: v for k, v in dataclasses.asdict(auto).items() if v is not None}
        values = {
            **agent.default_exploration,
            **overrides,
            "name": agent.default_exploration["name"],
        }
    # null means "not set": a preset may rename the `auto` node (exploration.name: ou) and keep
    # only the fields it sets.
    values = {k: v for k, v in values.items() if v is not None}
    name = values.get("name")
    schema = _lookup(EXPLORATIONS, "exploration", name)
    if name not in agent.explorations:
        raise ConfigError(
            "exploration",
            f"agent '{_agent_name(agent)}' cannot use exploration={name}; "
            f"choose one of: auto, {', '.join(agent.explorations)}",
        )
    return _build(schema, values, "exploration")


def _agent_name(schema: type[AgentConfig]) -> str:
    return next(name for name, cls in AGENTS.items() if cls is schema)


def unknown_key_message(key: str) -> str:
    """The one-line error for an override of a key that no config has, with a likely fix."""
    group, _, leaf = key.rpartition(".")
    if group.startswith("env.kwargs"):
        return f"{key}: not an argument this env config sets; pass it with +{key}=<value>"
    schemas = {
        "": [RunConfig],
        "agent": list(AGENTS.values()),
        "env": [EnvConfig],
        "exploration": list(EXPLORATIONS.values()),
        "eval": [EvalConfig],
        "logger": [LoggerConfig],
    }.get(group, [])
    known = sorted({f.name for schema in schemas for f in dataclasses.fields(schema)})
    return f"{key}: unknown key{_suggest(leaf, known, group) if known else ''}"


def validate(cfg: DictConfig | dict) -> RunConfig:
    """Check the composed config against the schemas; return it as typed dataclasses."""
    values = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else dict(cfg)
    values.pop("hydra", None)
    for group in ("agent", "env", "exploration"):
        if not isinstance(values.get(group), dict):
            raise ConfigError(group, f"missing config group; pass {group}=<name>")
    agent_schema = _lookup(AGENTS, "agent", values["agent"].get("name"))
    agent = _build(agent_schema, values.pop("agent"), "agent")
    env = _build(EnvConfig, values.pop("env"), "env")
    exploration = resolve_exploration(agent_schema, values.pop("exploration"))
    known = {f.name for f in dataclasses.fields(RunConfig)}
    for key in values:
        if key not in known:
            raise ConfigError(key, f"unknown key{_suggest(key, sorted(known))}")
    rest = _build(
        RunConfig,
        {**values, "agent": {}, "env": {"id": env.id}, "exploration": {}},
        "",
    )
    run = dataclasses.replace(rest, agent=agent, env=env, exploration=exploration)
    if not DEVICE_PATTERN.match(run.device):
        raise ConfigError("device", f"got {run.device!r}; use auto, cpu, cuda, cuda:N or mps")
    return run
