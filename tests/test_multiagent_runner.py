"""The multi-agent runner end to end: teams of real learners on real PettingZoo envs through the
real CLI, what TensorBoard shows per agent and for the team, and the one-line refusals."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from rlrun.agents.team import SharedLearner, tagged_space
from rlrun.transition import Transition
from tests.conftest import TINY, read_scalars, run_cli, run_ok, train


def test_independent_qlearners_coordinate_in_the_penalty_game(tmp_path):
    """Two tabular Q-learners through `rlrun` (the preset's Boltzmann exploration): each agent's
    and the team's curves, the temperature per agent, and a final evaluation that is the
    optimal payoff (10) for every agent."""
    run_dir = tmp_path / "run"
    scalars = run_ok("agent=qlearning", "env=penalty_game", *TINY, run_dir=run_dir)
    for tag in (
        "agent_0/charts/episodic_return",
        "agent_1/charts/episodic_return",
        "team/episodic_return",
        "team/episodic_length",
        "agent_0/charts/temperature",
        "agent_1/charts/temperature",
        "eval/mean_return",
        "eval/agent_0/mean_return",
    ):
        assert tag in scalars, tag
    assert len(scalars["team/episodic_return"]) == 3000  # one play an episode
    assert {v for _, v in scalars["team/episodic_length"]} == {1.0}
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "completed"
    assert summary["objective"] == 10.0
    assert summary["final_eval"]["metrics"] == {
        "agent_0/mean_return": 10.0,
        "agent_1/mean_return": 10.0,
    }


def test_rps_team_return_is_zero_and_players_are_apart(tmp_path):
    """Zero-sum: the team's return is 0 in every episode, the players' returns opposite."""
    scalars = run_ok("agent=qlearning", "env=rps", *TINY, run_dir=tmp_path / "run")
    assert {v for _, v in scalars["team/episodic_return"]} == {0.0}
    p0, p1 = ([v for _, v in scalars[f"player_{k}/charts/episodic_return"]] for k in range(2))
    assert p0 == [-v for v in p1] and any(p0)


def test_independent_learners_have_their_own_values_and_seeds(tmp_path):
    trainer = train(
        tmp_path,
        "agent=dqn",
        "env=simple_spread",
        "+agents.agent_1.learning_rate=0.01",
        "total_timesteps=200",
        "agent.learning_starts=100",
        "eval.episodes=1",
        "eval.every_steps=null",
    )
    learners = trainer.team.learners
    assert list(learners) == ["agent_0", "agent_1", "agent_2"]
    rates = [learner.cfg.learning_rate for learner in learners.values()]
    assert rates[1] == 0.01 and rates[0] == rates[2] != 0.01
    first = [
        next(learner.q_net.parameters()).flatten()[:5].tolist() for learner in learners.values()
    ]
    assert first[0] != first[1] != first[2]  # independently initialized


def test_shared_learner_tags_observations_with_the_agent():
    """One-hot ids appended to Box observations, Discrete ones offset into per-agent blocks;
    the rows go agent-major and the actions come back split by agent."""
    box = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    assert tagged_space(box, 3, "e").shape == (5,)
    assert tagged_space(gym.spaces.Discrete(4), 2, "e") == gym.spaces.Discrete(8)

    class Echo:  # a learner that acts its row's first feature and records what it saw
        def act(self, obs, *, explore):
            self.seen = obs
            return (obs[:, 0] if obs.ndim == 2 else obs).astype(np.int64)

        def observe(self, t, step):
            self.t, self.step = t, step

    agents = ["a", "b"]
    echo = Echo()
    team = SharedLearner(agents, echo, box)
    obs = {"a": np.array([[1.0, 2.0]] * 2, np.float32), "b": np.array([[3.0, 4.0]] * 2, np.float32)}
    actions = team.act(obs, explore=True)
    np.testing.assert_array_equal(
        echo.seen, [[1, 2, 1, 0], [1, 2, 1, 0], [3, 4, 0, 1], [3, 4, 0, 1]]
    )
    np.testing.assert_array_equal(actions["a"], [1, 1])
    np.testing.assert_array_equal(actions["b"], [3, 3])
    ts = {
        a: Transition(
            obs[a], actions[a], np.full(2, k), obs[a], np.array([k == 1] * 2), np.zeros(2)
        )
        for k, a in enumerate(agents)
    }
    team.observe(ts, step=10)
    assert echo.step == 20  # agent-steps
    np.testing.assert_array_equal(echo.t.reward, [0, 0, 1, 1])
    np.testing.assert_array_equal(echo.t.terminated, [False, False, True, True])

    discrete = SharedLearner(agents, echo, gym.spaces.Discrete(4))
    discrete.act({"a": np.array([3]), "b": np.array([3])}, explore=False)
    np.testing.assert_array_equal(echo.seen, [3, 7])


def test_shared_ppo_on_simple_spread_runs_and_logs_one_network(tmp_path):
    run_dir = tmp_path / "run"
    scalars = run_ok(
        "agent=ppo",
        "env=simple_spread",
        "agent.share_parameters=true",
        "agent.n_steps=128",
        *TINY,
        run_dir=run_dir,
    )
    assert "losses/policy_loss" in scalars  # the one network's, not per agent
    assert not any(tag.startswith("agent_0/losses") for tag in scalars)
    assert [s for s, _ in scalars["eval/mean_return"]] == [1000, 2000, 3000]
    episodes = scalars["team/episodic_length"]
    assert len(episodes) == 3000 // 25 and {v for _, v in episodes} == {25.0}  # truncated at 25


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["agent=dqn", "env=cartpole", "agent.share_parameters=true"], "agent.share_parameters:"),
        (["agent=dqn", "env=cartpole", "+agents.agent_0.learning_rate=0.1"], "agents:"),
        (
            ["agent=gradient_bandit", "env=penalty_game"],
            "agent: agent 'gradient_bandit' learns bandits",
        ),
        (["agent=ars", "env=simple_spread"], "agent: agent 'ars' restarts episodes"),
        (
            ["agent=qlearning", "env=penalty_game", "video.every_steps=100"],
            "video: rlrun.envs.matrix_games:penalty_game cannot render RGB frames",
        ),
        (
            ["agent=qlearning", "env=penalty_game", "+agents.nobody.learning_rate=0.1"],
            "agents.nobody:",
        ),
        (
            ["agent=qlearning", "env=penalty_game", "+agents.agent_0.learning_rate=-1"],
            "agents.agent_0.learning_rate",
        ),
        (
            [
                "agent=qlearning",
                "env=penalty_game",
                "agent.share_parameters=true",
                "+agents.agent_0.learning_rate=0.1",
            ],
            "agents:",
        ),
        (["agent=dqn", "env=custom_marl", "env.id=pettingzoo.classic.tictactoe_v3"], "turn-based"),
    ],
)
def test_bad_multiagent_configs_are_one_line_errors(tmp_path, args, message):
    proc = run_cli(*args, *TINY, f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().count("\n") == 0, proc.stderr
    assert message in proc.stderr, proc.stderr


def test_rps_exploitability_is_pinned_by_hand_values():
    """The benchmark's measure: 0 for the uniform policy (the Nash equilibrium), 0.5 averaged
    over the players when one always plays rock (its best responder wins every play), and
    the best responder steers a reactive policy into the state it can exploit."""
    from benchmarks.rps_selfplay import exploitability, payoff_matrix

    u = payoff_matrix()
    np.testing.assert_array_equal(u, [[0, -1, 1], [1, 0, -1], [-1, 1, 0]])  # read from the env
    uniform = np.full((4, 3), 1 / 3)
    rock = np.tile([1.0, 0.0, 0.0], (4, 1))
    assert exploitability({"player_0": uniform, "player_1": uniform}, u, 15) == 0.0
    assert exploitability({"player_0": rock, "player_1": uniform}, u, 15) == pytest.approx(0.5)
    # player_0 plays rock only after player_1 played paper (observation 1), else uniformly: the
    # best responder's first play earns 0, then paper every time (wins): (0 + 14) / 15 per play
    reactive = uniform.copy()
    reactive[1] = [1.0, 0.0, 0.0]
    gain = exploitability({"player_0": reactive, "player_1": uniform}, u, 15)
    assert gain == pytest.approx((14 / 15) / 2)


def test_a_multiagent_sweep_reports_the_team_return(tmp_path):
    """`rlrun -m` over seeds: every job's summary holds the team's evaluation return, and the
    sweep report lists them."""
    sweep_dir = tmp_path / "sweep"
    proc = run_cli(
        "-m",
        "agent=qlearning",
        "env=penalty_game",
        "seed=0,1",
        *TINY,
        f"hydra.sweep.dir={sweep_dir}",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    summaries = [json.loads(p.read_text()) for p in sorted(sweep_dir.glob("*/summary.json"))]
    assert [s["objective"] for s in summaries] == [10.0, 10.0]
    (row,) = csv.DictReader((sweep_dir / "report.csv").open())  # one config, its two seeds
    assert (row["seeds"], row["failed"], row["mean_return"], row["iqm_return"]) == (
        "2",
        "0",
        "10.0",
        "10.0",
    )


def test_a_multiagent_env_without_pettingzoo_says_what_to_install(monkeypatch):
    import importlib.util

    from rlrun.errors import ConfigError
    from rlrun.validate import validate
    from tests.conftest import compose_config

    cfg = compose_config("agent=qlearning", "env=penalty_game")
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "pettingzoo" else real(name, *a),
    )
    with pytest.raises(ConfigError, match=r'env.api: .*pip install -e "\.\[marl\]"'):
        validate(cfg)


def test_multiagent_videos_during_training_and_from_rlrun_eval(tmp_path):
    """The team's deterministic episode as a GIF every `video.every_steps` (and in TensorBoard's
    Images tab), and from `rlrun-eval video=true`: frames of the whole grid, one per step from
    the first observation to the episode's end."""
    import imageio.v3 as iio
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from rlrun.envs.grid_hunt import CELL

    run_dir = tmp_path / "run"
    run_ok(
        "agent=dqn",
        "env=grid_hunt",
        "total_timesteps=1000",
        "agent.learning_starts=200",
        "eval.every_steps=500",
        "eval.episodes=2",
        "video.every_steps=500",
        run_dir=run_dir,
    )
    frames = iio.imread(run_dir / "videos" / "step_1000.gif")
    assert frames.shape[1:] == (7 * CELL, 7 * CELL, 3) and 2 <= len(frames) <= 51
    acc = EventAccumulator(str(run_dir), size_guidance={"images": 0})
    acc.Reload()
    assert [im.step for im in acc.Images("videos/eval")] == [500, 1000]

    exe = Path(sys.executable).with_name("rlrun-eval")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "rlrun.eval_cli"]
    out = subprocess.run(
        [*cmd, str(run_dir), "episodes=2", "video=true"], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert "hunter_0/mean_return" in out.stdout and "(return " in out.stdout
    (video,) = (run_dir / "videos").glob("eval_best_*.gif")
    assert iio.imread(video).shape[1:] == (7 * CELL, 7 * CELL, 3)


def test_an_optuna_search_over_a_team_scores_the_team_evaluation(tmp_path):
    """`hparams_search` on a multi-agent env: each trial's objective is the mean of its run's
    last team evaluations (the mean over agents), as for one agent."""
    optuna = pytest.importorskip("optuna")
    sweep = tmp_path / "search"
    proc = run_cli(
        "-m",
        "agent=qlearning",
        "env=penalty_game",
        "hparams_search=qlearning",
        "total_timesteps=1000",
        "eval.every_steps=250",
        "eval.episodes=2",
        "eval.num_envs=1",
        "logger.progress=false",
        "hydra.sweeper.n_trials=3",
        "hydra.sweeper.seeds=1",
        "hydra.sweeper.smoothing=2",
        "hydra.sweeper.n_startup_trials=2",
        f"hydra.sweep.dir={sweep}",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(sweep / "optuna.journal"))
    )
    trials = optuna.load_study(study_name="qlearning_penalty_game", storage=storage).get_trials()
    assert [t.state for t in trials] == [optuna.trial.TrialState.COMPLETE] * 3
    for t in trials:
        (run_dir,) = t.user_attrs["run_dirs"]
        summary = json.loads((Path(run_dir) / "summary.json").read_text())
        last = summary["evaluations"][-2:]
        assert t.value == pytest.approx(sum(e[2] for e in last) / 2)
        assert "eval/agent_0/mean_return" in read_scalars(Path(run_dir))
    assert (sweep / "best.yaml").exists() and (sweep / "report.md").exists()
