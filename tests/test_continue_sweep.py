"""Continuing a sweep (rlrun/sweep.py): the same `rlrun -m` command into the same sweep directory
skips finished jobs, resumes interrupted and killed ones from their checkpoints, and reruns
failed ones; run as a user would, killing the real sweep process group with SIGKILL."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import gymnasium as gym
import pytest
from gymnasium.envs.toy_text.frozen_lake import FrozenLakeEnv

from .conftest import ROOT, read_scalars, run_cli
from .test_launchers import needs

# A budget a job takes a few seconds over, checkpointed often enough to be caught mid-run.
JOB = {
    "agent": "qlearning",
    "env": "frozenlake",
    "total_timesteps": 40000,
    "checkpoint.every_steps": 4000,
    "eval.every_steps": 10000,
    "eval.episodes": 20,
    "logger.progress": "false",
}


def job(**changes: object) -> list[str]:
    """JOB's overrides with `changes` (dots spelled as __)."""
    values = {**JOB, **{k.replace("__", "."): v for k, v in changes.items()}}
    return [f"{k}={v}" for k, v in values.items()]


SEEDS = "seed=0,1,2,3,4,5,6,7"


class FailingFrozenLake(FrozenLakeEnv):
    """FrozenLake that refuses to be built while the file `fail_if` exists (a fault to fix)."""

    def __init__(self, fail_if: str = "", **kwargs) -> None:
        if fail_if and Path(fail_if).exists():
            raise RuntimeError(f"{fail_if} exists")
        super().__init__(**kwargs)


gym.register("FailingFrozenLake-v1", entry_point=FailingFrozenLake, max_episode_steps=100)


def job_dirs(sweep_dir: Path) -> list[Path]:
    jobs = [p for p in sweep_dir.iterdir() if p.is_dir() and p.name[0].isdigit()]
    return sorted(jobs, key=lambda p: int(p.name.split("_")[0]))


def status(job: Path) -> str | None:
    try:
        return json.loads((job / "summary.json").read_text())["status"]
    except (OSError, ValueError):
        return None


def returns_table(sweep_dir: Path) -> list[dict[str, str]]:
    """report.csv without its timing columns (wall time and SPS differ between any two runs)."""
    with open(sweep_dir / "report.csv") as f:
        rows = list(csv.DictReader(f))
    return [{k: v for k, v in row.items() if k not in ("wall_time_s", "sps")} for row in rows]


