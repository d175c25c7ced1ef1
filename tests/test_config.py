"""Config composition and validation: every pair builds or fails with its documented error."""

from pathlib import Path

import gymnasium as gym
import pytest
import torch

from rlrun.agents.base import check_compatible, make_agent
from rlrun.agents.hierarchical.config import OptionsConfig
from rlrun.agents.team import make_team
from rlrun.config.registry import AGENTS
from rlrun.envs.spaces import space_kind
from rlrun.envs.vector import frame_stack, make_vec_env
from rlrun.errors import ConfigError
from rlrun.runners.multiagent import make_parallel_vec_env
from rlrun.transition import Spaces
from rlrun.validate import validate

from .conftest import ROOT, compose_config

ENVS = sorted(p.stem for p in (ROOT / "conf" / "env").glob("*.yaml"))


def test_conf_lists_every_registered_agent():
    assert {p.stem for p in (ROOT / "conf" / "agent").glob("*.yaml")} == set(AGENTS)


# The default option set (four rooms' hallways) on another env's states
OPTIONS_ELSEWHERE = r"^agent.options: .* states but this env has \d+; .* agent.options=null"


@pytest.mark.parametrize("env_name", ENVS)
@pytest.mark.parametrize("agent_name", sorted(AGENTS))
def test_every_agent_env_pair_builds_or_fails_clearly(agent_name, env_name):
    """Each pair the agent's capability flags allow builds and acts; every other pair is refused
    in one line that names agents which do fit the env."""
    if env_name in ("custom", "atari", "custom_marl"):  # any id: none by default
        with pytest.raises(ConfigError, match=r"env.id: has no value; set it: env.id=<value>"):
            validate(compose_config(f"agent={agent_name}", f"env={env_name}"))
        return
    if compose_config(f"env={env_name}").env.api == "pettingzoo":
        check_multiagent_pair(agent_name, env_name)
        return
    overrides = [f"agent={agent_name}", f"env={env_name}"]
    if AGENTS[agent_name].takes_demos:  # learns from demonstrations, so needs them
        with pytest.raises(ConfigError, match=r"^demos: agent=\w+ learns from demonstrations"):
            validate(compose_config(*overrides))
        overrides.append("demos=demos.npz")
    rc = validate(compose_config(*overrides))
    env = make_vec_env(rc.env, rc.env.num_envs)
    spaces = Spaces.of(env, rc.total_timesteps, frame_stack(rc.env))  # as the runner builds them
    kinds = {"actions": space_kind(spaces.action), "observations": space_kind(spaces.observation)}
    schema = AGENTS[agent_name]
    refused = [
        what
        for what, allowed in (
            ("actions", schema.action_spaces),
            ("observations", schema.observation_spaces),
        )
        if kinds[what] not in allowed
    ]
    one_state = spaces.observation == gym.spaces.Discrete(1)
    if not refused and schema.runner == "testbed" and not one_state:
        with pytest.raises(ConfigError, match=f"agent '{agent_name}' learns bandits"):
            check_compatible(rc, spaces)
        return
    if refused:
        what = refused[0]
        with pytest.raises(ConfigError) as err:
            check_compatible(rc, spaces)
        message = str(err.value)
        assert f"'{agent_name}' needs" in message and f"{kinds[what]} {what}" in message
        fits = message.split("agents for this env: ")[1].split(", ")
        assert fits and agent_name not in fits
        for other in fits:  # every agent it names does take this env
            assert kinds["actions"] in AGENTS[other].action_spaces
            assert kinds["observations"] in AGENTS[other].observation_spaces
        return
    check_compatible(rc, spaces)
    if issubclass(schema, OptionsConfig) and env_name != "four_rooms":  # its options: four rooms'
        with pytest.raises(ConfigError, match=OPTIONS_ELSEWHERE):
            make_agent(rc, spaces, torch.device("cpu"))
        rc = validate(
            compose_config(f"agent={agent_name}", f"env={env_name}", "agent.options=null")
        )
    agent = make_agent(rc, spaces, torch.device("cpu"))
    obs, _ = env.reset(seed=0)
    action = agent.act(obs, explore=True)
    assert action.shape == (env.num_envs, *env.single_action_space.shape)
    assert all(env.single_action_space.contains(a) for a in action)


def check_multiagent_pair(agent_name: str, env_name: str) -> None:
    """A team of independent learners builds and acts, or the pair is refused in one line."""
    cfg = compose_config(f"agent={agent_name}", f"env={env_name}")
    runner = AGENTS[agent_name].runner
    if runner != "online" or AGENTS[agent_name].takes_demos:
        does = "learns bandits" if runner == "testbed" else "learns from demonstrations"
        with pytest.raises(ConfigError, match=f"agent '{agent_name}' {does}"):
            validate(cfg)
        return
    rc = validate(cfg)
    env = make_parallel_vec_env(rc.env, 2)
    try:
        team = make_team(rc, env.observation_spaces, env.action_spaces, 2, torch.device("cpu"))
    except ConfigError as err:
        message = str(err)
        expected = ("agents for this env: ", "restarts episodes", "agent.options=null")
        assert any(e in message for e in expected), message
        return
    obs, _ = env.reset(seed=0)
    actions = team.act(obs, explore=True)
    for a, space in env.action_spaces.items():
        assert all(space.contains(x) for x in actions[a]), a
    env.step(actions)


