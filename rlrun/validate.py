"""Validation of the composed config: each component's values against its registered schema,
every problem one line naming the full key. Torch-free: it runs on the error path."""

from __future__ import annotations

import dataclasses
import importlib.util
import logging
from typing import Any

from omegaconf import DictConfig, OmegaConf

import rlrun.agents
import rlrun.exploration.config
import rlrun.networks.config
from rlrun.config.fields import build, suggest
from rlrun.config.registry import (
    AGENTS,
    BONUSES,
    ENCODERS,
    EXPLORATIONS,
    AgentConfig,
    ExplorationConfig,
)
from rlrun.config.run import (
    DEVICE_PATTERN,
    CheckpointConfig,
    EnvConfig,
    EvalConfig,
    LoggerConfig,
    RunConfig,
    VideoConfig,
)
from rlrun.errors import ConfigError
from rlrun.records import EVAL_SCALARS

log = logging.getLogger("rlrun")

# Config groups validated by their own registered schema (the rest of RunConfig by its own).
COMPONENTS = ("agent", "env", "exploration", "encoder", "bonus")


def resolve_exploration(agent: type[AgentConfig], values: dict[str, Any]) -> ExplorationConfig:
    """Build the exploration schema for `agent`; `auto` becomes the agent's own default."""
    if values.get("name") == "auto":
        auto = build(rlrun.exploration.config.AutoExplorationConfig, values, "exploration")
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
    schema = EXPLORATIONS.lookup(name, "exploration.name")
    if name not in agent.explorations:
        raise ConfigError(
            "exploration",
            f"agent '{AGENTS.name_of(agent)}' cannot use exploration={name}; "
            f"choose one of: auto, {', '.join(agent.explorations)}",
        )
    exploration: ExplorationConfig = build(schema, values, "exploration")
    return exploration


def unknown_key_message(key: str) -> str:
    """The one-line error for an override of a key that no config has, with a likely fix."""
    group, _, leaf = key.rpartition(".")
    if group.startswith("env.kwargs"):
        return f"{key}: not an argument this env config sets; pass it with +{key}=<value>"
    groups: dict[str, list[type]] = {
        "": [RunConfig],
        "agent": list(AGENTS.values()),
        "env": [EnvConfig],
        "exploration": list(EXPLORATIONS.values()),
        "encoder": list(ENCODERS.values()),
        "bonus": list(BONUSES.values()),
        "eval": [EvalConfig],
        "logger": [LoggerConfig],
        "checkpoint": [CheckpointConfig],
        "video": [VideoConfig],
    }
    schemas = groups.get(group, [])
    known = sorted({f.name for schema in schemas for f in dataclasses.fields(schema)})
    if group == "bonus" and leaf in known:  # an optional group that was not chosen
        options = sorted(
            n for n, s in BONUSES.items() if leaf in {f.name for f in dataclasses.fields(s)}
        )
        return f"{key}: no bonus is chosen; choose one first: bonus={'|'.join(options)} {key}=..."
    return f"{key}: unknown key{suggest(leaf, known, group) if known else ''}"


def validate(cfg: DictConfig | dict) -> RunConfig:
    """Check the composed config against the schemas; return it as typed dataclasses."""
    container = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else cfg
    values: dict[str, Any] = dict(container)  # type: ignore[arg-type]
    values.pop("hydra", None)
    for group in ("agent", "env", "exploration"):
        if not isinstance(values.get(group), dict):
            raise ConfigError(group, f"missing config group; pass {group}=<name>")
    agent_schema = AGENTS.lookup(values["agent"].get("name"), "agent.name")
    agent_values = values.pop("agent")
    agent = build(agent_schema, agent_values, "agent")
    env = build(EnvConfig, values.pop("env"), "env")
    check_wrappers(env)
    check_episode_metrics(env)
    exploration = resolve_exploration(agent_schema, values.pop("exploration"))
    encoder = component(ENCODERS, values.pop("encoder", None) or {"name": "auto"}, "encoder")
    if not agent_schema.uses_encoder and encoder.name != "auto":
        raise ConfigError(
            "encoder",
            f"agent '{agent.name}' has no encoder choice; drop encoder={encoder.name}",
        )
    bonus_values = values.pop("bonus", None)
    bonus = None if bonus_values is None else component(BONUSES, bonus_values, "bonus")
    known = {f.name for f in dataclasses.fields(RunConfig)}
    for key in values:
        if key not in known:
            raise ConfigError(key, f"unknown key{suggest(key, sorted(known))}")
    rest = build(RunConfig, {**values, "agent": {}, "env": {"id": env.id}, "exploration": {}}, "")
    run: RunConfig = dataclasses.replace(
        rest, agent=agent, env=env, exploration=exploration, encoder=encoder, bonus=bonus
    )
    for name, override in run.agents.items():  # each agent's config must build
        if not isinstance(override, dict) or "name" in override:
            raise ConfigError(
                f"agents.{name}",
                f"give per-agent values of agent={agent.name}'s keys, e.g. "
                f"+agents.{name}.learning_rate=0.01 (every agent runs the same algorithm)",
            )
        build(agent_schema, {**agent_values, **override}, f"agents.{name}")
    check_multiagent(run)
    check_offline(run)
    if not DEVICE_PATTERN.match(run.device):
        raise ConfigError("device", f"got {run.device!r}; use auto, cpu, cuda, cuda:N or mps")
    for warning in agent.check(run):
        log.warning(warning)
    return run