def kill_when(cmd: list[str], cwd: Path, done: int, sweep_dir: Path) -> None:
    """Start `cmd` in its own process group; SIGKILL the whole group once `done` jobs finished."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with open(cwd / "killed.log", "w") as log:
        proc = subprocess.Popen(
            cmd, cwd=cwd, env=env, start_new_session=True, stdout=log, stderr=log
        )
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        jobs = job_dirs(sweep_dir) if sweep_dir.exists() else []
        if sum(status(j) == "completed" for j in jobs) >= done:
            break
        time.sleep(0.1)
    assert proc.poll() is None, "the sweep ended before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def rlrun_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("rlrun")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "rlrun"]


@needs("hydra_plugins.hydra_joblib_launcher", "joblib")
def test_joblib_sweep_killed_half_way_runs_only_the_rest_and_reports_the_same(tmp_path):
    args = ["-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", *job(), SEEDS]
    sweep_dir = tmp_path / "sweep"
    kill_when([*rlrun_cmd(), *args, f"hydra.sweep.dir={sweep_dir}"], tmp_path, 4, sweep_dir)
    before = {j.name: status(j) for j in job_dirs(sweep_dir)}
    finished = [name for name, s in before.items() if s == "completed"]
    assert 4 <= len(finished) < 8, before
    kept = {name: (sweep_dir / name / "summary.json").read_bytes() for name in finished}
    with_checkpoint = [
        name
        for name, s in before.items()
        if s is None and (sweep_dir / name / "checkpoints" / "last.pt").exists()
    ]

    proc = run_cli(*args, f"hydra.sweep.dir={sweep_dir}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = job_dirs(sweep_dir)
    assert len(jobs) == 8 and all(status(j) == "completed" for j in jobs)
    for name, data in kept.items():  # skipped: not run again, their records untouched
        assert (sweep_dir / name / "summary.json").read_bytes() == data, name
        assert len(list((sweep_dir / name).glob("events.out.tfevents.*"))) == 1, name
    for name in with_checkpoint:  # resumed where the killed attempt last checkpointed
        summary = json.loads((sweep_dir / name / "summary.json").read_text())
        assert summary["resumed_from_step"] > 0, name
        steps = [s for s, _ in read_scalars(sweep_dir / name)["eval/mean_return"]]
        assert steps == [10000, 20000, 30000, 40000], (name, steps)  # one point per step
    assert proc.stderr.count("rlrun: sweep report:") + proc.stdout.count("sweep report:") >= 1

    straight = tmp_path / "straight"
    proc = run_cli(*args, f"hydra.sweep.dir={straight}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    table = returns_table(sweep_dir)
    assert table == returns_table(straight) and table[0]["seeds"] == "8", table


def test_a_failed_job_reruns_once_fixed_and_a_finished_one_is_skipped(tmp_path):
    (tmp_path / "fault_1").write_text("")  # job 1 (seed 1) cannot build its env while it exists
    args = [
        "-m",
        *job(
            env="custom",
            env__id="tests.test_continue_sweep:FailingFrozenLake-v1",
            total_timesteps=8000,
        ),
        f"+env.kwargs.fail_if={tmp_path}/fault_${{seed}}",
        "seed=0,1",
        "hydra.sweep.dir=sweep",
        "hydra.sweep.subdir=${hydra.job.num}",
    ]
    proc = run_cli(*args, cwd=tmp_path)
    assert proc.returncode == 1 and "1 job(s) failed (#1)" in proc.stderr, proc.stderr[-2000:]
    assert status(tmp_path / "sweep" / "0") == "completed"
    assert status(tmp_path / "sweep" / "1") == "failed"
    first = (tmp_path / "sweep" / "0" / "summary.json").read_bytes()

    # left as it was on request: still failed, same record
    failed = (tmp_path / "sweep" / "1" / "summary.json").read_bytes()
    proc = run_cli(*args, "sweep.rerun_failed=false", cwd=tmp_path)
    assert proc.returncode == 1 and "left as it was" in proc.stderr, proc.stderr[-2000:]
    assert (tmp_path / "sweep" / "1" / "summary.json").read_bytes() == failed

    # fixed: the failed job runs again from zero, its failed attempt kept aside
    (tmp_path / "fault_1").unlink()
    proc = run_cli(*args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert status(tmp_path / "sweep" / "1") == "completed"
    aside = tmp_path / "sweep" / "1" / "previous_attempts" / "1" / "summary.json"
    assert json.loads(aside.read_text())["status"] == "failed"
    assert (tmp_path / "sweep" / "0" / "summary.json").read_bytes() == first  # skipped
    runs = json.loads((tmp_path / "sweep" / "0" / "provenance.json").read_text())["runs"]
    assert len(runs) == 1  # never started again

    # a job killed after its final checkpoint, before its summary: it just finishes
    done = tmp_path / "sweep" / "0"
    objective = json.loads(first)["objective"]
    (done / "summary.json").unlink()
    proc = run_cli(*args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((done / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["objective"] == objective
    assert summary["resumed_from_step"] == 8000

    # the same directory with other settings is refused, naming them, not overwritten
    proc = run_cli(*args, "agent.gamma=0.5", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "agent.gamma=0.99 then, 0.5 now" in proc.stderr, proc.stderr[-2000:]
    assert status(done) == "completed"


@pytest.mark.parametrize("spelling", ["dir", "file"])
def test_resume_falls_back_past_a_damaged_last_checkpoint(tmp_path, spelling):
    run_dir = tmp_path / "run"
    first = job(total_timesteps=8000, checkpoint__every_steps=2000, eval__every_steps=2000)
    proc = run_cli(*first, f"hydra.run.dir={run_dir}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    ckpts = run_dir / "checkpoints"
    # last.pt is a link to step_8000.pt: damage both, as a torn write would
    (ckpts / "step_8000.pt").write_bytes((ckpts / "step_8000.pt").read_bytes()[:300])
    target = run_dir if spelling == "dir" else ckpts / "step_4000.pt"
    proc = run_cli(f"resume={target}", "total_timesteps=12000", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((run_dir / "summary.json").read_text())
    if spelling == "dir":
        output = (proc.stdout + proc.stderr).splitlines()  # Hydra logs to stdout
        warnings = [line for line in output if "WARNING" in line]
        assert len(warnings) == 1 and "last.pt: truncated or damaged" in warnings[0], warnings
        assert "resuming from step_6000.pt instead" in warnings[0]
        assert summary["resumed_from_step"] == 6000
    else:
        assert summary["resumed_from_step"] == 4000
    assert summary["steps"] == 12000
    # TensorBoard drops the abandoned steps past the checkpoint: one point per step
    steps = [s for s, _ in read_scalars(run_dir)["eval/mean_return"]]
    assert steps == [2000, 4000, 6000, 8000, 10000, 12000], steps


# What submitit does on SIGUSR2 (Slurm's warning before a preemption or the time limit): its
# handler requeues the job and exits. Installed before rlrun starts, as submitit's is.
SCHEDULER = """
import signal, sys
from pathlib import Path

