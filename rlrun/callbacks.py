"""Hydra callbacks: report every failed job of a sweep, and write the sweep report at its end.

`on_job_end` runs wherever the job runs: in this process under the basic launcher, but in worker
processes (or on other machines) under joblib, ray or submitit, so what it records here is not
enough to know how a sweep went. The sweep's own record is each job's summary.json, written
whether the job succeeds or fails: `finish_sweep` (run once, in the main process) reads them,
writes report.md / report.csv / curves.png into the sweep directory, and returns the failures
that the CLI turns into exit code 1.

Hydra calls `on_multirun_end` only when the sweeper returns; Hydra's basic sweeper raises instead
when a job failed, so the CLI calls `finish_sweep` itself on that path.
"""

from __future__ import annotations

import os
import pickle
import re
import sys
import time
from pathlib import Path
from typing import Any

from hydra.core.utils import JobReturn, JobStatus
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from rlrun.errors import RlrunError
from rlrun.records import FINISHED, SUMMARY, read_summary

# Failures seen in this process, "#<num> (<overrides>): <error>" (basic launcher only).
FAILED_JOBS: list[str] = []

# The sweep this process launched: its directory and start time, then its failures once known.
_SWEEP: dict[str, Any] = {}

# Job directories whose .hydra/ is older than the sweep's start (minus this much slack for
# coarse file-system timestamps) belong to an earlier sweep into the same directory.
_MTIME_SLACK_S = 5.0


class JobReport(Callback):
    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        _SWEEP.clear()
        _SWEEP.update(dir=Path(str(config.hydra.sweep.dir)), start=time.time())
        launcher = config.hydra.launcher
        if str(launcher.get("_target_", "")).endswith(".RayLauncher") and (
            launcher.ray.init.get("address") == "local"
        ):
            # A machine-local Ray listens on loopback only with this switch (read at import,
            # which the launcher does after this point); without it Ray binds every interface.
            os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        finish_sweep(Path(str(config.hydra.sweep.dir)))

    def on_job_end(self, config: DictConfig, job_return: JobReturn, **kwargs: Any) -> None:
        if job_return.status != JobStatus.FAILED or config.hydra.mode.name != "MULTIRUN":
            return
        err = job_return._return_value
        overrides = " ".join(job_return.overrides or []) or "(no overrides)"
        message = f"{type(err).__name__}: {err}".strip().splitlines()[0]
        line = f"#{config.hydra.job.get('num', 0)} ({overrides}): {message}"
        FAILED_JOBS.append(line)
        print(f"rlrun: job failed {line}", file=sys.stderr, flush=True)
        job_return.return_value = picklable(err)


def picklable(err: BaseException) -> BaseException:
    """`err`, or an exception of a picklable type with the same message.

    Parallel launchers pickle each job's JobReturn, exception included, back to the main
    process; an exception that does not unpickle (its __init__ wants other arguments than its
    args, as ConfigError(key, message) does) makes joblib raise there at once and abandon the
    sweep's other, still running, jobs.
    """
    try:
        pickle.loads(pickle.dumps(err))
        return err
    except Exception:  # noqa: BLE001 - whatever pickling raises, the job's failure must arrive
        cls = RlrunError if isinstance(err, RlrunError) else RuntimeError
        return cls(f"{type(err).__name__}: {err}")


def finish_sweep(sweep_dir: Path | None = None) -> list[str]:
    """Once per sweep, in the main process: write the report, return the failed jobs' lines.

    Without a sweep (a single run) this is the in-process FAILED_JOBS, i.e. nothing. A report
    that cannot be written is a warning on stderr, never a failure of the sweep.
    """
    if "failures" in _SWEEP:
        return _SWEEP["failures"]
    sweep_dir = sweep_dir or _SWEEP.get("dir")
    if sweep_dir is None:
        return list(FAILED_JOBS)
    failures = merge_failures(failed_jobs(sweep_dir, since=_SWEEP.get("start")), FAILED_JOBS)
    _SWEEP["failures"] = failures
    write_sweep_report(sweep_dir)
    return failures


def write_sweep_report(sweep_dir: Path) -> None:
    try:
        from rlrun.report import ReportError, write_report

        try:
            paths = write_report(sweep_dir)
        except ReportError:
            return  # no job got as far as writing a summary: nothing to report
        print(f"rlrun: sweep report: {paths[0]}", flush=True)
    except Exception as e:  # noqa: BLE001 - a report must never fail a finished sweep
        print(
            f"rlrun: warning: could not write the sweep report in {sweep_dir}: "
            f"{type(e).__name__}: {e}".splitlines()[0],
            file=sys.stderr,
            flush=True,
        )


def failed_jobs(sweep_dir: Path, since: float | None = None) -> list[str]:
    """ "#<num> (<overrides>): <error>" for each job under `sweep_dir` that did not complete.

    A job is a directory with a `.hydra/` inside; it failed when its summary.json says a status
    other than "completed" or "stopped" (pruned), or when it has none (the job never got as far,
    or its process died). Jobs set up before `since` (epoch seconds) are left out: they are an
    earlier sweep's into the same directory.
    """
    from rlrun.report import job_number, read_overrides

    lines = []
    for hydra_dir in Path(sweep_dir).rglob(".hydra"):
        job_dir = hydra_dir.parent
        if job_dir == Path(sweep_dir) or not hydra_dir.is_dir():
            continue
        if since is not None and _mtime(hydra_dir) < since - _MTIME_SLACK_S:
            continue
        error = _job_error(job_dir)
        if error is None:
            continue
        overrides = " ".join(read_overrides(job_dir)) or "(no overrides)"
        lines.append(f"#{job_number(job_dir)} ({overrides}): {error}")
    return sorted(lines, key=_job_order)


def _job_error(job_dir: Path) -> str | None:
    summary = read_summary(job_dir)
    if summary is None:
        return f"no {SUMMARY}: the job did not finish"
    status = summary.get("status")
    if status in FINISHED:
        return None
    return str(summary.get("error") or f"status {status}")


def _mtime(path: Path) -> float:
    times = [path.stat().st_mtime]
    times += [p.stat().st_mtime for p in path.iterdir() if p.is_file()]
    return max(times)


def merge_failures(from_summaries: list[str], in_process: list[str]) -> list[str]:
    """The summaries' lines, plus in-process ones for jobs they do not name, by job number."""
    named = {line.split(" ", 1)[0] for line in from_summaries}
    extra = [line for line in in_process if line.split(" ", 1)[0] not in named]
    return sorted([*from_summaries, *extra], key=_job_order)


def _job_order(line: str) -> tuple[int, str]:
    match = re.match(r"#(\d+) ", line)
    return (int(match.group(1)), line) if match else (sys.maxsize, line)
