"""Parallel and distributed sweeps through Hydra's launcher plugins (the joblib, ray and submitit
extras), run as a user would: the real `rlrun -m hydra/launcher=...` command in a subprocess.

The jobs train on ProbeFrozenLake: FrozenLake itself, plus a record of the process state each job
runs with (pid, torch threads, thread-count variables, seeds), written into the job's directory
when the env is built. Launchers that reuse worker processes across jobs (joblib's loky workers,
Ray workers) must not carry one job's state into the next.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.envs.toy_text.frozen_lake import FrozenLakeEnv

from .conftest import TINY, read_scalars, run_cli

PROBE_ID = "tests.test_launchers:ProbeFrozenLake-v1"
PROBED = [
    "agent=qlearning",
    "env=custom",
    f"env.id={PROBE_ID}",
    "+env.kwargs.probe=${hydra:runtime.output_dir}/probe.jsonl",
    "hydra.sweep.subdir=${hydra.job.num}",  # the probe path would nest the default subdir
    *TINY,
]


class ProbeFrozenLake(FrozenLakeEnv):
    """FrozenLake 4x4 (slippery) that appends one JSON line to `probe` each time it is built."""

    def __init__(self, probe: str = "", **kwargs) -> None:
        if probe:
            with open(probe, "a") as f:
                f.write(json.dumps(process_state()) + "\n")
        super().__init__(**kwargs)


gym.register(
    "ProbeFrozenLake-v1",
    entry_point=ProbeFrozenLake,
    kwargs={"map_name": "4x4"},
    max_episode_steps=100,
)


def process_state() -> dict:
    """What a job inherits from its process: read when rlrun builds the env, after it has set
    torch's threads and seeded random, numpy and torch for this job."""
    import torch

    state = {
        "pid": os.getpid(),
        "torch_threads": torch.get_num_threads(),
        "torch_seed": torch.initial_seed(),
        "numpy_key": np.random.get_state()[1][:4].tolist(),
        "random_state": random.getstate()[1][:4],
        "env": {
            k: os.environ.get(k)
            for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
        },
    }
    if "ray" in sys.modules:
        import ray

        state["ray_node_ip"] = ray.util.get_node_ip_address()
    return state


def needs(module: str, extra: str):
    return pytest.mark.skipif(
        importlib.util.find_spec(module) is None,
        reason=f'{module} is not installed (pip install -e ".[{extra}]")',
    )


def sweep(tmp_path: Path, *args: str, timeout: float = 300):
    """Run `rlrun -m <args>` into tmp_path/sweep; return the process and the job dirs by number."""
    proc = run_cli("-m", *args, "hydra.sweep.dir=sweep", cwd=tmp_path, timeout=timeout)
    sweep_dir = tmp_path / "sweep"
    jobs = sorted(
        (p for p in sweep_dir.iterdir() if p.is_dir() and p.name[0].isdigit()),
        key=lambda p: int(p.name.split("_")[0]),
    )
    return proc, jobs


def summary(job: Path) -> dict:
    return json.loads((job / "summary.json").read_text())


def probes(job: Path) -> list[dict]:
    return [json.loads(line) for line in (job / "probe.jsonl").read_text().splitlines()]


def check_completed(proc, jobs: list[Path], n: int) -> None:
    """Every job completed, with its summary and TensorBoard curves, and the command exited 0."""
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert len(jobs) == n, [p.name for p in jobs]
    for job in jobs:
        s = summary(job)
        assert s["status"] == "completed", (job.name, s)
        assert s["steps"] == 3000
        scalars = read_scalars(job)
        assert [step for step, _ in scalars["eval/mean_return"]] == [1000, 2000, 3000]
        assert scalars["eval/mean_return"][-1][1] == pytest.approx(s["objective"])
        assert scalars["charts/episodic_return"], job.name


def check_fresh_state(jobs: list[Path], seeds: list[int]) -> set[int]:
    """Each job ran with one torch thread and its own seeds, whichever process ran it before, and
    its log file has its own lines only; returns the worker pids seen."""
    pids = set()
    for job, seed in zip(jobs, seeds, strict=True):
        log = (job / "rlrun.log").read_text()
        assert f"-> {job}\n" in log, log
        assert log.count(" -> ") == 1, log  # no other job's "<agent> on <env> ... -> <dir>"
        built = probes(job)
        assert built, job.name
        for p in built:
            assert p["torch_threads"] == 1, (job.name, p)
            pids.add(p["pid"])
        first = built[0]  # the training env, built right after seeding
        assert first["torch_seed"] == seed, (job.name, first)
        assert first["numpy_key"] == np.random.RandomState(seed).get_state()[1][:4].tolist()
        assert first["random_state"] == list(random.Random(seed).getstate()[1][:4])
    return pids