marker = Path(sys.argv[1])

def requeue(signum, frame):
    marker.write_text(str(signum))
    sys.exit(3)

signal.signal(signal.SIGUSR2, requeue)
sys.argv = ["rlrun", *sys.argv[2:]]
from rlrun.cli import main
main()
"""


def test_a_scheduler_signal_checkpoints_before_the_scheduler_requeues(tmp_path):
    from rlrun.checkpoint import load

    run_dir, marker = tmp_path / "run", tmp_path / "requeued"
    args = job(total_timesteps=10_000_000, checkpoint__every_steps=1_000_000)
    proc = subprocess.Popen(
        [sys.executable, "-c", SCHEDULER, str(marker), *args, f"hydra.run.dir={run_dir}"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list(run_dir.glob("events.out.tfevents.*")):
        time.sleep(0.1)  # training has started
    time.sleep(1.0)
    proc.send_signal(signal.SIGUSR2)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 3, stderr[-2000:]  # the scheduler's handler ran, after rlrun's
    assert marker.read_text() == str(int(signal.SIGUSR2))
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "interrupted"
    step = load(run_dir / "checkpoints" / "last.pt")["step"]
    assert 0 < step == summary["steps"] < 1_000_000  # saved at the signal, not at an interval


@needs("hydra_plugins.hydra_submitit_launcher", "submitit")
def test_submitit_continues_a_sweep_too(tmp_path):
    """The continuation runs inside each job, in the launcher's own processes (Slurm's path;
    Ray's workers run the same code)."""
    launcher = ["hydra/launcher=submitit_local", "hydra.launcher.timeout_min=5"]
    args = ["-m", *launcher, *job(total_timesteps=4000), "seed=0,1", "hydra.sweep.dir=sweep"]
    proc = run_cli(*args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    done, killed = job_dirs(tmp_path / "sweep")
    kept = (done / "summary.json").read_bytes()
    (killed / "summary.json").unlink()  # as if killed while finishing: it just finishes
    proc = run_cli(*args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (done / "summary.json").read_bytes() == kept
    summary = json.loads((killed / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["resumed_from_step"] == 4000
    assert "2 jobs: 2 completed, 0 failed" in (tmp_path / "sweep" / "report.md").read_text()


def test_a_job_killed_with_only_best_pt_starts_over(tmp_path):
    """best.pt (written at an evaluation) is not a resume point: killed before its first
    step_<N>.pt, the job runs again from zero instead of failing on every attempt."""
    from omegaconf import OmegaConf

    from rlrun.sweep import continuation

    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "best.pt").write_bytes(b"")
    (tmp_path / "events.out.tfevents.1").write_bytes(b"")
    cfg = OmegaConf.create({"total_timesteps": 1000})
    assert continuation(tmp_path, cfg, rerun_failed=True).action == "rerun"
    (tmp_path / "checkpoints" / "step_500.pt").write_bytes(b"")
    assert continuation(tmp_path, cfg, rerun_failed=True).action == "resume"
