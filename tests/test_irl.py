"""Demonstrations and maximum-causal-entropy IRL: the file format, the soft Bellman maths against
hand-computed values, the loss's gradient, and whole runs (record -> IRL -> train on the
recovered reward) through the real CLI."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest

from rlrun.agents.imitation.maxent import (
    demo_statistics,
    expected_reward,
    irl_loss,
    occupancy,
    policy_features,
    soft_bellman,
)
from rlrun.demos import Demos, load_demos, load_reward
from rlrun.envs.dynamics import TabularModel, model_from_p, tabular_model
from rlrun.errors import ConfigError
from rlrun.transition import Spaces, Transition

from .conftest import FROZENLAKE, FROZENLAKE_PATH, TINY, read_scalars, run_cli


def three_state_mdp() -> TabularModel:
    """0 --a0--> 1 (reward 0) or --a1--> end (reward 0); 1 --a0--> end (reward 0) or --a1--> end
    (reward log 3); 2 is where episodes end (absorbing, never acted in)."""
    p = {
        0: {0: [(1.0, 1, 0.0, False)], 1: [(1.0, 2, 0.0, True)]},
        1: {0: [(1.0, 2, 0.0, True)], 1: [(1.0, 2, np.log(3), True)]},
        2: {0: [(1.0, 2, 0.0, True)], 1: [(1.0, 2, 0.0, True)]},
    }
    return model_from_p(p)


def test_soft_bellman_and_occupancy_by_hand():
    """gamma 1/2: V(1) = log(1 + 3) = log 4; Q(0, a0) = gamma log 4 = log 2, Q(0, a1) = 0, so
    V(0) = log 3, pi(0) = (2/3, 1/3), pi(1) = (1/4, 3/4); from 0: d(0) = (2/3, 1/3), state 1
    reached with weight gamma 2/3 = 1/3, d(1) = (1/12, 1/4)."""
    model = three_state_mdp()
    reward = model.expected_reward
    v, q = soft_bellman(reward, model, gamma=0.5)
    np.testing.assert_allclose(v[:2], [np.log(3), np.log(4)])
    np.testing.assert_allclose(q[0], [np.log(2), 0.0], atol=1e-12)
    pi = np.exp(q - v[:, None])
    np.testing.assert_allclose(pi[:2], [[2 / 3, 1 / 3], [1 / 4, 3 / 4]])
    d = occupancy(pi, model, np.array([1.0, 0.0, 0.0]), gamma=0.5)
    np.testing.assert_allclose(d[:2], [[2 / 3, 1 / 3], [1 / 12, 1 / 4]])
    np.testing.assert_allclose(d[2], 0.0)  # nothing acts where episodes have ended


def test_a_loop_forever_sums_its_discounted_visits():
    """One state, two actions that stay, reward 0: V = log 2 + gamma V = log 2 / (1 - gamma), and
    the state is visited sum_t gamma^t = 1 / (1 - gamma) times, half with each action."""
    model = model_from_p({0: {0: [(1.0, 0, 0.0, False)], 1: [(1.0, 0, 0.0, False)]}})
    v, _ = soft_bellman(np.zeros((1, 2)), model, gamma=0.9)
    np.testing.assert_allclose(v, [np.log(2) / 0.1], rtol=1e-9)
    d = occupancy(np.full((1, 2), 0.5), model, np.array([1.0]), gamma=0.9)
    np.testing.assert_allclose(d, [[5.0, 5.0]])


def test_a_truncated_episode_counts_only_its_shown_steps():
    """One state, two actions that stay; the expert always takes action 0 and is cut off after 3
    steps: its occupancy is 1 + gamma + gamma^2, and the expert's own policy, started from
    1 - gamma^3 (the start less the cut-off continuation), has exactly that occupancy."""
    model = model_from_p({0: {0: [(1.0, 0, 0.0, False)], 1: [(1.0, 0, 0.0, False)]}})
    zeros, ones = np.zeros(3, dtype=bool), np.ones(3, dtype=bool)
    demos = Demos(np.zeros(3, int), np.zeros(3, int), np.zeros(3), np.zeros(3, int), zeros, ones)
    demos.truncated[:2] = False
    stats = demo_statistics(demos, 1, 2, 0.9, "state_action")
    assert stats.occupancy[0, 0] == pytest.approx(1 + 0.9 + 0.81)
    assert stats.start[0] == pytest.approx(1 - 0.9**3)
    d = occupancy(np.array([[1.0, 0.0]]), model, stats.start, 0.9)
    np.testing.assert_allclose(d, stats.occupancy)


def test_a_linear_schedule_past_its_horizon_stays_at_zero():
    """A run resumed with a larger budget keeps its agent's horizon: never a negative rate."""
    import torch

    from rlrun.networks.optim import adam, anneal_lr

    optimizer = adam([torch.zeros(1, requires_grad=True)], 1.0)
    anneal_lr(optimizer, 1.0, 0.25)
    assert optimizer.param_groups[0]["lr"] == 0.75
    anneal_lr(optimizer, 1.0, 1.5)
    assert optimizer.param_groups[0]["lr"] == 0.0