def test_an_unsuitable_pair_names_the_agents_that_fit():
    rc = validate(compose_config("agent=dqn", "env=pendulum"))
    env = make_vec_env(rc.env, 1)
    with pytest.raises(ConfigError) as err:
        check_compatible(rc, Spaces.of(env, rc.total_timesteps))
    fits = sorted(n for n, s in AGENTS.items() if {"box"} <= s.action_spaces & s.observation_spaces)
    assert "sac" in fits
    assert str(err.value) == (
        "agent: agent 'dqn' needs discrete actions, but Pendulum-v1 has box actions; "
        f"agents for this env: {', '.join(fits)}"
    )


def test_presets_apply_automatically_and_the_command_line_wins():
    cfg = compose_config("agent=dqn", "env=cartpole")
    assert cfg.agent.train_freq == 256 and cfg.total_timesteps == 50_000
    assert cfg.exploration.fraction == 0.16
    cfg = compose_config("agent=dqn", "env=cartpole", "agent.train_freq=4")
    assert cfg.agent.train_freq == 4
    plain = compose_config("agent=dqn", "env=taxi")  # no preset for this pair: SB3 defaults
    assert plain.agent.train_freq == 4 and plain.agent.learning_rate == 1e-4


def test_auto_exploration_is_the_agents_default_with_overrides():
    rc = validate(compose_config("agent=dqn", "env=cartpole"))
    assert rc.exploration.name == "epsilon_greedy"
    assert (rc.exploration.start, rc.exploration.end, rc.exploration.fraction) == (
        1.0,
        0.04,
        0.16,
    )
    rc = validate(compose_config("agent=sarsa", "env=taxi", "exploration=boltzmann"))
    assert rc.exploration.name == "boltzmann"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["agent.gamma=1.5"], "agent.gamma: must be <= 1, got 1.5"),
        (["agent.learning_rate=-0.1"], "agent.learning_rate: must be > 0"),
        (["env.num_envs=0"], "env.num_envs: must be > 0, got 0"),
        (
            ["agent.batch_size=abc"],
            "agent.batch_size: Value 'abc' of type 'str' could not be",
        ),
        (
            ["+agent.lr=0.1"],
            "agent.lr: unknown key; did you mean 'agent.learning_rate'?",
        ),
        (["agent.loss=l1"], "agent.loss: got 'l1'; choose one of: huber, mse"),
        (
            ["exploration=epsilon_greedy", "exploration.start=2"],
            "exploration.start: must be <= 1",
        ),
        (
            ["exploration.schedule=cosine"],
            "exploration.schedule: got 'cosine'; choose one of",
        ),
        (["device=gpu"], "device: got 'gpu'; use auto, cpu, cuda, cuda:N or mps"),
        (["total_timesteps=0"], "total_timesteps: must be > 0"),
        (["agent.net_arch=[64,0]"], "agent.net_arch: must be > 0, got 0"),
    ],
)
def test_bad_values_are_one_line_errors_naming_the_key(overrides, message):
    with pytest.raises(ConfigError) as err:
        validate(compose_config("agent=dqn", "env=cartpole", *overrides))
    assert message in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            ["agent=ppo", "exploration=epsilon_greedy"],
            "agent 'ppo' cannot use exploration=epsilon_greedy; choose one of: auto, policy",
        ),
        (
            ["agent=dqn", "exploration=policy"],
            "agent 'dqn' cannot use exploration=policy; "
            "choose one of: auto, epsilon_greedy, boltzmann",
        ),
        (["agent=ppo", "exploration.start=0.5"], "exploration.start: unknown key"),
    ],
)
def test_exploration_must_suit_the_agent(overrides, message):
    with pytest.raises(ConfigError) as err:
        validate(compose_config("env=cartpole", *overrides))
    assert message in str(err.value)


def test_yaml_groups_have_no_stray_files():
    for group in ("agent", "env", "exploration", "hyperparams"):
        for path in (ROOT / "conf" / group).iterdir():
            assert path.suffix == ".yaml", path
    for path in (ROOT / "conf" / "hyperparams").glob("*.yaml"):
        # <agent>_<env>, both real options (so a typo never leaves a preset silently unused).
        assert any(path.stem == f"{a}_{e}" for a in AGENTS for e in ENVS), path.name
        assert Path(path).read_text().startswith("# @package _global_"), path.name
