"""The seams later capabilities build on: env wrappers and async vectorization, observation kinds
and encoders, exploration that sees observations and transitions, reward bonuses, runners."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import pytest
import torch

import tests.envs  # noqa: F401  (registers the test envs)
from rlrun.agents.base import check_compatible
from rlrun.config.registry import AGENTS, EXPLORATIONS, RUNNERS
from rlrun.config.run import EnvConfig
from rlrun.envs.spaces import space_kind
from rlrun.envs.vector import finished, make_env, make_vec_env
from rlrun.errors import ConfigError
from rlrun.exploration.bonus import CountBonus, SimHashBonus, simhash
from rlrun.exploration.config import CountBonusConfig, EpsilonGreedyConfig, SimHashBonusConfig
from rlrun.exploration.strategies import EpsilonGreedy
from rlrun.networks.encoders import FlattenEncoder
from rlrun.runners.base import TrainResult
from rlrun.transition import Spaces, Transition
from rlrun.validate import validate

from .conftest import FirstAction, compose_config, read_scalars, train

CLIP = {"_target_": "gymnasium.wrappers.ClipReward", "min_reward": 0.0, "max_reward": 0.25}


def run_episode(env: gym.vector.VectorEnv) -> tuple[list[float], Any]:
    """Step env 0 with action 0 until an episode ends: (its step rewards, the Finished record)."""
    env.reset(seed=0)
    rewards = []
    while True:
        _, reward, _, _, infos = env.step(np.zeros(env.num_envs, dtype=np.int64))
        rewards.append(float(reward[0]))
        done = finished(infos)
        if done is not None and done.envs[0]:
            return rewards, done


@pytest.mark.parametrize("vectorization", ["sync", "async"])
def test_wrappers_change_what_the_agent_sees_not_the_recorded_return(vectorization):
    cfg = EnvConfig(id="CartPole-v1", wrappers=[CLIP], vectorization=vectorization)
    env = make_vec_env(cfg, 2)
    try:
        rewards, done = run_episode(env)
    finally:
        env.close()
    assert set(rewards) == {0.25}  # the agent learns from the clipped reward...
    assert done.returns[0] == len(rewards) == done.lengths[0]  # ...the return is CartPole's own


def test_wrappers_apply_in_order_to_each_sub_env():
    time_aware = {"_target_": "gymnasium.wrappers:TimeAwareObservation"}
    cfg = EnvConfig(id="CartPole-v1", wrappers=[time_aware, CLIP])
    env = make_vec_env(cfg, 3)
    assert env.single_observation_space.shape == (5,)  # the elapsed time appended
    obs, _ = env.reset(seed=0)
    obs, *_ = env.step(np.zeros(3, dtype=np.int64))
    np.testing.assert_array_equal(obs[:, -1], [1, 1, 1])


@pytest.mark.parametrize(
    ("wrappers", "key", "message"),
    [
        (["ClipReward"], "env.wrappers[0]", "give each wrapper as {_target_: module.Class"),
        ([{"_target_": "ClipReward"}], "env.wrappers[0]._target_", "use module.Class"),
        (
            [CLIP, {"_target_": "gymnasium.wrappers.NoSuchWrapper"}],
            "env.wrappers[1]._target_",
            "cannot import 'gymnasium.wrappers.NoSuchWrapper'",
        ),
        (
            [{"_target_": "gymnasium.wrappers.ClipReward", "low": 0}],
            "env.wrappers[0]",
            "ClipReward rejected its arguments",
        ),
    ],
)
def test_a_bad_wrapper_is_one_line_naming_it(wrappers, key, message):
    with pytest.raises(ConfigError) as err:
        cfg = validate(compose_config("agent=dqn", "env=cartpole")).env
        cfg.wrappers = wrappers
        from rlrun.validate import check_wrappers

        check_wrappers(cfg)
        make_vec_env(cfg, 1)
    assert err.value.key == key and message in err.value.message
    assert "\n" not in str(err.value)


def test_wrappers_and_async_from_the_command_line_train_and_checkpoint(tmp_path):
    trainer = train(
        tmp_path,
        "agent=ppo",
        "env=cartpole",
        "env.num_envs=2",
        "env.vectorization=async",
        "env.wrappers=[{_target_: gymnasium.wrappers.ClipReward, min_reward: 0, max_reward: 0.5}]",
        "agent.n_steps=64",
        "agent.batch_size=64",
        "total_timesteps=512",
        "eval.every_steps=256",
        "eval.episodes=2",
        "checkpoint.every_steps=256",
    )
    assert trainer.step == 512
    returns = [v for _, v in read_scalars(tmp_path)["charts/episodic_return"]]
    assert returns and all(r == int(r) and r >= 8 for r in returns)  # whole steps, not halves
    assert (tmp_path / "checkpoints" / "last.pt").exists()  # sub-env state left out, not fatal


def test_observation_kinds():
    assert space_kind(gym.spaces.Discrete(4)) == "discrete"
    assert space_kind(gym.spaces.Box(-1, 1, (3,))) == "box"
    assert space_kind(gym.spaces.Box(0, 255, (84, 84, 4), np.uint8)) == "image"
    assert space_kind(gym.spaces.Box(0, 255, (4, 84, 84), np.uint8)) == "image"
    assert space_kind(gym.spaces.Box(0, 255, (84, 84), np.uint8)) == "box"  # no channel axis
    assert space_kind(gym.make("DictObs-v0").observation_space) == "dict"
    assert space_kind(gym.spaces.MultiDiscrete([2, 3])) == "multidiscrete"


def test_structured_observations_reach_the_agent_as_one_flat_box():
    """Dict leaves in sorted-key order, Discrete one-hot (gymnasium.spaces.flatten's layout),
    float32; a Dict of pixels stays uint8."""
    env = make_env(EnvConfig(id="DictObs-v0"))
    assert env.observation_space == gym.spaces.Box(
        np.array([0, 0, 0, -1, -1], np.float32), np.array([1, 1, 1, 1, 1], np.float32)
    )
    obs, _ = env.reset(seed=0)  # goal 0 and position (0, 0)
    np.testing.assert_array_equal(obs, [1, 0, 0, 0, 0])
    for _ in range(4):
        obs, *_ = env.step(0)  # step 4: goal 4 % 3 = 1, position 4 / 5
    np.testing.assert_allclose(obs, [0, 1, 0, 0.8, 0.8])
    assert make_env(EnvConfig(id="ImageObs-v0")).observation_space.shape == (8, 8, 3)  # a Box
    pixels = make_env(EnvConfig(id="PixelsDictObs-v0"))
    assert pixels.observation_space == gym.spaces.Box(0, 255, (8,), np.uint8)
    np.testing.assert_array_equal(pixels.reset(seed=0)[0], [0, 0, 0, 0, 9, 9, 9, 9])


def test_an_observation_part_no_network_takes_is_a_one_line_error_naming_the_wrapper():
    with pytest.raises(ConfigError) as err:
        make_env(EnvConfig(id="TextObs-v0"))
    assert str(err.value) == (
        "env.wrappers: TextObs-v0's key ['mission'] is a Text, which no network takes; drop it "
        "with env.wrappers='[{_target_: gymnasium.wrappers.FilterObservation, filter_keys: "
        "['goal', 'position']}]'"
    )


def test_dict_observations_train_as_they_come(tmp_path):
    trainer = train(
        tmp_path,
        "agent=dqn",
        "env=custom",
        "env.id=tests.envs:DictObs-v0",
        "total_timesteps=300",
        "agent.learning_starts=50",
        "eval.every_steps=300",
        "eval.episodes=2",
    )
    assert trainer.agent.q_net.encoder.dim == 3 + 2  # the goal one-hot, the position
    assert trainer.result.final_eval.mean_return == 5.0


def test_the_flatten_encoder_scales_images_and_one_hots_discrete():
    image = FlattenEncoder(gym.spaces.Box(0, 255, (8, 8, 3), np.uint8))
    x = image(torch.full((2, 8, 8, 3), 255, dtype=torch.uint8))
    assert x.shape == (2, 192) and float(x.max()) == 1.0
    discrete = FlattenEncoder(gym.spaces.Discrete(3, start=1))
    torch.testing.assert_close(discrete(torch.tensor([1, 3])), torch.eye(3)[[0, 2]])


def test_image_observations_train_through_the_encoder(tmp_path):
    trainer = train(
        tmp_path,
        "agent=ppo",
        "env=custom",
        "env.id=tests.envs:ImageObs-v0",
        "encoder=flatten",
        "agent.n_steps=32",
        "agent.batch_size=16",
        "total_timesteps=64",
        "eval.every_steps=64",
        "eval.episodes=1",
    )
    assert trainer.agent.policy.encoder.scale == pytest.approx(1 / 255)


def test_an_encoder_is_refused_where_an_agent_has_no_networks():
    with pytest.raises(ConfigError, match="agent 'qlearning' has no encoder choice"):
        validate(compose_config("agent=qlearning", "env=frozenlake", "encoder=flatten"))


def test_count_bonus_by_hand():
    spaces = Spaces(gym.spaces.Discrete(4), gym.spaces.Discrete(2), num_envs=3, total_timesteps=1)
    bonus = CountBonus(CountBonusConfig(beta=0.5), spaces)
    step = Transition(
        np.array([0, 0, 1]),
        np.array([0, 1, 0]),
        np.zeros(3),
        np.array([2, 2, 3]),  # two envs reach state 2 in the same step
        np.zeros(3, bool),
        np.zeros(3, bool),
    )
    np.testing.assert_allclose(bonus(step), 0.5 / np.sqrt([2, 2, 1]))
    np.testing.assert_allclose(bonus(step), 0.5 / np.sqrt([4, 4, 2]))
    pairs = CountBonus(CountBonusConfig(beta=1.0, counts="state_action"), spaces)
    np.testing.assert_allclose(pairs(step), [1, 1, 1])  # (0,0), (0,1), (1,0): all first visits
    assert pairs.counts[0].tolist() == [1, 1]


def test_simhash_codes_and_bonus_by_hand():
    projection = np.array([[1.0, 1.0], [1.0, -1.0]])
    x = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    # projections (1, 1) -> bits 11 = 3; (1, -1) -> bit 0 only = 1; (-2, 0) -> none = 0
    assert simhash(x, projection).tolist() == [3, 1, 0]
    box = gym.spaces.Box(np.array([0.0, -1.0]), np.array([2.0, 1.0]))
    spaces = Spaces(box, gym.spaces.Discrete(2), num_envs=2, total_timesteps=1)
    bonus = SimHashBonus(SimHashBonusConfig(beta=0.5, bits=2), spaces)
    bonus.projection = projection
    step = Transition(
        np.zeros((2, 2)),
        np.zeros(2, np.int64),
        np.zeros(2),
        np.array([[2.0, 0.0], [1.5, 0.25]]),  # scaled: (1, 0) and (0.5, 0.25), both code 3
        np.zeros(2, bool),
        np.zeros(2, bool),
    )
    np.testing.assert_allclose(bonus(step), 0.5 / np.sqrt([2, 2]))  # both visits counted
    far = dataclasses.replace(step, next_obs=np.array([[0.0, 0.0], [1.5, 0.25]]))  # (-1, 0): 0
    np.testing.assert_allclose(bonus(far), 0.5 / np.sqrt([1, 3]))
    assert bonus.counts == {3: 3, 0: 1}


def test_simhash_bonus_drives_dqn_on_box_observations(tmp_path):
    trainer = train(
        tmp_path,
        "agent=dqn",
        "env=mountaincar",
        "bonus=simhash",
        "bonus.beta=0.1",
        "total_timesteps=2000",
        "agent.learning_starts=500",
        "eval.every_steps=1000",
        "eval.episodes=1",
        "logger.log_every_steps=500",
    )
    scalars = read_scalars(tmp_path)
    intrinsic = [v for _, v in scalars["charts/intrinsic_reward"]]
    assert len(intrinsic) == 4 and 0 < intrinsic[-1] < intrinsic[0] <= 0.1  # novelty wears off
    assert len(trainer.bonus.counts) > 1  # several cells of the continuous space were visited
    assert {v for _, v in scalars["charts/episodic_return"]} == {-200.0}  # the env's own reward


def test_a_bonus_trains_any_agent_and_leaves_the_return_raw(tmp_path):
    trainer = train(
        tmp_path,
        "agent=qlearning",
        "env=frozenlake",
        "bonus=count",
        "bonus.beta=0.5",
        "total_timesteps=2000",
        "eval.every_steps=1000",
        "eval.episodes=2",
        "logger.log_every_steps=500",
    )
    scalars = read_scalars(tmp_path)
    intrinsic = [v for _, v in scalars["charts/intrinsic_reward"]]
    assert len(intrinsic) == 4 and 0 < intrinsic[-1] < intrinsic[0] <= 0.5  # novelty wears off
    assert {v for _, v in scalars["charts/episodic_return"]} <= {0.0, 1.0}  # FrozenLake's own
    assert trainer.agent.q.max() > 0.5  # learned from the bonus (the goal alone pays at most 1)
    counts = trainer.checkpoint(replay=False)["bonus"]["attrs"]["counts"]
    assert counts["__ndarray__"][1] == [16]  # the visit counts are saved with the run


def test_a_bonus_key_without_a_bonus_says_to_choose_one(tmp_path):
    from .conftest import run_cli

    proc = run_cli("bonus.beta=0.3", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "rlrun: error: bonus.beta: no bonus is chosen; choose one first: "
        "bonus=count|simhash bonus.beta=..."
    )


def test_a_bonus_needs_observations_it_can_count():
    rc = validate(compose_config("agent=dqn", "env=cartpole", "bonus=count"))
    env = make_vec_env(rc.env, 1)
    with pytest.raises(ConfigError, match="bonus=count needs discrete observations, but"):
        check_compatible(rc, Spaces.of(env, 100))


class RecordingStrategy(EpsilonGreedy):
    """Epsilon-greedy that keeps what the exploration interface hands it."""

    seen_obs: ClassVar[list[np.ndarray]] = []
    seen_transitions: ClassVar[list[Transition]] = []

    def select(self, obs, q_fn, rng):
        self.seen_obs.append(obs.copy())
        return super().select(obs, q_fn, rng)

    def observe(self, t, step):
        self.seen_transitions.append(t)
        super().observe(t, step)


def test_exploration_sees_observations_and_transitions(tmp_path, monkeypatch):
    @dataclass
    class RecordingConfig(EpsilonGreedyConfig):
        name: str = "recording"

    monkeypatch.setitem(EXPLORATIONS, "recording", RecordingConfig)
    monkeypatch.setattr(RecordingConfig, "impl", f"{__name__}:RecordingStrategy", raising=False)
    schema = AGENTS["qlearning"]
    monkeypatch.setattr(schema, "explorations", (*schema.explorations, "recording"))
    RecordingStrategy.seen_obs.clear()
    RecordingStrategy.seen_transitions.clear()
    train(
        tmp_path,
        "agent=qlearning",
        "env=frozenlake",
        "exploration=epsilon_greedy",
        "exploration.name=recording",
        "total_timesteps=50",
        "eval.every_steps=50",
        "eval.episodes=1",
    )
    transitions = RecordingStrategy.seen_transitions
    assert len(transitions) == 50
    # it acted on each observation the transition then starts from
    for obs, t in zip(RecordingStrategy.seen_obs, transitions, strict=True):
        np.testing.assert_array_equal(obs, t.obs)


class ScriptedRunner:
    """A runner that takes no env steps: it reports a fixed evaluation."""

    def __init__(self) -> None:
        self.step = 0

    @classmethod
    def build(cls, rc, device, services):
        return cls()

    def train(self) -> TrainResult:
        from rlrun.runners.base import EvalResult

        self.step = 7
        ev = EvalResult(1.5, 0.0, 1.0, None, 1)
        return TrainResult(steps=7, final_eval=ev, best_eval_mean_return=1.5)

    def load_checkpoint(self, ckpt):
        raise AssertionError("not resumed")


def test_the_runner_is_chosen_by_the_agents_capability(tmp_path, monkeypatch):
    from rlrun.experiment import run

    monkeypatch.setitem(RUNNERS, "scripted", f"{__name__}:ScriptedRunner")
    monkeypatch.setattr(AGENTS["qlearning"], "runner", "scripted")
    objective = run(compose_config("agent=qlearning", "env=frozenlake"), tmp_path / "run")
    assert objective == 1.5
    summary = (tmp_path / "run" / "summary.json").read_text()
    assert '"status": "completed"' in summary and '"steps": 7' in summary


def test_is_success_is_read_from_the_last_step_not_the_next_reset():
    """With SAME_STEP autoreset the step's info holds the reset's; the episode's own last info
    (where an env says is_success) is in final_info."""
    from rlrun.runners.base import evaluate

    cfg = EnvConfig(id="SuccessInfo-v0", success="is_success", episode_metrics=["score"])
    result = evaluate(FirstAction(), make_vec_env(cfg, 2), episodes=4, seed=0, env_cfg=cfg)
    assert result.success_rate == 1.0 and result.mean_length == 3
    assert result.metrics == {"score": 1.5}  # envs 0 and 1 score 1 and 2, two episodes each


def test_episode_metrics_are_logged_and_evaluation_uses_its_own_env_kwargs(tmp_path):
    """Training episodes log charts/score from env.kwargs; evaluation sees eval.env_kwargs merged
    over them (out-of-sample data, held-out layouts) and logs eval/score."""
    from rlrun.experiment import run

    cfg = compose_config(
        "agent=qlearning",
        "env=custom",
        "env.id=SuccessInfo-v0",
        "+env.kwargs.score=2.0",
        "+eval.env_kwargs.score=5.0",
        "env.episode_metrics=[score]",
        "env.num_envs=2",
        "total_timesteps=30",
        "eval.every_steps=18",
        "eval.episodes=2",
    )
    run(cfg, tmp_path / "run")
    scalars = read_scalars(tmp_path / "run")
    # 15 steps of 2 envs, 3 per episode: env 0 (seed 0) scores 2, env 1 (seed 1) 3, each 5 times
    assert [v for _, v in scalars["charts/score"]] == [2.0, 3.0] * 5
    # evaluation: one episode on each of 2 envs seeded 10000 and 10001: (5 + 6) / 2
    assert [(s, v) for s, v in scalars["eval/score"]] == [(18, 5.5), (30, 5.5)]
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["final_eval"]["metrics"] == {"score": 5.5}


def test_an_episode_metric_one_env_of_several_leaves_out_is_an_error_not_a_zero():
    from rlrun.runners.base import evaluate

    cfg = EnvConfig(
        id="SuccessInfo-v0",
        episode_metrics=["score"],
        wrappers=[{"_target_": "tests.envs:DropScoreOfSeed1"}],
    )
    with pytest.raises(ConfigError, match="SuccessInfo-v0 put no 'score' in the info"):
        evaluate(FirstAction(), make_vec_env(cfg, 2), episodes=2, seed=0, env_cfg=cfg)


def test_evaluation_env_kwargs_may_not_change_the_spaces(tmp_path):
    from rlrun.experiment import run

    cfg = compose_config("agent=ppo", "env=trading", "+eval.env_kwargs.window=8")
    with pytest.raises(ConfigError, match=r"^eval.env_kwargs: the evaluation env's observations"):
        run(cfg, tmp_path / "run")


def test_a_checkpoint_from_before_episode_metrics_still_restores():
    """Fields added to the run's records since a checkpoint was written take their defaults."""
    from rlrun.checkpoint import capture, restore
    from rlrun.runners.base import EvalResult

    saved = capture(TrainResult(final_eval=EvalResult(1.0, 0.0, 3.0, None, 2)))
    del saved["attrs"]["final_eval"]["attrs"]["metrics"]  # as written before the field existed
    result = restore(TrainResult(), saved)
    assert result.final_eval.metrics == {} and result.to_dict()["final_eval"]["episodes"] == 2


def test_an_episode_metric_the_env_does_not_give_is_a_one_line_error(tmp_path):
    from rlrun.experiment import run

    cfg = compose_config(
        "agent=qlearning", "env=custom", "env.id=SuccessInfo-v0", "env.episode_metrics=[sharpe]"
    )
    with pytest.raises(ConfigError, match=r"env.episode_metrics: SuccessInfo-v0 put no 'sharpe'"):
        run(cfg, tmp_path / "run")