def random_demos(env_id: str, episodes: int, seed: int, **kwargs) -> Demos:
    """Uniformly random episodes, cut off after 30 steps."""
    env = gym.make(env_id, **kwargs)
    rng = np.random.default_rng(seed)
    rows: dict[str, list] = {k: [] for k in ("obs", "actions", "rewards", "next_obs")}
    ends: dict[str, list[bool]] = {"terminated": [], "truncated": []}
    for i in range(episodes):
        obs, _ = env.reset(seed=seed + i)
        for t in range(30):
            action = int(rng.integers(env.action_space.n))
            next_obs, reward, terminated, _, _ = env.step(action)
            for key, value in zip(rows, (obs, action, reward, next_obs), strict=True):
                rows[key].append(value)
            ends["terminated"].append(terminated)
            ends["truncated"].append(t == 29 and not terminated)
            obs = next_obs
            if terminated:
                break
    return Demos(**{k: np.array(v) for k, v in {**rows, **ends}.items()})


@pytest.mark.parametrize("reward_input", ["next_state", "state_action"])
def test_the_gradient_is_the_policys_features_less_the_demonstrations(reward_input):
    """On slippery FrozenLake: d loss / d theta by central differences == d_pi features - demo's."""
    env = gym.make("FrozenLake-v1", is_slippery=True)
    model = tabular_model(env, "FrozenLake-v1")
    demos = random_demos("FrozenLake-v1", 20, 0, is_slippery=True)
    assert demos.terminated.any() and demos.truncated.any()
    gamma, rng = 0.9, np.random.default_rng(1)
    stats = demo_statistics(demos, 16, 4, gamma, reward_input)
    theta = rng.normal(size=(16,) if reward_input == "next_state" else (16, 4))

    def loss(th: np.ndarray) -> float:
        v, _ = soft_bellman(expected_reward(th, model, reward_input), model, gamma)
        return irl_loss(th, v, stats)

    v, q = soft_bellman(expected_reward(theta, model, reward_input), model, gamma)
    d = occupancy(np.exp(q - v[:, None]), model, stats.start, gamma)
    grad = policy_features(d, model, reward_input) - stats.features
    eps = 1e-5
    numeric = np.zeros_like(theta)
    for i in np.ndindex(theta.shape):
        step = np.zeros_like(theta)
        step[i] = eps
        numeric[i] = (loss(theta + step) - loss(theta - step)) / (2 * eps)
    np.testing.assert_allclose(grad, numeric, atol=1e-6)


def test_demonstration_statistics_by_hand(frozenlake_demos):
    """10 copies of the 6-step path: each (s, a) on it weighs gamma^t, the goal is arrived in with
    gamma^5, every episode starts in 0."""
    demos = load_demos(frozenlake_demos)
    assert demos.episodes == 10 and len(demos.rewards) == 60
    np.testing.assert_array_equal(demos.returns(), np.ones(10))
    stats = demo_statistics(demos, 16, 4, 0.5, "next_state")
    np.testing.assert_allclose(stats.start, np.eye(16)[0])
    path = list(FROZENLAKE_PATH.items())
    for t, (s, a) in enumerate(path):
        assert stats.occupancy[s, a] == pytest.approx(0.5**t)
    assert stats.occupancy.sum() == pytest.approx(sum(0.5**t for t in range(6)))
    assert stats.features[15] == pytest.approx(0.5**5)
    assert stats.features[4] == pytest.approx(1.0)


