"""Seed-batched groups (`hydra/launcher=batched`, rlrun.runners.batched): the batched maths equals
each seed's own, every job gets its own records, a group is reproducible, a member resumes alone,
and a failing seed fails only its own job."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from rlrun.agents.base import make_agent
from rlrun.envs.toy_text import ToyTextVectorEnv
from rlrun.envs.vector import finished, true_next_obs
from rlrun.transition import Spaces, Transition
from rlrun.validate import validate

from .conftest import TINY, compose_config, read_scalars, run_cli


def frozenlake_env(*overrides: str):
    return validate(compose_config("agent=qlearning", "env=frozenlake", *overrides))


def test_toy_text_env_draws_from_the_transition_table():
    rc = frozenlake_env()
    env = ToyTextVectorEnv(rc.env, 6000)
    obs, _ = env.reset(seed=0)
    assert (obs == 0).all()  # FrozenLake starts at the top-left corner
    next_obs, reward, terminated, truncated, _ = env.step(np.full(6000, 1))  # "down" from 0
    # slippery: down, or either side of it, each with probability 1/3 (P[0][1])
    expected: dict[int, float] = {}
    for p, state, _, _ in gym.make("FrozenLake-v1").unwrapped.P[0][1]:
        expected[state] = expected.get(state, 0.0) + p
    assert sorted(expected) == [0, 1, 4]
    freq = {int(state): float(np.mean(next_obs == state)) for state in np.unique(next_obs)}
    assert freq == pytest.approx(expected, abs=0.025)  # 4.5 standard errors
    assert not terminated.any() and not truncated.any() and not reward.any()


def test_toy_text_env_ends_episodes_as_the_vector_env_does():
    rc = frozenlake_env("env.kwargs.is_slippery=false")
    env = ToyTextVectorEnv(rc.env, 2)
    env.reset(seed=0)
    # env 0 walks into the hole at state 5 (right, then down); env 1 stays put (left) until the
    # 100-step limit truncates it
    for t in range(100):
        actions = np.array([2 if t == 0 else 1 if t == 1 else 0, 0])
        obs, _, terminated, truncated, infos = env.step(actions)
        if t == 1:
            done = finished(infos)
            assert done is not None and done.envs.tolist() == [True, False]
            assert done.lengths[0] == 2 and done.returns[0] == 0.0
            assert terminated.tolist() == [True, False]
            assert true_next_obs(obs, infos)[0] == 5 and obs[0] == 0  # reset, final obs kept
    assert truncated.tolist() == [False, True] and not terminated[1]
    done = finished(infos)
    assert done is not None and done.lengths[1] == 100


S = 64  # FrozenLake 8x8's states


def tables(agent: str, exploration: str, members: int):
    """A group's agent of `members` blocks and each member's plain agent, FrozenLake 8x8."""
    overrides = (f"agent={agent}", "env=frozenlake8x8", f"exploration={exploration}")
    rc = validate(compose_config(*overrides))
    action = gym.spaces.Discrete(4)
    group = make_agent(rc, Spaces(gym.spaces.Discrete(S * members), action, members, 1000), None)
    group.split_members(members)
    plain = [
        make_agent(rc, Spaces(gym.spaces.Discrete(S), action, 1, 1000), None)
        for _ in range(members)
    ]
    return group, plain


@pytest.mark.parametrize(
    ("agent", "exploration"),
    [("qlearning", "epsilon_greedy"), ("expected_sarsa", "boltzmann"), ("qlearning", "ucb")],
)
def test_batched_table_updates_equal_each_members_own(agent, exploration):
    group, plain = tables(agent, exploration, 2)
    rng = np.random.default_rng(0)
    offsets = np.array([0, S])
    for step in range(1, 2000):
        # few states, so that entries are revisited and values build up
        obs, next_obs = rng.integers(0, 4, 2), rng.integers(0, 4, 2)
        action, reward = rng.integers(0, 4, 2), rng.normal(size=2)
        terminated = rng.random(2) < 0.1
        truncated = np.zeros(2, dtype=bool)
        group.observe(
            Transition(obs + offsets, action, reward, next_obs + offsets, terminated, truncated),
            step,
        )
        for i, member in enumerate(plain):
            mine = slice(i, i + 1)
            member.observe(
                Transition(
                    obs[mine],
                    action[mine],
                    reward[mine],
                    next_obs[mine],
                    terminated[mine],
                    truncated[mine],
                ),
                step,
            )
    stats = group.pop_member_metrics()
    for i, member in enumerate(plain):
        block = slice(S * i, S * (i + 1))
        np.testing.assert_allclose(group.q[block], member.q, rtol=0, atol=1e-12)
        assert stats[i] == pytest.approx(member.pop_metrics(), rel=1e-12)
        if exploration == "ucb":
            np.testing.assert_array_equal(group.strategy.counts[block], member.strategy.counts)
    assert not np.allclose(group.q[:S], group.q[S:])  # the members learned apart
    assert np.abs(group.q).max() > 0.1


def batched(tmp_path: Path, name: str, *args: str):
    proc = run_cli("-m", "hydra/launcher=batched", *args, f"hydra.sweep.dir={name}", cwd=tmp_path)
    sweep_dir = tmp_path / name
    jobs = sorted(
        (p for p in sweep_dir.iterdir() if p.is_dir() and p.name[0].isdigit()),
        key=lambda p: int(p.name.split("_")[0]),
    )
    return proc, jobs


def summary(job: Path) -> dict:
    return json.loads((job / "summary.json").read_text())


def last_table(job: Path) -> np.ndarray:
    from rlrun.checkpoint import load

    ckpt = load(job / "checkpoints" / "last.pt")
    q = ckpt["agent"]["attrs"]["q"]["__ndarray__"]
    return np.frombuffer(q[2], dtype=q[0]).reshape(q[1])


FROZENLAKE_SWEEP = ["agent=qlearning", "env=frozenlake", *TINY]


def test_batched_sweep_gives_every_seed_its_own_run(tmp_path):
    proc, jobs = batched(tmp_path, "a", *FROZENLAKE_SWEEP, "seed=0,1,2")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "batched" in proc.stdout + proc.stderr
    assert len(jobs) == 3
    for seed, job in enumerate(jobs):
        s = summary(job)
        assert s["status"] == "completed" and s["seed"] == seed and s["steps"] == 3000, s
        scalars = read_scalars(job)
        assert [step for step, _ in scalars["eval/mean_return"]] == [1000, 2000, 3000]
        assert scalars["eval/mean_return"][-1][1] == pytest.approx(s["objective"])
        assert scalars["charts/episodic_return"] and scalars["losses/td_loss"]
        assert (job / ".hydra" / "overrides.yaml").read_text().count(f"seed={seed}") == 1
        assert last_table(job).shape == (16, 4)  # a plain run's checkpoint: its own table
    episodes = [summary(job)["episodes"] for job in jobs]
    assert len(set(episodes)) > 1, episodes  # three seeds, three different runs
    assert "3 jobs: 3 completed" in (tmp_path / "a" / "report.md").read_text()

    # the same command again, into another sweep directory: the same results
    proc, again = batched(tmp_path, "b", *FROZENLAKE_SWEEP, "seed=0,1,2")
    assert proc.returncode == 0, proc.stderr[-3000:]
    for job, twin in zip(jobs, again, strict=True):
        assert summary(twin)["final_eval"] == summary(job)["final_eval"]
        assert summary(twin)["episodes"] == summary(job)["episodes"]
        np.testing.assert_array_equal(last_table(twin), last_table(job))

    # a member's checkpoint is a plain run's: it resumes alone, its curves continuous
    proc = run_cli(f"resume={jobs[1]}", "total_timesteps=4000", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert summary(jobs[1])["steps"] == 4000 and summary(jobs[1])["status"] == "completed"
    steps = [step for step, _ in read_scalars(jobs[1])["eval/mean_return"]]
    assert steps == [1000, 2000, 3000, 4000]


def test_a_diverging_seed_fails_only_its_own_job(tmp_path):
    proc, jobs = batched(
        tmp_path,
        "s",
        "agent=qlearning",
        "env=custom",
        "env.id=tests.envs:NaNForSeed-v0",
        *TINY,
        "seed=0,1,2",
    )
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "1 job(s) failed (#1)" in proc.stderr
    for seed, job in enumerate(jobs):
        s = summary(job)
        if seed == 1:
            assert s["status"] == "failed" and "NonFiniteError" in s["error"], s
            assert s["steps"] < 3000
        else:
            assert s["status"] == "completed" and s["steps"] == 3000, s
            assert read_scalars(job)["eval/mean_return"][-1][0] == 3000


def test_jobs_of_agents_not_batched_yet_run_alone(tmp_path):
    proc, jobs = batched(tmp_path, "d", "agent=dyna_q", "env=frozenlake", *TINY, "seed=0,1")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "runs alone: agent dyna_q is not batched yet" in proc.stdout + proc.stderr
    assert [summary(job)["status"] for job in jobs] == ["completed", "completed"]


def test_event_files_are_tensorboards_own_format(tmp_path):
    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c as reference

    from rlrun.logger import TensorBoardLogger, masked_crc32c

    for data in (b"", b"a", bytes(range(256)) * 5):
        assert masked_crc32c(data) == reference(data)
    logger = TensorBoardLogger(tmp_path)
    for step in range(5):
        logger.scalar("charts/episodic_return", step / 2, step)
    logger.text("config", "seed: 0")
    logger.close()
    # every record's checksums as TensorBoard's own reader checks them
    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import PyRecordReader_New

    (path,) = tmp_path.glob("events.out.tfevents.*")
    reader = PyRecordReader_New(str(path))
    records = 0
    while True:
        try:
            reader.GetNext()
        except Exception:  # noqa: BLE001 - the reader says "out of range" at the end
            break
        records += 1
    assert records == 1 + 5 + 1  # file version, the scalars, the text
    assert read_scalars(tmp_path)["charts/episodic_return"] == [(s, s / 2) for s in range(5)]


def test_two_groups_train_in_two_worker_processes(tmp_path):
    pytest.importorskip("joblib")
    proc, jobs = batched(
        tmp_path, "w", *FROZENLAKE_SWEEP, "hydra.launcher.n_jobs=2", "seed=0,1,2,3"
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    for job in jobs:
        assert summary(job)["status"] == "completed"
    # each group's lines in its jobs' logs; its event files written by its worker's pid
    logs = [(job / "rlrun.log").read_text() for job in jobs]
    assert [log.split("seeds ")[1].split(" batched")[0] for log in logs] == ["0, 1"] * 2 + [
        "2, 3"
    ] * 2
    pids = [next(job.glob("events.out.tfevents.*")).name.rsplit(".", 2)[1] for job in jobs]
    assert pids[0] == pids[1] != pids[2] == pids[3], pids


def test_an_interrupted_group_checkpoints_every_seed_and_the_sweep_continues(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    from .conftest import ROOT

    args = [
        "-m",
        "hydra/launcher=batched",
        "agent=qlearning",
        "env=frozenlake",
        "total_timesteps=100000",
        "checkpoint.every_steps=4000",
        "eval.every_steps=20000",
        "logger.progress=false",
        "seed=0,1",
        "hydra.sweep.dir=sweep",
    ]
    exe = Path(sys.executable).with_name("rlrun")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "rlrun"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([*cmd, *args], cwd=tmp_path, env=env, start_new_session=True)
    sweep_dir = tmp_path / "sweep"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if len(list(sweep_dir.glob("*/checkpoints/step_8000.pt"))) == 2:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the sweep ended before it could be interrupted"
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C
    assert proc.wait(timeout=60) == 130
    jobs = sorted(p for p in sweep_dir.iterdir() if p.name[0].isdigit())
    stopped_at = []
    for job in jobs:
        s = summary(job)
        assert s["status"] == "interrupted" and 0 < s["steps"] < 100000, s
        assert (job / "checkpoints" / f"step_{s['steps']}.pt").exists()  # saved where it stopped
        stopped_at.append(s["steps"])
    assert stopped_at[0] == stopped_at[1]  # the group stopped as one

    # the same command again: each seed resumes its checkpoint (alone) and finishes
    again = run_cli(*args, cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "runs alone: it continues an earlier attempt" in again.stdout + again.stderr
    for job in jobs:
        s = summary(job)
        assert s["status"] == "completed" and s["resumed_from_step"] == stopped_at[0], s
        steps = [step for step, _ in read_scalars(job)["eval/mean_return"]]
        assert steps == [20000, 40000, 60000, 80000, 100000], steps  # one point a step
