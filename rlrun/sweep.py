"""Continuing a sweep: the same `rlrun -m ...` command with the same `hydra.sweep.dir` picks up
where an earlier attempt stopped (a preempted allocation, a killed laptop, a failed job fixed).

Each job's directory says how its last attempt ended: `summary.json` (written however it ended,
except by a SIGKILL) and `checkpoints/`. A finished job is skipped and its objective returned; an
interrupted or killed one resumes from its latest intact checkpoint; one killed before its first
checkpoint, or one that failed, runs again from zero, its earlier files moved into
`previous_attempts/<n>/` (`sweep.rerun_failed=false` leaves failed jobs as they are). This is
done inside the job, so it works under every launcher (basic, joblib, Ray, submitit), and the
sweep report at the end reads every job's summary once. Torch-free: it decides, `experiment.run`
trains.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from rlrun.config.run import RESUMABLE
from rlrun.errors import RlrunError
from rlrun.records import FINISHED, flatten, read_json, read_summary

log = logging.getLogger(__name__)

PREVIOUS = "previous_attempts"
# What a job's earlier attempt wrote that a rerun from zero writes again (provenance.json, a
# history of every start, stays).
ATTEMPT_FILES = ("summary.json", "checkpoints", "videos", "events.out.tfevents.*")
# Keys that may differ between attempts of one job: what a resume may change, and these.
NOT_IDENTITY = (*RESUMABLE, "resume", "sweep")


@dataclass(frozen=True)
class Continuation:
    """What the job's directory asks for: "new", "skip", "resume" or "rerun"."""

    action: str
    objective: float | None = None  # a skipped job's result


def continuation(job_dir: Path, cfg: DictConfig, rerun_failed: bool) -> Continuation:
    """How this job continues its earlier attempt in `job_dir`, if it had one."""
    summary = read_summary(job_dir)
    # what a resume starts from (rlrun.checkpoint.load_for_resume); best.pt alone is not
    checkpoints = job_dir / "checkpoints"
    has_checkpoint = (checkpoints / "last.pt").exists() or any(checkpoints.glob("step_*.pt"))
    if summary is None and not has_checkpoint and not any(job_dir.glob("events.out.tfevents.*")):
        return Continuation("new")
    differs = changed_settings(job_dir, cfg)
    if differs:
        raise RlrunError(
            f"{job_dir} holds this job with other settings ({differs}); a sweep continues only "
            "the command that started it: give a new hydra.sweep.dir"
        )
    status = None if summary is None else summary.get("status")
    if status in FINISHED:
        if summary is not None and summary.get("total_timesteps") == cfg.total_timesteps:
            return Continuation("skip", summary.get("objective"))
        return Continuation("resume")  # a larger total_timesteps: train on
    if status == "failed":
        if not rerun_failed:
            raise RlrunError(
                f"failed in an earlier attempt ({summary.get('error') if summary else ''}); "
                "left as it was (sweep.rerun_failed=false)"
            )
        return Continuation("rerun")
    # interrupted, or killed (no summary, or an older attempt's): from its checkpoint if any
    return Continuation("resume" if has_checkpoint else "rerun")


def changed_settings(job_dir: Path, cfg: DictConfig) -> str:
    """The settings that make the job what it is, where they differ from its last attempt's
    (provenance.json); '' when they agree or no record says."""
    try:
        previous = read_json(job_dir / "provenance.json")["runs"][-1]["config"]
    except (OSError, ValueError, KeyError, IndexError):
        return ""
    now: dict[str, Any] = OmegaConf.to_container(cfg, resolve=True)  # type: ignore[assignment]
    before, after = _identity(previous), _identity(now)
    diffs = [
        f"{k}={before.get(k, '<unset>')} then, {after.get(k, '<unset>')} now"
        for k in sorted(before.keys() | after.keys())
        if before.get(k) != after.get(k)
    ]
    return "; ".join(diffs[:3]) + (f" (and {len(diffs) - 3} more)" if len(diffs) > 3 else "")


def _identity(config: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v
        for k, v in flatten(config).items()
        if not any(k == key or k.startswith(f"{key}.") for key in NOT_IDENTITY)
    }


def set_aside(job_dir: Path) -> Path:
    """Move an earlier attempt's files into previous_attempts/<n>/; returns that directory."""
    previous = job_dir / PREVIOUS
    n = 1 + max((int(p.name) for p in previous.glob("*") if p.name.isdigit()), default=0)
    target = previous / str(n)
    target.mkdir(parents=True)
    for pattern in ATTEMPT_FILES:
        for path in job_dir.glob(pattern):
            shutil.move(str(path), target / path.name)
    return target
