"""Checkpoints, resume, interrupts, guards, evaluation and video: runs that survive."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch

from rlrun import checkpoint
from rlrun.errors import Interrupted

from .conftest import (
    ROOT,
    compose_config,
    get,
    read_scalars,
    run_cli,
    tensorboard_server,
)

QUICK_EVAL = [
    "eval.episodes=2",
    "eval.num_envs=2",
    "logger.log_every_steps=250",
    "logger.progress=false",
]


# --- the state walker ----------------------------------------------------------------------------


@pytest.mark.parametrize("env_id", ["CartPole-v1", "FrozenLake-v1", "Pendulum-v1"])
def test_captured_env_continues_exactly(env_id):
    """An env restored from its captured state steps exactly as the original goes on to."""
    from rlrun.config.run import EnvConfig
    from rlrun.envs.vector import make_vec_env

    env = make_vec_env(EnvConfig(id=env_id), 2)
    env.reset(seed=1)
    env.action_space.seed(1)
    for _ in range(7):
        env.step(env.action_space.sample())
    saved = checkpoint.capture(env, skip=checkpoint.STRUCTURE)
    actions = [env.action_space.sample() for _ in range(30)]
    expected = [env.step(a)[:3] for a in actions]

    fresh = make_vec_env(EnvConfig(id=env_id), 2)
    fresh.reset(seed=99)  # a different episode, overwritten by the restore
    checkpoint.restore(fresh, saved)
    for a, (obs, reward, terminated) in zip(actions, expected, strict=True):
        o, r, t = fresh.step(a)[:3]
        np.testing.assert_array_equal(o, obs)
        np.testing.assert_array_equal(r, reward)
        np.testing.assert_array_equal(t, terminated)


def test_capture_refuses_state_held_in_c():
    pytest.importorskip("Box2D")
    from rlrun.config.run import EnvConfig
    from rlrun.envs.vector import make_vec_env

    env = make_vec_env(EnvConfig(id="LunarLander-v3"), 1)
    with pytest.raises(checkpoint.NotCapturable, match="b2World"):
        checkpoint.capture(env, skip=checkpoint.STRUCTURE)


def test_non_finite_values_are_found_by_path():
    net = torch.nn.Linear(2, 2)
    tree = checkpoint.capture({"net": net, "q": np.zeros(3)})
    assert checkpoint.first_non_finite(tree) is None
    with torch.no_grad():
        net.bias[1] = float("nan")
    tree = checkpoint.capture({"net": net, "q": np.zeros(3)})
    assert checkpoint.first_non_finite(tree) == "net.bias"


# --- files ---------------------------------------------------------------------------------------


def test_a_crash_mid_write_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    ckpts = checkpoint.Checkpoints(tmp_path / "checkpoints", keep=2)
    ckpts.save(100, {"step": 100, "w": torch.ones(3)})

    real_save = torch.save

    def crash_halfway(obj, f):
        real_save(obj, f)
        f.truncate(f.tell() // 2)  # half the bytes are on disk when the process dies
        raise OSError("simulated crash during the write")

    monkeypatch.setattr(torch, "save", crash_halfway)
    with pytest.raises(
        checkpoint.CheckpointError,
        match=r"could not write .*step_200.pt: simulated crash .*; last.pt \(step 100\) is intact",
    ):
        ckpts.save(200, {"step": 200, "w": torch.zeros(3)})
    monkeypatch.undo()

    data = checkpoint.load(ckpts.last)
    assert data["step"] == 100
    assert torch.equal(data["w"], torch.ones(3))
    assert sorted(p.name for p in ckpts.dir.iterdir()) == ["last.pt", "step_100.pt"]


def test_only_the_newest_checkpoints_are_kept(tmp_path):
    ckpts = checkpoint.Checkpoints(tmp_path, keep=2)
    for step in (10, 20, 30):
        ckpts.save(step, {"step": step})
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "last.pt",
        "step_20.pt",
        "step_30.pt",
    ]
    assert checkpoint.load(ckpts.last)["step"] == 30


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such checkpoint"),
        (b"not a checkpoint at all", "not a checkpoint file"),
        ("truncated", "truncated or damaged"),
        ("foreign", "not an rlrun checkpoint"),
        ("code", "holds objects other than plain data"),
    ],
)
def test_bad_checkpoint_files_are_one_line_errors(tmp_path, content, message):
    path = tmp_path / "x.pt"
    if content == "truncated":
        torch.save({"format": checkpoint.FORMAT, "w": torch.zeros(1000)}, path)
        path.write_bytes(path.read_bytes()[:2000])
    elif content == "foreign":
        torch.save({"state_dict": {"w": torch.zeros(1)}}, path)
    elif content == "code":
        torch.save({"format": checkpoint.FORMAT, "x": Interrupted(2)}, path)
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(checkpoint.CheckpointError, match=message) as info:
        checkpoint.load(path)
    assert "\n" not in str(info.value)


# --- resume equivalence --------------------------------------------------------------------------


def _build(run_dir: Path, *overrides: str):
    from rlrun.experiment import build
    from rlrun.validate import validate

    cfg = compose_config(*QUICK_EVAL, *overrides)
    return build(validate(cfg), cfg, run_dir)


def _train(run_dir: Path, *overrides: str, interrupt_at: int | None = None):
    """Train as `rlrun` would; with `interrupt_at`, a SIGINT arrives during that step."""
    trainer, logger = _build(run_dir, *overrides)
    if interrupt_at is not None:

        def signal_at(step, _result):
            if step == interrupt_at:
                trainer.on_signal(signal.SIGINT)
            return False

        trainer.on_eval = signal_at
    try:
        trainer.train()
    finally:
        logger.close()
    return trainer


DEMOS = "{frozenlake_demos}"  # the conftest fixture's file, made for the cases that name it
RESUME_CASES = {
    "qlearning": ["agent=qlearning", "env=frozenlake", "total_timesteps=4000"],
    "sarsa": ["agent=sarsa", "env=cliffwalking", "total_timesteps=4000"],
    "dqn": [
        "agent=dqn",
        "env=cartpole",
        "total_timesteps=3000",
        "agent.learning_starts=500",
        "agent.buffer_size=5000",
        "agent.target_update_interval=300",
    ],
    "dqn_per_nstep": [
        "agent=dqn",
        "env=cartpole",
        "env.num_envs=2",
        "total_timesteps=3000",
        "agent.learning_starts=500",
        "agent.n_step=3",
        "agent.prioritized_replay=true",
    ],
    "ppo": [
        "agent=ppo",
        "env=cartpole",
        "env.num_envs=2",
        "agent.batch_size=64",  # the preset's 256 is all 8 envs' rollout
        "total_timesteps=3000",
    ],
    "random_search": [
        "agent=random_search",
        "agent.variant=hill_climbing",
        "env=cartpole",
        "env.num_envs=2",
        "total_timesteps=3000",
    ],
    "cem": [
        "agent=cem",
        "agent.population=8",
        "env=cartpole",
        "env.num_envs=2",
        "total_timesteps=3000",
    ],
    "trpo": [  # with the preset's gSDE: its noise matrices mid-rollout at the interrupt
        "agent=trpo",
        "env=pendulum",
        "agent.use_sde=true",
        "agent.sde_sample_freq=4",
        "agent.n_steps=256",
        "total_timesteps=3000",
    ],
    "ars": [  # V2 statistics and an iteration in flight at the interrupt, an env running theta
        "agent=ars",
        "agent.n_delta=2",
        "agent.policy=mlp",
        "agent.net_arch=[8]",
        "agent.normalize_obs=true",
        "agent.zero_policy=false",
        "env=pendulum",
        "env.num_envs=3",
        "total_timesteps=3000",
    ],
    "ppo_normalized": [
        "agent=ppo",
        "env=pendulum",
        "env.num_envs=2",
        "total_timesteps=3000",
        "agent.n_steps=256",
        "agent.normalize_obs=true",
        "agent.normalize_reward=true",
    ],
    "sac": [
        "agent=sac",
        "env=pendulum",
        "total_timesteps=2000",
        "agent.learning_starts=1000",
        "agent.batch_size=32",
        "agent.net_arch=[32,32]",
    ],
    # multi-agent: every learner's replay buffer and network, and mpe2's world mid-episode
    "marl_dqn_independent": [
        "agent=dqn",
        "env=simple_spread",
        "env.num_envs=2",
        "agent.learning_starts=500",
        "agent.batch_size=32",
        "agent.net_arch=[32,32]",
        "+agents.agent_1.learning_rate=0.003",
        "total_timesteps=3000",
    ],
    "marl_ppo_shared": [
        "agent=ppo",
        "env=simple_spread",
        "env.num_envs=2",
        "agent.share_parameters=true",
        "agent.n_steps=128",
        "agent.batch_size=64",
        "total_timesteps=3000",
    ],
    "sac_gsde": [  # noise matrices and the train_freq block in flight at the interrupt
        "agent=sac",
        "env=pendulum",
        "total_timesteps=2000",
        "agent.learning_starts=1000",
        "agent.use_sde=true",
        "agent.use_sde_at_warmup=true",
        "agent.sde_sample_freq=3",
        "agent.train_freq=7",
        "agent.gradient_steps=2",
        "agent.batch_size=32",
        "agent.net_arch=[32,32]",
    ],
    "bootstrapped_dqn": [  # bootstrap masks, priors, and each env's head mid-episode
        "agent=bootstrapped_dqn",
        "env=deepsea",
        "env.kwargs.size=7",
        "env.num_envs=2",
        "agent.n_heads=4",
        "agent.mask_prob=0.5",
        "agent.buffer_size=2000",
        "agent.learning_starts=300",
        "total_timesteps=3000",
    ],
    # the model, its time stamps and the maze's step count (its walls change at 1000) mid-episode
    "dyna_q_plus": [
        "agent=dyna_q_plus",
        "agent.planning_steps=10",
        "env=blocking_maze",
        "total_timesteps=3000",
    ],
    "intra_option_q": [  # the options running in each env, their returns so far
        "agent=intra_option_q",
        "env=four_rooms",
        "env.num_envs=2",
        "total_timesteps=3000",
    ],
    "option_critic": [  # each env's running option and its length so far, the learned options
        "agent=option_critic",
        "env=four_rooms",
        "env.num_envs=2",
        "total_timesteps=3000",
    ],
    "deep_option_critic": [  # the running options, the replay buffer, RMSprop's state
        "agent=deep_option_critic",
        "env=cartpole",
        "env.num_envs=2",
        "agent.learning_starts=500",
        "agent.target_update_interval=300",
        "total_timesteps=3000",
    ],
    "mce_irl": [  # the optimizer's moments and the warm start of soft policy iteration
        "agent=mce_irl",
        "env=frozenlake",
        "env.kwargs.is_slippery=false",
        "demos={frozenlake_demos}",
        "total_timesteps=3000",
    ],
    "dyna_prioritized_sweeping": [  # the priority queue at the interrupt, two envs
        "agent=prioritized_sweeping",
        "agent.planning_steps=10",
        "env=shortcut_maze",
        "env.kwargs.change_at=1000",
        "env.num_envs=2",
        "total_timesteps=3000",
    ],
}


@pytest.mark.parametrize("case", list(RESUME_CASES))
def test_interrupted_and_resumed_equals_straight(tmp_path, case, request):
    """N steps, a SIGINT, resume to N+M == N+M straight: same weights, evaluations and curves."""
    overrides = [
        *(
            o.replace(DEMOS, str(request.getfixturevalue("frozenlake_demos"))) if DEMOS in o else o
            for o in RESUME_CASES[case]
        ),
        "eval.every_steps=500",
        "checkpoint.every_steps=1000",
        "checkpoint.save_replay_buffer=true",
    ]
    straight = _train(tmp_path / "straight", *overrides)
    with pytest.raises(Interrupted):
        _train(tmp_path / "resumed", *overrides, interrupt_at=1500)
    assert checkpoint.load(tmp_path / "resumed/checkpoints/last.pt")["step"] == 1500
    resumed = _train(tmp_path / "resumed", *overrides, f"resume={tmp_path / 'resumed'}")

    want, got = (t.checkpoint(replay=True) for t in (straight, resumed))
    assert_same_tree(got["agent"], want["agent"])
    assert_same_tree(got["replay"], want["replay"])
    a, b = straight.result, resumed.result
    assert (b.steps, b.episodes) == (a.steps, a.episodes)
    assert [(s, r) for s, _, r in b.evaluations] == [(s, r) for s, _, r in a.evaluations]
    assert b.final_eval == a.final_eval

    want_tb = read_scalars(tmp_path / "straight")
    got_tb = read_scalars(tmp_path / "resumed")
    episodic = {"marl": "team/episodic_return", "mce_": "losses/irl_loss"}.get(
        case[:4], "charts/episodic_return"
    )
    for tag in (episodic, "eval/mean_return"):
        assert got_tb[tag] == want_tb[tag], tag
    for (
        tag,
        points,
    ) in got_tb.items():  # no duplicated or missing steps after the resume
        steps = [s for s, _ in points]
        assert steps == sorted(steps), tag
        if "/episodic" not in tag:  # (several episodes may end in one step)
            assert len(steps) == len(set(steps)), tag
            assert steps == [s for s, _ in want_tb[tag]], tag


def assert_same_tree(got, want, path=""):
    if isinstance(want, torch.Tensor):
        assert torch.equal(got, want), path
    elif isinstance(want, dict):
        assert got.keys() == want.keys(), path
        for k in want:
            assert_same_tree(got[k], want[k], f"{path}.{k}")
    elif isinstance(want, (list, tuple)):
        assert len(got) == len(want), path
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            assert_same_tree(g, w, f"{path}[{i}]")
    else:
        assert got == want, path


def test_resume_refuses_another_config(tmp_path):
    overrides = ["agent=qlearning", "env=frozenlake", "total_timesteps=2000"]
    _train(tmp_path / "run", *overrides, "eval.every_steps=1000")
    with pytest.raises(
        checkpoint.CheckpointError, match=r"agent.gamma=0.99 in the checkpoint, 0.5 now"
    ):
        _build(
            tmp_path / "run",
            *overrides,
            "agent.gamma=0.5",
            "total_timesteps=4000",
            f"resume={tmp_path / 'run'}",
        )


# --- the real command: signals, NaN, provenance, eval and video ----------------------------------

LONG_DQN = [
    "agent=dqn",
    "env=cartpole",
    "total_timesteps=12000",
    "eval.every_steps=4000",
    "agent.learning_starts=500",
    "checkpoint.every_steps=500",
    "checkpoint.save_replay_buffer=true",
    *QUICK_EVAL,
]


def start_rlrun(run_dir: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    exe = Path(sys.executable).with_name("rlrun")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "rlrun"]
    return subprocess.Popen(
        [*cmd, *args, f"hydra.run.dir={run_dir}"],
        cwd=run_dir.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(path: Path, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


@pytest.mark.parametrize(
    ("signum", "code"),
    [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGKILL, -9)],
)
def test_a_killed_run_resumes_to_the_end(tmp_path, signum, code):
    run_dir = tmp_path / "run"
    proc = start_rlrun(run_dir, *LONG_DQN)
    wait_for(run_dir / "checkpoints" / "step_1000.pt", proc)
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == code, stderr

    last = checkpoint.load(run_dir / "checkpoints" / "last.pt")
    assert 1000 <= last["step"] < 12000
    if signum != signal.SIGKILL:
        summary = json.loads((run_dir / "summary.json").read_text())
        assert summary["status"] == "interrupted"
        assert "Traceback" not in stderr
        # the interrupt was handled at a step boundary, with a checkpoint of that very step
        assert summary["steps"] == last["step"]

    proc = run_cli(f"resume={run_dir}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "completed"
    assert summary["steps"] == 12000
    assert summary["resumed_from_step"] == last["step"]
    scalars = read_scalars(run_dir)
    sps_steps = [s for s, _ in scalars["charts/SPS"]]
    assert sps_steps == list(range(250, 12001, 250))  # no gap, no duplicate
    assert [s for s, _ in scalars["eval/mean_return"]] == [4000, 8000, 12000]
    provenance = json.loads((run_dir / "provenance.json").read_text())
    assert len(provenance["runs"]) == 2
    assert any("resume=" in a for a in provenance["runs"][1]["overrides"])


def test_a_two_agent_dqn_run_killed_by_sigkill_resumes_bit_identically(tmp_path):
    """Two hunters' DQN learners with their replay buffers saved: SIGKILL after a checkpoint,
    resume, and the run ends with the weights, buffers, evaluations and team curve of a run
    that was never stopped."""
    pytest.importorskip("pettingzoo", reason="the marl extra: pip install -e '.[marl]'")
    args = [
        "agent=dqn",
        "env=grid_hunt",
        "total_timesteps=4000",
        "agent.learning_starts=500",
        "agent.buffer_size=5000",
        "agent.net_arch=[32,32]",
        "checkpoint.every_steps=500",
        "checkpoint.save_replay_buffer=true",
        "eval.every_steps=1000",
        *QUICK_EVAL,
    ]
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    assert run_cli(*args, f"hydra.run.dir={straight}", cwd=tmp_path).returncode == 0
    proc = start_rlrun(killed, *args)
    wait_for(killed / "checkpoints" / "step_1000.pt", proc)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=120)
    assert proc.returncode == -9
    assert checkpoint.load(killed / "checkpoints" / "last.pt")["step"] < 4000
    proc = run_cli(f"resume={killed}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr

    want, got = (checkpoint.load(d / "checkpoints" / "last.pt") for d in (straight, killed))
    assert list(got["agent"]) == ["hunter_0", "hunter_1"]
    assert_same_tree(got["agent"], want["agent"])
    assert_same_tree(got["replay"], want["replay"])
    summaries = [json.loads((d / "summary.json").read_text()) for d in (straight, killed)]
    want_evals, got_evals = ([(s, r) for s, _, r in x["evaluations"]] for x in summaries)
    assert got_evals == want_evals and len(want_evals) == 4
    want_tb, got_tb = read_scalars(straight), read_scalars(killed)
    assert got_tb["team/episodic_return"] == want_tb["team/episodic_return"]


def quick_run(run_dir: Path) -> None:
    proc = run_cli(
        "agent=qlearning",
        "env=frozenlake",
        "total_timesteps=1000",
        "eval.every_steps=500",
        *QUICK_EVAL,
        f"hydra.run.dir={run_dir}",
        cwd=run_dir.parent,
    )
    assert proc.returncode == 0, proc.stderr


def test_provenance_records_config_overrides_and_versions(tmp_path):
    quick_run(tmp_path / "run")
    (entry,) = json.loads((tmp_path / "run/provenance.json").read_text())["runs"]
    assert "agent=qlearning" in entry["overrides"]
    assert entry["config"]["agent"]["name"] == "qlearning"
    assert entry["config"]["total_timesteps"] == 1000
    assert entry["packages"]["torch"] == torch.__version__
    for name in ("rlrun", "gymnasium", "numpy", "hydra-core"):
        assert entry["packages"][name]


def one_line_error(proc: subprocess.CompletedProcess, message: str) -> None:
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0, proc.stderr
    assert message in proc.stderr


def test_a_signal_in_the_last_step_lets_the_run_finish(tmp_path):
    trainer, logger = _build(tmp_path, "agent=qlearning", "env=frozenlake", "total_timesteps=1000")
    update = trainer.agent.update

    def update_then_signal(step: int) -> None:
        update(step)
        if step == 1000:
            trainer.on_signal(signal.SIGTERM)

    trainer.agent.update = update_then_signal
    try:
        result = trainer.train()  # no Interrupted: only a second signal would stop it now
    finally:
        logger.close()
    assert result.steps == 1000
    assert [s for s, _, _ in result.evaluations][-1] == 1000
    assert checkpoint.load(tmp_path / "checkpoints/last.pt")["step"] == 1000


def test_resume_follows_the_new_intervals(tmp_path):
    run_dir = tmp_path / "run"
    quick_run(run_dir)  # 1000 steps: eval every 500, checkpoint every 10k, no video
    proc = run_cli(
        f"resume={run_dir}",
        "total_timesteps=2000",
        "eval.every_steps=250",
        "checkpoint.every_steps=null",
        "video.every_steps=500",
        "video.max_frames=5",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    evals = [s for s, _ in read_scalars(run_dir)["eval/mean_return"]]
    assert evals == [500, 1000, 1250, 1500, 1750, 2000]
    assert sorted(p.name for p in (run_dir / "videos").iterdir()) == [
        "step_1500.gif",
        "step_2000.gif",
    ]
    assert sorted(p.name for p in (run_dir / "checkpoints").glob("step_*.pt")) == [
        "step_1000.pt",
        "step_2000.pt",  # the final one only
    ]


def test_resume_errors_are_one_line_and_change_nothing(tmp_path):
    one_line_error(
        run_cli(f"resume={tmp_path / 'nothing'}", cwd=tmp_path),
        "not an rlrun run directory",
    )
    run_dir = tmp_path / "run"
    quick_run(run_dir)
    summary = (run_dir / "summary.json").read_bytes()
    provenance = (run_dir / "provenance.json").read_bytes()
    one_line_error(
        run_cli(f"resume={run_dir}", cwd=tmp_path),
        "the run already finished (1000 of total_timesteps=1000 steps)",
    )
    one_line_error(
        run_cli(f"resume={run_dir}", "env=cartpole", cwd=tmp_path),
        "resume: env=cartpole: a resumed run keeps its config groups",
    )
    one_line_error(
        run_cli(f"resume={run_dir}", "agent.gamma=0.5", "total_timesteps=2000", cwd=tmp_path),
        "agent.gamma=0.99 in the checkpoint, 0.5 now",
    )
    # a refused resume leaves no trace
    assert not (run_dir / ".hydra" / "resume").exists()
    assert (run_dir / "summary.json").read_bytes() == summary
    assert (run_dir / "provenance.json").read_bytes() == provenance

    last = run_dir / "checkpoints" / "last.pt"
    good = last.read_bytes()
    last.write_bytes(good[: len(good) // 2])
    one_line_error(
        run_cli(f"resume={run_dir}", "total_timesteps=2000", cwd=tmp_path),
        "truncated or damaged",
    )
    last.write_bytes(good)
    proc = run_cli(f"resume={run_dir}", "total_timesteps=2000", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((run_dir / "summary.json").read_text())["steps"] == 2000


@pytest.mark.parametrize(
    ("log_every", "message"),
    [
        (
            50,
            "step 150: losses/td_loss is nan; training stopped",
        ),  # the loss, logged first
        (
            1000,
            "step 200: agent.q holds NaN or inf; not saved",
        ),  # the table, at its save
    ],
)
def test_nan_stops_the_run_cleanly(tmp_path, log_every, message):
    run_dir = tmp_path / "run"
    proc = run_cli(
        "agent=qlearning",
        "env=custom",
        "env.id=tests.envs:NaNReward-v0",  # rewards turn NaN at step 150
        "total_timesteps=5000",
        "eval.every_steps=1000",
        "eval.episodes=2",
        "checkpoint.every_steps=100",
        f"logger.log_every_steps={log_every}",
        "logger.progress=false",
        f"hydra.run.dir={run_dir}",
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0, proc.stderr
    assert message in proc.stderr
    assert "the last good checkpoint is" in proc.stderr
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "failed"
    assert "NonFiniteError" in summary["error"]
    last = checkpoint.load(run_dir / "checkpoints" / "last.pt")
    assert last["step"] == 100
    assert checkpoint.first_non_finite(last["agent"]) is None


def test_eval_command_and_training_videos(tmp_path):
    run_dir = tmp_path / "run"
    proc = run_cli(
        "agent=dqn",
        "env=cartpole",
        "total_timesteps=1000",
        "eval.every_steps=500",
        "agent.learning_starts=200",
        "video.every_steps=500",
        "video.max_frames=40",
        *QUICK_EVAL,
        f"hydra.run.dir={run_dir}",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    for step in (500, 1000):
        assert (run_dir / "videos" / f"step_{step}.gif").stat().st_size > 1000

    from tensorboard.backend.event_processing.event_accumulator import (
        EventAccumulator,
    )

    acc = EventAccumulator(str(run_dir), size_guidance={"images": 0})
    acc.Reload()
    images = acc.Images("videos/eval")
    assert [im.step for im in images] == [500, 1000]
    assert images[0].encoded_image_string[:6] == b"GIF89a"
    with tensorboard_server(run_dir) as base:  # what the Images tab of the web page shows
        (run,) = get(f"{base}/data/runs")
        assert get(f"{base}/data/plugin/images/tags")[run]["videos/eval"]
        shown = get(f"{base}/data/plugin/images/images?run={run}&tag=videos/eval")
        assert [im["step"] for im in shown] == [500, 1000]
        url = f"{base}/data/plugin/images/individualImage?{shown[-1]['query']}"
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.read()[:6] == b"GIF89a"

    exe = Path(sys.executable).with_name("rlrun-eval")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "rlrun.eval_cli"]
    out = subprocess.run(
        [*cmd, str(run_dir), "episodes=3", "video=true"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "mean return" in out.stdout
    assert "best.pt" in out.stdout
    (video,) = (run_dir / "videos").glob("eval_best_*.gif")
    assert video.stat().st_size > 1000

    out = subprocess.run(
        [*cmd, str(run_dir), "episodes=0"], capture_output=True, text=True, check=False
    )
    assert out.returncode == 2
    assert out.stderr.startswith("rlrun-eval: error: episodes")


def test_video_of_an_env_that_cannot_render_fails_before_training(tmp_path):
    run_dir = tmp_path / "run"
    proc = run_cli(
        "agent=qlearning",
        "env=custom",
        "env.id=tests.envs:ForeverTimeLimitDiscrete-v0",  # no render_mode argument
        "video.every_steps=250",
        *QUICK_EVAL,
        f"hydra.run.dir={run_dir}",
        cwd=tmp_path,
    )
    one_line_error(proc, "video: tests.envs:ForeverTimeLimitDiscrete-v0 cannot render")
    assert json.loads((run_dir / "summary.json").read_text())["status"] == "failed"
    assert not (run_dir / "checkpoints").exists()


def test_a_killed_writers_temporary_files_go_with_the_next_process(tmp_path):
    directory = tmp_path / "checkpoints"
    checkpoint.Checkpoints(directory, keep=2).save(100, {"step": 100})
    for name in (".step_200.pt.4242.tmp", ".last.pt.4242.tmp"):  # a SIGKILL mid-write
        (directory / name).write_bytes(b"PK\x03\x04 half")
    checkpoint.Checkpoints(directory, keep=2)
    assert sorted(p.name for p in directory.iterdir()) == ["last.pt", "step_100.pt"]


def test_a_resumed_runs_event_file_sorts_after_the_earlier_ones(tmp_path):
    """TensorBoard reads event files in name order; names start with the creation second and go
    on with an unpadded pid and counter, so a file made within the same second as the last one
    could sort before it and its purge be read first. The logger waits for a later second."""
    import socket

    from rlrun.logger import TensorBoardLogger

    now = int(time.time())  # this process's earlier file, its counter "99999" > "1...", "8..."
    earlier = (
        tmp_path / f"events.out.tfevents.{now:010d}.{socket.gethostname()}.{os.getpid()}.99999"
    )
    earlier.write_bytes(b"")
    logger = TensorBoardLogger(tmp_path, purge_step=100)
    logger.scalar("x", 1.0, 100)
    logger.close()
    files = sorted(p.name for p in tmp_path.glob("events.out.tfevents.*"))
    assert files[0] == earlier.name and len(files) == 2  # the new one is read last
