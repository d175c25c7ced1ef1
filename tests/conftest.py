from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from hydra import compose, initialize_config_module
from omegaconf import DictConfig

ROOT = Path(__file__).resolve().parent.parent


def compose_config(*overrides: str) -> DictConfig:
    """The config `rlrun <overrides>` would run, composed through Hydra in-process."""
    with initialize_config_module("rlrun.conf", version_base="1.3"):
        return compose("config", overrides=list(overrides))


def run_cli(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the real `rlrun` console script; the repo root is importable for tests.envs ids."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    exe = Path(sys.executable).with_name("rlrun")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "rlrun"]
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
    return {
        tag: [(e.step, e.value) for e in acc.Scalars(tag)]
        for tag in acc.Tags()["scalars"]
    }


def train(tmp_path: Path, *overrides: str):
    """Build and train in-process exactly as `rlrun <overrides>` would; returns the Trainer."""
    from rlrun.experiment import build
    from rlrun.schema import validate

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
