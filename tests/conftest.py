from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hydra import compose, initialize_config_module
from omegaconf import DictConfig

ROOT = Path(__file__).resolve().parent.parent

# A run of a few seconds for CLI tests: 3 evaluations, logs every 500 steps, no progress bar.
TINY = [
    "total_timesteps=3000",
    "eval.every_steps=1000",
    "eval.episodes=4",
    "eval.num_envs=2",
    "logger.log_every_steps=500",
    "logger.progress=false",
]


def compose_config(*overrides: str) -> DictConfig:
    """The config `rlrun <overrides>` would run, composed through Hydra in-process."""
    with initialize_config_module("rlrun.conf", version_base="1.3"):
        return compose("config", overrides=list(overrides))


def run_cli(
    *args: str, cwd: Path, timeout: float = 300, exe: str = "rlrun"
) -> subprocess.CompletedProcess:
    """Run a real console script (`rlrun`, `rlrun-demos`...); the repo root is importable for
    tests.envs ids."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    script = Path(sys.executable).with_name(exe)
    module = {"rlrun": "rlrun", "rlrun-demos": "rlrun.demos_cli", "rlrun-eval": "rlrun.eval_cli"}
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", module[exe]]
    return subprocess.run(
        [*cmd, *args],
        check=False,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def read_scalars(run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar in the run's TensorBoard event files, read back as TensorBoard does."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run_dir), size_guidance={"scalars": 0, "tensors": 0})
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def train(tmp_path: Path, *overrides: str):
    """Build and train in-process exactly as `rlrun <overrides>` would; returns the Trainer."""
    from rlrun.experiment import build
    from rlrun.validate import validate

    cfg = compose_config("logger.progress=false", *overrides)
    trainer, logger = build(validate(cfg), cfg, tmp_path)
    try:
        trainer.train()
    finally:
        logger.close()
    return trainer


def run_ok(*args: str, run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """Run `rlrun <args>` into `run_dir`, require success, return its scalars."""
    proc = run_cli(*args, f"hydra.run.dir={run_dir}", cwd=run_dir.parent)
    assert proc.returncode == 0, proc.stderr
    return read_scalars(run_dir)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, body: dict | None = None) -> Any:
    """GET, or POST `body` as JSON; the decoded JSON answer."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@contextlib.contextmanager
def tensorboard_server(logdir: Path, runs: int = 1) -> Iterator[str]:
    """A real `tensorboard` on 127.0.0.1 over `logdir`; yields its base URL once it lists at
    least `runs` runs (or after a minute, leaving the caller's assertions to say what is
    missing)."""
    exe = Path(sys.executable).with_name("tensorboard")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "tensorboard.main"]
    port = free_port()
    server = subprocess.Popen(
        [*cmd, "--logdir", str(logdir), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if len(get(f"{base}/data/runs")) >= runs:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)


class FirstAction:
    """Deterministic play that always takes action 0: the least an evaluated agent does."""

    def act(self, obs, *, explore):
        return np.zeros(len(obs), dtype=np.int64)

    def end_episodes(self, ended):
        pass


# The shortest path across non-slippery FrozenLake 4x4 (down, down, right, down, right, right):
# an expert whose demonstrations tests can make in milliseconds.
FROZENLAKE_PATH = {0: 1, 4: 1, 8: 2, 9: 1, 13: 2, 14: 2}
FROZENLAKE = ["env=frozenlake", "env.kwargs.is_slippery=false"]


class TablePolicy(FirstAction):
    """Deterministic play from a table of state -> action (action 0 elsewhere)."""

    def __init__(self, table: dict[int, int]) -> None:
        self.table = table

    def act(self, obs, *, explore):
        return np.array([self.table.get(int(s), 0) for s in obs], dtype=np.int64)


@pytest.fixture(scope="session")
def frozenlake_demos(tmp_path_factory) -> Path:
    """10 episodes of the shortest path, recorded as rlrun-demos records a trained agent."""
    from rlrun.demos import save_demos
    from rlrun.demos_cli import record
    from rlrun.envs.vector import make_vec_env
    from rlrun.validate import validate

    rc = validate(compose_config("agent=qlearning", *FROZENLAKE))
    demos = record(TablePolicy(FROZENLAKE_PATH), make_vec_env(rc.env, 1), 10, 0, False)
    demos.meta = {"env_id": rc.env.id, "env_kwargs": rc.env.kwargs}
    return save_demos(tmp_path_factory.mktemp("demos") / "demos.npz", demos)


class SwingUp(FirstAction):
    """Pendulum's expert by hand: pump energy until near the top, then hold it there (PD);
    about -150 an episode, as a trained SAC."""

    def act(self, obs, *, explore):
        cos, sin, speed = obs[:, 0], obs[:, 1], obs[:, 2]
        hold = -10.0 * np.arctan2(sin, cos) - 2.0 * speed
        energy = 0.5 * speed**2 + 10.0 * (cos - 1.0)  # 0: at rest at the top
        pump = 2.0 * np.sign(speed) * np.where(energy < 0, 1.0, -1.0)
        return np.clip(np.where(cos > 0.85, hold, pump), -2.0, 2.0)[:, None].astype(np.float32)


@pytest.fixture(scope="session")
def pendulum_demos(tmp_path_factory) -> Path:
    """10 episodes of the hand-made swing-up, recorded as rlrun-demos records an agent."""
    from rlrun.demos import save_demos
    from rlrun.demos_cli import record
    from rlrun.envs.vector import make_vec_env
    from rlrun.validate import validate

    rc = validate(compose_config("agent=sac", "env=pendulum"))
    demos = record(SwingUp(), make_vec_env(rc.env, 1), 10, 0, False)
    demos.meta = {"env_id": rc.env.id, "env_kwargs": rc.env.kwargs}
    return save_demos(tmp_path_factory.mktemp("demos") / "pendulum.npz", demos)
