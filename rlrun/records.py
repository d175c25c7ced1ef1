"""Run records: how a job ended, and the files that say so, written atomically.

A leaf: nothing in rlrun is imported here, so the report, the sweep callbacks, the search and the
experiment read and write `summary.json` one way, without pulling in torch or each other.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

# summary.json statuses of a job that ran to its end ("stopped": ended early by a search's pruner);
# anything else ("failed", "interrupted") is a job a sweep reports as failed.
FINISHED = ("completed", "stopped")

SUMMARY = "summary.json"
# The eval/<name> scalars every runner logs at each evaluation (EvalResult's fields of that name).
EVAL_SCALARS = ("mean_return", "std_return", "mean_length", "success_rate")
LOCK = ".rlrun.lock"  # held by the process writing into a run directory


@contextlib.contextmanager
def atomic_file(path: Path, mode: str = "w") -> Iterator[IO[Any]]:
    """A file to write `path` through: a temporary file beside it, synced and renamed over `path`
    when the block ends without an error. A crash at any moment leaves the old file or the new
    one, never half of one, so a reader (a sweep report, a resume) never sees a torn file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        # text as written: no newline translation (the csv module asks for that)
        with open(tmp, mode, newline=None if "b" in mode else "") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: Path, text: str) -> None:
    with atomic_file(path) as f:
        f.write(text)


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Atomically, indented; non-finite floats become null (JSON has no NaN)."""
    write_text(path, json.dumps(_finite(data), indent=2) + "\n")


class RunDirInUse(Exception):
    """Another process holds the run directory's lock."""

    def __init__(self, run_dir: Path, holder: str) -> None:
        super().__init__(
            f"{run_dir} is in use by another rlrun process (pid {holder}); "
            "wait for it to end or stop it"
        )
        self.holder = holder


@contextlib.contextmanager
def run_dir_lock(run_dir: Path) -> Iterator[None]:
    """Hold `run_dir`'s lock (an flock, so a killed holder releases it) or raise RunDirInUse
    naming the holder: two processes writing one run's checkpoints and records would tear them.
    Where flock does not exist (Windows) runs are not locked."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    path = run_dir / LOCK
    with open(path, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "unknown"
            raise RunDirInUse(run_dir, holder) from None
        f.truncate(0)
        f.write(str(os.getpid()))
        f.flush()
        try:
            yield
        finally:
            f.truncate(0)
            fcntl.flock(f, fcntl.LOCK_UN)


def run_dir_holder(run_dir: Path) -> str | None:
    """The pid holding `run_dir`'s lock, or None when no process does."""
    if not (run_dir / LOCK).exists():
        return None
    try:
        with run_dir_lock(run_dir):
            return None
    except RunDirInUse as e:
        return e.holder


def read_json(path: Path) -> dict[str, Any]:
    """The JSON object in `path`; OSError or ValueError if it is missing or damaged."""
    data = json.loads(path.read_text())
    if not isinstance(data, dict):
        raise ValueError(f"{path.name} holds {type(data).__name__}, not an object")
    return data


def write_summary(run_dir: Path, summary: dict[str, Any]) -> None:
    write_json(run_dir / SUMMARY, summary)


def read_summary(run_dir: Path) -> dict[str, Any] | None:
    """The run's summary.json; None if it has none; a failed record if it cannot be read."""
    path = run_dir / SUMMARY
    if not path.exists():
        return None
    try:
        return read_json(path)
    except (OSError, ValueError) as e:
        return {"status": "failed", "error": f"unreadable {SUMMARY}: {e}"}


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"agent": {"gamma": 0.9}} -> {"agent.gamma": 0.9}; lists become strings, None "null"."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}."))
        elif isinstance(value, (bool, int, float, str)):
            out[name] = value
        else:
            out[name] = "null" if value is None else str(value)
    return out


def _finite(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    return x