def component(registry: Any, values: Any, key: str) -> Any:
    """A registered component's config (encoder, bonus) from its group's values."""
    if not isinstance(values, dict):
        raise ConfigError(key, f"expected a mapping, got {values!r}")
    return build(registry.lookup(values.get("name"), f"{key}.name"), values, key)


def check_multiagent(run: RunConfig) -> None:
    """Multi-agent keys only with a PettingZoo env; what the multi-agent runner lacks refused."""
    if not run.multiagent:
        example = "(env.api=pettingzoo, e.g. env=simple_spread)"
        if run.agent.share_parameters:
            raise ConfigError("agent.share_parameters", f"only for multi-agent envs {example}")
        if run.agents:
            raise ConfigError("agents", f"per-agent values are only for multi-agent envs {example}")
        return
    if importlib.util.find_spec("pettingzoo") is None:
        raise ConfigError("env.api", 'multi-agent envs need PettingZoo: pip install -e ".[marl]"')
    schema = AGENTS[run.agent.name]
    if schema.runner != "online" or schema.takes_demos:
        does = "learns bandits" if schema.runner == "testbed" else "learns from demonstrations"
        raise ConfigError(
            "agent",
            f"agent '{run.agent.name}' {does}; multi-agent envs take agents such as qlearning, "
            "dqn, ppo or sac",
        )
    if run.agent.share_parameters and run.agents:
        raise ConfigError(
            "agents",
            "agent.share_parameters=true trains one learner for all agents; per-agent values "
            "need independent learners (agent.share_parameters=false)",
        )
    unsupported = {
        "env.wrappers": run.env.wrappers,
        "env.max_episode_steps": run.env.max_episode_steps,
        "env.success": run.env.success,
        "env.episode_metrics": run.env.episode_metrics,
        "bonus": run.bonus,
        "demos": run.demos,
        "reward": run.reward,
    }
    for key, value in unsupported.items():
        if value:
            raise ConfigError(key, "not available for multi-agent (PettingZoo) envs yet; drop it")
    if run.env.vectorization != "sync":
        raise ConfigError("env.vectorization", "multi-agent envs step in this process: use sync")


def check_offline(run: RunConfig) -> None:
    """`demos=` only for a learner that takes demonstrations, which then takes no reward or
    bonus (it learns from them, not the env's reward); `reward=` only in the online loop."""
    runner = AGENTS[run.agent.name].runner
    if run.demos is not None and not AGENTS[run.agent.name].takes_demos:
        takers = sorted(name for name, cls in AGENTS.items() if cls.takes_demos)
        raise ConfigError(
            "demos",
            f"agent '{run.agent.name}' does not learn from demonstrations; drop demos= or "
            f"choose an agent that does: {', '.join(takers)}",
        )
    if AGENTS[run.agent.name].takes_demos:
        for key in ("reward", "bonus"):
            if getattr(run, key) is not None:
                raise ConfigError(
                    key,
                    f"agent '{run.agent.name}' learns from its demonstrations, not the env's "
                    f"reward; drop {key}=",
                )
    if run.reward is not None and runner != "online":
        raise ConfigError(
            "reward", f"agent '{run.agent.name}' runs in the {runner} loop; drop reward="
        )


# The loop's own charts/<name> and eval/<name> tags, which an env.episode_metrics key would write
# into (a second series on one TensorBoard chart).
LOOP_TAGS = frozenset(
    {"episodic_return", "episodic_length", "SPS", "intrinsic_reward", *EVAL_SCALARS}
)


def check_episode_metrics(env: EnvConfig) -> None:
    for i, key in enumerate(env.episode_metrics):
        if key in LOOP_TAGS:
            raise ConfigError(
                f"env.episode_metrics[{i}]",
                f"{key!r} would be logged over rlrun's own charts/{key} or eval/{key}; rename it "
                "in the env's info (a gymnasium.Wrapper in env.wrappers) and list that name",
            )


def check_wrappers(env: EnvConfig) -> None:
    for i, wrapper in enumerate(env.wrappers):
        target = wrapper.get("_target_") if isinstance(wrapper, dict) else None
        if not isinstance(target, str) or not target:
            raise ConfigError(
                f"env.wrappers[{i}]",
                "give each wrapper as {_target_: module.Class, <its kwargs>}, "
                "e.g. {_target_: gymnasium.wrappers.ClipReward, min_reward: -1, max_reward: 1}",
            )