def test_the_demos_file_is_versioned_plain_arrays(frozenlake_demos, tmp_path):
    with np.load(frozenlake_demos, allow_pickle=False) as data:  # no pickles: plain arrays
        meta = json.loads(str(data["meta"]))
        assert data["obs"].shape == data["next_obs"].shape == (60,)
        assert data["terminated"].sum() == 10 and not data["truncated"].any()
    assert (meta["format"], meta["version"], meta["env_id"]) == ("rlrun-demos", 1, "FrozenLake-v1")
    future = dict(np.load(frozenlake_demos))
    future["meta"] = np.array(json.dumps({**meta, "version": 2}))
    np.savez(tmp_path / "v2.npz", **future)
    with pytest.raises(ConfigError, match=r"^demos: .*v2.npz: format 'rlrun-demos' version 2; "):
        load_demos(tmp_path / "v2.npz")
    with pytest.raises(ConfigError, match=r"^demos: .*nothing.npz: no such file; record one"):
        load_demos(tmp_path / "nothing.npz")


def test_demos_recover_the_experts_occupancy_and_reward_through_the_cli(tmp_path, frozenlake_demos):
    """A trained agent's demonstrations (rlrun-demos) -> MCE IRL matches their occupancy, its
    policy reaches the goal on the env's own reward, and Q-learning on the recovered reward
    alone (reward=<irl run>) solves the env as the expert did."""
    expert = tmp_path / "expert"
    proc = run_cli(
        "agent=qlearning", *FROZENLAKE, *TINY, "total_timesteps=20000",
        f"hydra.run.dir={expert}", cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    demos_cli = run_cli(str(expert), "episodes=5", cwd=tmp_path, exe="rlrun-demos")
    assert demos_cli.returncode == 0, demos_cli.stderr
    assert "5 episodes, 30 steps, return 1.000" in demos_cli.stdout
    demos = load_demos(expert / "demos.npz")
    assert demos.meta["checkpoint"] == str(expert / "checkpoints" / "best.pt")
    assert demos.meta["agent"] == "qlearning" and demos.meta["mean_return"] == 1.0

    irl = tmp_path / "irl"
    proc = run_cli(
        "agent=mce_irl", *FROZENLAKE, f"demos={expert / 'demos.npz'}", "total_timesteps=1500",
        "eval.every_steps=500", "logger.log_every_steps=100", "logger.progress=false",
        f"hydra.run.dir={irl}", cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    tb = read_scalars(irl)
    gaps = [v for _, v in tb["irl/occupancy_gap"]]
    assert gaps[0] > 0.5 and gaps[-1] < 0.01  # from the uniform policy to the expert's
    losses = [v for _, v in tb["losses/irl_loss"]]
    assert losses[-1] < 0.1 * losses[0]
    assert tb["eval/mean_return"][-1] == (1500, 1.0)  # on the env's own reward
    reward = load_reward(irl)
    assert reward.table.shape == (16,) and reward.meta["step"] == 1500
    assert reward.table.argmax() == 15  # arriving at the goal is what it learned to want

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(irl), size_guidance={"images": 0})
    acc.Reload()
    image = acc.Images("irl/reward")[-1]
    assert (image.step, image.width, image.height) == (1500, 64, 64)  # 4x4 cells of 16 px

    fresh = tmp_path / "fresh"
    proc = run_cli(
        "agent=qlearning", *FROZENLAKE, *TINY, "total_timesteps=20000", f"reward={irl}",
        f"hydra.run.dir={fresh}", cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    tb = read_scalars(fresh)
    assert tb["eval/mean_return"][-1][1] == 1.0  # the env's reward, never seen in training
    assert {v for _, v in tb["charts/episodic_return"]} <= {0.0, 1.0}  # logged: the env's


def test_demonstrations_that_do_not_fit_are_refused_in_one_line(tmp_path, frozenlake_demos):
    cases = [
        (["agent=mce_irl", *FROZENLAKE], "demos: agent=mce_irl learns from demonstrations"),
        (
            ["agent=qlearning", *FROZENLAKE, f"demos={frozenlake_demos}"],
            "demos: agent 'qlearning' does not learn from demonstrations; drop demos= or "
            "choose an agent that does: gail, mce_irl",
        ),
        (
            ["agent=mce_irl", "env=frozenlake", f"demos={frozenlake_demos}"],
            "demos: made on FrozenLake-v1 with kwargs {'map_name': '4x4', 'is_slippery': False}, "
            "but this run's env is FrozenLake-v1 with kwargs {'map_name': '4x4', 'is_slippery': "
            "True}",
        ),
        (
            ["agent=mce_irl", "env=four_rooms", f"demos={frozenlake_demos}"],
            "demos: made on FrozenLake-v1",
        ),
        (
            ["agent=mce_irl", *FROZENLAKE, f"demos={tmp_path / 'none.npz'}"],
            "none.npz: no such file; record one with rlrun-demos <run_dir> episodes=N",
        ),
        (
            ["agent=mce_irl", *FROZENLAKE, f"demos={frozenlake_demos}", "bonus=count"],
            "bonus: agent 'mce_irl' learns from its demonstrations, not the env's reward; "
            "drop bonus=",
        ),
        (
            ["agent=action_value", "env=testbed", f"reward={tmp_path}"],
            "reward: agent 'action_value' runs in the testbed loop; drop reward=",
        ),
        (
            ["agent=qlearning", *FROZENLAKE, f"reward={tmp_path}"],
            "reward: " + str(tmp_path / "reward.npz") + ": no such file; give an inverse-RL",
        ),
    ]
    for overrides, message in cases:
        proc = run_cli(*overrides, *TINY, f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)
        assert proc.returncode != 0
        assert message in proc.stderr, (overrides, proc.stderr)
        assert "Traceback" not in proc.stderr


def test_an_env_without_known_dynamics_is_refused(tmp_path, frozenlake_demos):
    from rlrun.envs.four_rooms import FourRooms

    with pytest.raises(ConfigError, match=r"^env: rlrun/FourRooms-v0 does not publish its dyn"):
        tabular_model(FourRooms(), "rlrun/FourRooms-v0")


def gail_agent(pendulum_demos):
    import torch

    from rlrun.agents.imitation.gail import GAIL
    from rlrun.validate import validate

    from .conftest import compose_config

    rc = validate(compose_config("agent=gail", "env=pendulum", f"demos={pendulum_demos}"))
    env = gym.make("Pendulum-v1")
    spaces = Spaces(env.observation_space, env.action_space, 1, 10_000)
    agent = GAIL(rc.agent, rc.exploration, spaces, torch.device("cpu"), seed=0)
    agent.attach(load_demos(pendulum_demos), env, "Pendulum-v1")
    return agent


def test_gail_learns_from_its_discriminator_not_the_env(pendulum_demos):
    """Replay of uniform actions against the swing-up's demonstrations: the discriminator learns
    to tell them apart, and SAC's batches carry its logit as their reward."""
    import torch

    agent = gail_agent(pendulum_demos)
    demos = load_demos(pendulum_demos)
    np.testing.assert_allclose(agent.expert_actions.numpy(), demos.actions / 2.0, atol=1e-6)
    rng = np.random.default_rng(0)
    for _ in range(3):  # 3 x 100 random transitions
        obs = demos.obs[rng.integers(len(demos.obs), size=100)].astype(np.float32)
        t = Transition(
            obs, rng.uniform(-2, 2, (100, 1)).astype(np.float32), np.full(100, 5.0),
            obs, np.zeros(100, bool), np.zeros(100, bool),
        )  # fmt: skip
        agent.observe(t, 100)
    for _ in range(900):
        agent.training_batch()
    first = agent.pop_metrics()["losses/disc_accuracy"]
    for _ in range(100):
        batch = agent.training_batch()
    assert agent.pop_metrics()["losses/disc_accuracy"] > max(0.6, first)  # chance: 0.5
    with torch.no_grad():
        expected = agent.logits(batch.obs, batch.actions)
        expert = agent.logits(agent.expert_obs, agent.expert_actions).mean()
    assert torch.equal(batch.rewards, expected)  # not the env's 5.0
    assert expert > float(batch.rewards.mean())  # the expert's actions look better


@pytest.mark.slow
def test_gail_imitates_the_swing_up_on_pendulum(tmp_path, pendulum_demos):
    """From 10 demonstrated episodes and no env reward, SAC swings the pendulum up."""
    run_dir = tmp_path / "gail"
    proc = run_cli(
        "agent=gail", "env=pendulum", f"demos={pendulum_demos}", "total_timesteps=5000",
        "eval.every_steps=2500", "eval.episodes=5", "logger.log_every_steps=500",
        "logger.progress=false", f"hydra.run.dir={run_dir}", cwd=tmp_path, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    tb = read_scalars(run_dir)
    assert {"losses/disc_loss", "losses/disc_accuracy", "losses/disc_reward"} <= set(tb)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["final_eval"]["mean_return"] > -400  # random: about -1,200; expert: -150