def check_same_results(a: Path, b: Path) -> None:
    """Two jobs with the same config learned exactly the same, curve for curve."""
    sa, sb = read_scalars(a), read_scalars(b)
    for tag in ("charts/episodic_return", "losses/td_loss", "eval/mean_return"):
        assert sa[tag] == sb[tag], tag
    assert summary(a)["episodes"] == summary(b)["episodes"]


def check_one_failed(proc, jobs: list[Path], failed: int, error: str) -> None:
    """The failed job says why in its summary, the others completed, exit 1, no traceback."""
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert error in proc.stderr
    for i, job in enumerate(jobs):
        s = summary(job)
        if i == failed:
            assert s["status"] == "failed" and error in s["error"], s
        else:
            assert s["status"] == "completed", (job.name, s)
            assert read_scalars(job)["eval/mean_return"], job.name


@needs("hydra_plugins.hydra_joblib_launcher", "joblib")
def test_joblib_runs_jobs_in_two_reused_workers(tmp_path):
    # seeds 0, 1, 0, 1: jobs 2 and 3 repeat jobs 0 and 1 in workers that already ran a job
    proc, jobs = sweep(
        tmp_path,
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        *PROBED,
        "seed=0,1,0,1",
    )
    check_completed(proc, jobs, 4)
    pids = check_fresh_state(jobs, [0, 1, 0, 1])
    assert len(pids) == 2, pids  # two loky workers, each ran two jobs
    check_same_results(jobs[0], jobs[2])
    check_same_results(jobs[1], jobs[3])


@needs("hydra_plugins.hydra_joblib_launcher", "joblib")
def test_joblib_failed_job_keeps_the_others(tmp_path):
    proc, jobs = sweep(
        tmp_path,
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        "agent=qlearning",
        "env=frozenlake",
        "agent.gamma=1.5,0.9,0.99",
        *TINY,
    )
    assert len(jobs) == 3, [p.name for p in jobs]
    check_one_failed(proc, jobs, 0, "agent.gamma: must be <= 1, got 1.5")


@needs("ray", "ray")
@needs("hydra_plugins.hydra_ray_launcher", "ray")
def test_ray_fresh_local_instance_on_loopback(tmp_path, monkeypatch):
    # One Ray start (6-10 s) for: reused workers, fresh state per job, a failed job (#1).
    # rlrun sets Ray's switch for a machine-local instance: its servers listen on loopback only.
    monkeypatch.delenv("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", raising=False)
    proc, jobs = sweep(
        tmp_path,
        "hydra/launcher=ray",
        "+hydra.launcher.ray.init.num_cpus=2",
        *PROBED,
        "seed=0",
        "agent.gamma=0.9,1.5,0.9,0.9",
    )
    assert "Started a local Ray instance" in proc.stderr, proc.stderr[-3000:]
    assert len(jobs) == 4, [p.name for p in jobs]
    check_one_failed(proc, jobs, 1, "agent.gamma: must be <= 1, got 1.5")
    done = [jobs[0], jobs[2], jobs[3]]
    pids = check_fresh_state(done, [0, 0, 0])
    assert len(pids) < 3, pids  # at least one Ray worker ran two of these jobs
    for p in probes(jobs[0]):
        assert p["ray_node_ip"] == "127.0.0.1", p
    check_same_results(jobs[0], jobs[2])
    check_same_results(jobs[0], jobs[3])


@needs("hydra_plugins.hydra_submitit_launcher", "submitit")
def test_submitit_local_runs_each_job_in_its_own_process(tmp_path):
    proc, jobs = sweep(
        tmp_path,
        "hydra/launcher=submitit_local",
        "hydra.launcher.timeout_min=5",
        *PROBED,
        "seed=0,1",
    )
    check_completed(proc, jobs, 2)
    pids = check_fresh_state(jobs, [0, 1])
    assert len(pids) == 2, pids
