"""Agents learn, bootstrap correctly at time limits, and are reproducible from a seed."""

import numpy as np
import pytest

import tests.envs  # noqa: F401  (registers the test envs)

from .conftest import ROOT, read_scalars, run_cli, train

GAMMA = 0.9  # true value of the infinite-horizon env: 1 / (1 - 0.9) = 10


@pytest.mark.parametrize("agent", ["qlearning", "expected_sarsa", "sarsa"])
def test_tabular_bootstraps_at_truncation_not_termination(tmp_path, agent):
    common = [
        f"agent={agent}",
        f"agent.gamma={GAMMA}",
        "total_timesteps=4000",
        "exploration=epsilon_greedy",
        "exploration.end=0.5",
        "eval.episodes=1",
    ]
    forever = train(
        tmp_path / "t", "env=custom", "env.id=ForeverTimeLimitDiscrete-v0", *common
    ).agent
    np.testing.assert_allclose(forever.q[0], 1 / (1 - GAMMA), rtol=0.01)
    once = train(tmp_path / "o", "env=custom", "env.id=TerminateAfterOneDiscrete-v0", *common).agent
    np.testing.assert_allclose(once.q[0], 1.0, rtol=0.01)


@pytest.mark.parametrize("double_q", [False, True])
def test_dqn_bootstraps_at_truncation_not_termination(tmp_path, double_q):
    common = [
        "agent=dqn",
        f"agent.gamma={GAMMA}",
        "agent.learning_rate=1e-3",
        "agent.learning_starts=200",
        "agent.train_freq=1",
        "agent.target_update_interval=100",
        "agent.net_arch=[16]",
        f"agent.double_q={double_q}",
        "total_timesteps=4000",
        "eval.episodes=1",
    ]
    forever = train(tmp_path / "t", "env=custom", "env.id=ForeverTimeLimit-v0", *common).agent
    np.testing.assert_allclose(forever.q_values(np.ones((1, 1), np.float32)), 10.0, rtol=0.05)
    once = train(tmp_path / "o", "env=custom", "env.id=TerminateAfterOne-v0", *common).agent
    np.testing.assert_allclose(once.q_values(np.ones((1, 1), np.float32)), 1.0, rtol=0.05)


def test_qlearning_solves_deterministic_frozenlake(tmp_path):
    trainer = train(
        tmp_path,
        "agent=qlearning",
        "env=frozenlake",
        "env.kwargs.is_slippery=false",
        "total_timesteps=20000",
        "eval.episodes=20",
    )
    assert trainer.result.final_eval.success_rate == 1.0
    assert trainer.result.final_eval.mean_return == 1.0


def test_sarsa_finds_a_path_to_the_cliffwalking_goal(tmp_path):
    trainer = train(tmp_path, "agent=sarsa", "env=cliffwalking")  # its Sutton & Barto preset
    ev = trainer.result.final_eval
    assert ev.success_rate == 1.0
    assert ev.mean_return >= -17  # optimal -13 along the edge; SARSA's safe path is a few longer


@pytest.mark.slow
def test_dqn_clears_a_cartpole_threshold(tmp_path):
    # The RL Zoo preset at its own 50k-step budget. At 30k, whether this seed already balances
    # 500 steps depends on the CPU (float rounding differs; seed 0 reached 224.5 on one
    # machine, over 400 on another): at 50k it does on both.
    trainer = train(
        tmp_path,
        "agent=dqn",
        "env=cartpole",
        "seed=0",
        "eval.every_steps=2500",
    )
    assert trainer.result.best_eval_mean_return >= 400
    scalars = read_scalars(tmp_path)
    assert len(scalars["losses/td_loss"]) > 0
    assert np.isfinite([v for _, v in scalars["losses/td_loss"]]).all()


def test_same_seed_same_run_across_processes(tmp_path):
    args = [
        "agent=dqn",
        "env=cartpole",
        "seed=3",
        "total_timesteps=3000",
        "agent.learning_starts=500",
        "eval.every_steps=1000",
        "eval.episodes=3",
        "logger.log_every_steps=250",
        "logger.progress=false",
    ]
    runs = []
    for name in ("a", "b"):
        proc = run_cli(*args, f"hydra.run.dir={tmp_path / name}", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        runs.append(read_scalars(tmp_path / name))
    a, b = runs
    for tag in (
        "charts/episodic_return",
        "losses/td_loss",
        "losses/q_values",
        "eval/mean_return",
    ):
        assert len(a[tag]) > 0, tag
        assert a[tag] == b[tag], tag
    other = run_cli(*args[:2], "seed=4", *args[3:], f"hydra.run.dir={tmp_path / 'c'}", cwd=ROOT)
    assert other.returncode == 0, other.stderr
    assert read_scalars(tmp_path / "c")["losses/td_loss"] != a["losses/td_loss"]
