"""Kill-anywhere soak: SIGKILL a job at random moments, continue it, compare with an unkilled run.

A training job is killed again and again, continued each time with the same sweep command, and
must end bit-identical to a run that was never interrupted.

    python benchmarks/soak.py --kills 20                  # the soak (~3-5 min on 2 cores)
    python benchmarks/soak.py --kills 20 --spread --write-jitter-ms 40   # kills over the whole run
    python benchmarks/soak.py --kills 4 --steps 5000 --eval-every 2500   # a smoke run (~1 min)

The job is DQN on CartPole (`--steps` env steps, a checkpoint with the replay buffer every
`--checkpoint-every` steps), run as a one-job sweep, `rlrun -m <overrides>
hydra.sweep.dir=<sweep> hydra.sweep.subdir=job`, so that running the same command again continues
it (rlrun.sweep: resumed from its newest intact checkpoint, or started over when killed before the
first one). Steps:

1. Reference: the same command into a fresh sweep dir, run to the end. Its timing (spawn to each
   checkpoint, to summary.json) sets the kill windows below.
2. Soak: `--kills` attempts are SIGKILLed (the whole process group: each attempt runs in its own
   session). The first `--restart-kills` (default 1) land between the job's first TensorBoard
   event file and its first checkpoint, so the next attempt must move the files aside into
   previous_attempts/<n>/ and start over (a kill before the event file leaves nothing to move).
   The others, in a random order, about half each:
   - "uniform": at a uniform time from 0.3 s to `--window` x the typical time the attempt has
     left until the job's summary.json (estimated from the reference and the newest checkpoint
     on disk; a kill after the summary would find the job finished);
   - "checkpoint-write": armed at such a time, then checkpoints/ is polled every `--poll-ms`
     and the group killed as soon as a new `.*.tmp` file (a checkpoint being written) appears,
     or a random moment up to `--write-jitter-ms` later (a step_<N>.pt with the replay buffer
     takes ~30-60 ms to write; at once, the kill finds it empty). A kill counts as landing
     during the write when the tmp file is still there after the process died (nothing
     removes it then).
   A kill still waiting when the job's final checkpoint (step_<total>.pt) is written anew is
   brought forward to that moment: later, it could land after the job's summary, leaving the
   next attempts a finished job to skip (the timing estimate is only typical).
   Each uniform kill takes half the remaining training away on average, so after a few kills
   the rest land in the last stretch of the run; `--spread` narrows each window so that a kill
   takes the remaining training / kills left on average: the kills cover the whole run.
   After each kill the same command runs again; after the last kill it runs to the end.
3. Checks: every attempt after a kill resumed (when a checkpoint existed; from the newest, not
   falling back past a damaged last.pt) or started over (when none did), none failed, the last
   one completed; every .pt file under the job dir (with previous_attempts/) loads with
   rlrun.checkpoint.load, after every kill and at the end; the final last.pt's agent tensors equal
   the reference's (torch.equal); summary.json final_eval and the (step, mean_return) of every
   evaluation equal; in TensorBoard (EventAccumulator, as TensorBoard shows the run) every scalar
   tag's steps strictly increase, and eval/mean_return and charts/episodic_return equal the
   reference's (step, value) for (step, value).

Output: a markdown table on stdout and in <out>/soak.md, the raw record of every attempt in
<out>/soak.json, each attempt's console log in <out>/logs/, the sweep dirs in <out>/reference/ and
<out>/killed/. rlrun runs with <out> as its working directory (outside the checkout: see
README "Pinning a commit" on `python -m rlrun` from the repository root). Exit code 1 if an
acceptance check fails.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import math
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

# bench.py sits beside this file (the script's directory is first on sys.path)
from bench import git_state, rlrun_cmd, source_hash

# What an attempt's console log says it did (rlrun.cli.continue_sweep_job, rlrun.experiment.build).
RESUMED = re.compile(r"resuming from (\S+) \(step (\d+)\)")
STARTED_OVER = re.compile(r"starting over; the earlier attempt's files are in (\S+)")
SKIPPED = re.compile(r"finished in an earlier attempt: skipped")
FELL_BACK = re.compile(r".*; resuming from \S+ instead")  # rlrun.checkpoint.load_for_resume
TRAINING = re.compile(r"\d+ steps -> ")  # the runner is built: training starts (or resumes)
STEP_FILE = re.compile(r"step_(\d+)\.pt")
# TensorBoard series that must equal the reference's value for value (charts/SPS is wall-clock)
SAME_SERIES = ("eval/mean_return", "charts/episodic_return")
WALL_CLOCK_TAGS = ("charts/SPS",)
MIN_KILL_S = 0.3  # the earliest kill after spawn
GUARD_POLL_S = 0.005  # how often a waiting kill looks for the job's final checkpoint


@dataclass(frozen=True)
class Timing:
    """When the reference run reached its milestones, seconds from spawn."""

    at_step: dict[int, float]  # step_<N>.pt first on disk
    summary_s: float  # summary.json on disk: the job counts as finished from here
    exit_s: float

    @property
    def startup_s(self) -> float:
        """Spawn to training, roughly: spawn to the first checkpoint (the steps before it come
        quickly while learning_starts acts at random); a resume also loads a checkpoint."""
        return self.at_step[min(self.at_step)] if self.at_step else 0.0

    def remaining_s(self, step: int) -> float:
        """How long an attempt starting from checkpoint `step` (0: none) typically runs until
        the job's summary.json: start-up plus the reference's time from `step` on."""
        reached = [s for s in self.at_step if s <= step]
        if not reached:
            return self.summary_s
        return self.startup_s + self.summary_s - self.at_step[max(reached)]

    def kill_window_s(self, step: int, kills_left: int, spread: bool, window: float) -> float:
        """The latest moment to kill (or arm) an attempt starting from checkpoint `step`:
        `window` x its remaining time. With `spread`, earlier, so that a kill at a uniform time
        in [MIN_KILL_S, that moment] takes away the remaining training / `kills_left` on average
        (without, each takes about half of it, and after a few kills the rest land in the last
        stretch of the run): for X = the moment - startup_s and share = training / kills_left,
        E[(U - startup_s)+] = X^2 / (2 (startup_s - MIN_KILL_S + X)) = share."""
        if self.at_step and step >= max(self.at_step):
            # from the final checkpoint: if it was written after the final evaluation, the
            # attempt only writes the summary once started (~startup_s from spawn here), and
            # writes no new checkpoint to bring the kill forward to: kill during start-up
            return window * 0.8 * self.startup_s
        remaining = self.remaining_s(step)
        if not spread:
            return window * remaining
        share = max(0.0, remaining - self.startup_s) / max(1, kills_left)
        x = share + math.sqrt(share**2 + 2 * share * max(0.0, self.startup_s - MIN_KILL_S))
        return min(window * remaining, self.startup_s + x)


@dataclass
class Attempt:
    """One run of the sweep command on the killed job."""

    n: int
    # killed: "uniform", "checkpoint-write", "before-first-checkpoint"; "final": runs to the end
    kind: str
    delay_s: float | None  # uniform: the kill time; checkpoint-write: when the watch is armed
    newest_before: int | None  # the newest step_<N>.pt before the attempt; None: no checkpoint
    source: str  # hash of rlrun's *.py / *.yaml at spawn (bench.source_hash)
    killed: bool = False
    killed_at_s: float | None = None
    tmp_seen: str | None = None  # the checkpoint tmp file that triggered the kill
    tmp_left: bool = False  # still there after the group died: the kill landed mid-write
    tmp_bytes: int | None = None  # how much of it was written by then
    # killed before its planned moment because the job's final checkpoint appeared (later, the
    # kill could find the job finished)
    brought_forward: bool = False
    finished_before: bool = False  # the job's summary.json said "completed" before the attempt
    exit_code: int | None = None
    timed_out: bool = False
    wall_s: float = 0.0
    action: str = ""  # resumed / started over / started fresh / skipped / undecided
    resumed_step: int | None = None
    expected: str = ""  # what the files before it call for: resumed / started over / skipped
    summary_status: str | None = None
    set_aside: str | None = None  # started over: where it moved the earlier attempt's files
    fell_back: str | None = None  # resume's warning: last.pt damaged, resumed from another file
    checked: int = 0  # killed: the .pt files under the job dir loaded after the kill
    damaged: list[str] = field(default_factory=list)  # ... and those that failed to load
    log: str = ""


@dataclass
class Check:
    """One row of the result table; `ok` None: information only, not an acceptance check."""

    name: str
    result: str
    target: str = ""
    ok: bool | None = None
    detail: list[str] = field(default_factory=list)


# --- running rlrun -----------------------------------------------------------------------------


def job_overrides(a: argparse.Namespace) -> list[str]:
    """The job: DQN CartPole, checkpoints with the replay buffer (the bit-identical resume)."""
    return [
        "agent=dqn",
        "env=cartpole",
        f"total_timesteps={a.steps}",
        f"seed={a.seed}",
        f"checkpoint.every_steps={a.checkpoint_every}",
        "checkpoint.save_replay_buffer=true",
        f"eval.every_steps={a.eval_every}",
        f"agent.learning_starts={a.learning_starts}",
        "logger.progress=false",
    ]


def sweep_command(a: argparse.Namespace, sweep: Path) -> list[str]:
    """The command that starts the job and, run again, continues it."""
    return [
        *rlrun_cmd(),
        "-m",
        *job_overrides(a),
        f"hydra.sweep.dir={sweep}",
        "hydra.sweep.subdir=job",
    ]


def spawn(cmd: list[str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    """Start `cmd` in its own session (its pid is the process group id), output into `log`."""
    with log.open("wb") as f:
        return subprocess.Popen(
            cmd, cwd=cwd, stdout=f, stderr=subprocess.STDOUT, start_new_session=True
        )


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the attempt's whole process group and reap it."""
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


class FinalCheckpoint:
    """Notices the job's final checkpoint, checkpoints/step_<total>.pt, being written anew (a
    new file renamed into place: another inode): from then on the job may write its summary
    any moment."""

    def __init__(self, ckpt_dir: Path, total: int) -> None:
        self.path = ckpt_dir / f"step_{total}.pt"
        self.before = self._identity()

    def _identity(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return st.st_ino, st.st_mtime_ns

    def written(self) -> bool:
        now = self._identity()
        return now is not None and now != self.before


def wait_for(proc: subprocess.Popen[bytes], deadline: float, final: FinalCheckpoint) -> str:
    """Wait until perf_counter() reaches `deadline`: "deadline"; "exited" if the process exits
    first; "final" if the job's final checkpoint is written first (the last moment a kill is
    sure to find the job unfinished)."""
    while True:
        if proc.poll() is not None:
            return "exited"
        if final.written():
            return "final"
        now = time.perf_counter()
        if now >= deadline:
            return "deadline"
        time.sleep(min(GUARD_POLL_S, deadline - now))


def exited_by(proc: subprocess.Popen[bytes], deadline: float) -> bool:
    """Wait until perf_counter() reaches `deadline`; True if the process exited first."""
    try:
        proc.wait(timeout=max(0.0, deadline - time.perf_counter()))
    except subprocess.TimeoutExpired:
        return False
    return True


def tmp_files(directory: Path) -> set[str]:
    """The temporary files of writes in progress in `directory` (`.<name>.<pid>.tmp`)."""
    try:
        with os.scandir(directory) as it:
            return {e.name for e in it if e.name.startswith(".") and e.name.endswith(".tmp")}
    except FileNotFoundError:  # not made yet, or just moved into previous_attempts/
        return set()


def newest_step(ckpt_dir: Path) -> int | None:
    """The step of the newest checkpoints/step_<N>.pt; None if there is none."""
    steps = [int(m[1]) for p in ckpt_dir.glob("step_*.pt") if (m := STEP_FILE.fullmatch(p.name))]
    return max(steps, default=None)


def read_summary(job: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((job / "summary.json").read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


# --- the reference run -------------------------------------------------------------------------


def reference_run(a: argparse.Namespace, out: Path) -> tuple[Timing, int]:
    """The job run straight through; when each checkpoint and the summary appeared. Returns
    (timing, exit code)."""
    sweep = out / "reference"
    job = sweep / "job"
    t0 = time.perf_counter()
    proc = spawn(sweep_command(a, sweep), out, out / "logs" / "reference.log")
    at_step: dict[int, float] = {}
    summary_s = None
    # poll every 20 ms: the checkpoints come ~1 s apart, and the oldest ones get deleted
    while proc.poll() is None:
        now = time.perf_counter() - t0
        for p in (job / "checkpoints").glob("step_*.pt"):
            if m := STEP_FILE.fullmatch(p.name):
                at_step.setdefault(int(m[1]), now)
        if summary_s is None and (job / "summary.json").exists():
            summary_s = now
        if now > a.attempt_timeout:
            kill_group(proc)
            return Timing(at_step, now, now), -1
        time.sleep(0.02)
    exit_s = time.perf_counter() - t0
    return Timing(at_step, summary_s or exit_s, exit_s), proc.returncode


# --- the soak ----------------------------------------------------------------------------------


def plan_kills(n: int, restarts: int, rng: random.Random) -> list[str]:
    """`n` kill kinds: first `restarts` before the first checkpoint, then the others in a
    random order, half of them (rounded down) during a checkpoint write."""
    restarts = min(restarts, n)
    rest = n - restarts
    kinds = ["checkpoint-write"] * (rest // 2) + ["uniform"] * (rest - rest // 2)
    rng.shuffle(kinds)
    return ["before-first-checkpoint"] * restarts + kinds


def run_attempt(
    n: int,
    kind: str,
    delay_s: float | None,
    jitter_s: float,
    cmd: list[str],
    out: Path,
    job: Path,
    a: argparse.Namespace,
) -> Attempt:
    """Run the sweep command once: killed as `kind` says, or ("final") to its end."""
    ckpt_dir = job / "checkpoints"
    log = out / "logs" / f"attempt_{n:02d}.log"
    at = Attempt(n, kind, delay_s, newest_step(ckpt_dir), source_hash(), log=str(log))
    at.finished_before = (read_summary(job) or {}).get("status") == "completed"
    stale = tmp_files(ckpt_dir)  # left behind by earlier kills: not a write in progress
    final = FinalCheckpoint(ckpt_dir, a.steps)
    poll = a.poll_ms / 1000
    t0 = time.perf_counter()
    timeout = t0 + a.attempt_timeout
    proc = spawn(cmd, out, log)
    if kind == "before-first-checkpoint":
        # once the runner is built (its event file appears), before checkpoints/ has a file:
        # the next attempt must set this one's files aside and start over
        events = set(job.glob("events.out.tfevents.*"))
        while proc.poll() is None and time.perf_counter() < timeout:
            if set(job.glob("events.out.tfevents.*")) - events:
                at.killed = True
                break
            time.sleep(poll)
        at.timed_out = not at.killed and proc.poll() is None
    elif kind == "final" or delay_s is None:
        at.timed_out = not exited_by(proc, timeout)
    elif (why := wait_for(proc, t0 + delay_s, final)) != "exited":
        at.brought_forward = why == "final"
        if kind == "uniform" or at.brought_forward:
            at.killed = True
        else:  # checkpoint-write: from now on, kill as soon as a new tmp file appears
            while proc.poll() is None and time.perf_counter() < timeout:
                fresh = tmp_files(ckpt_dir) - stale
                if fresh:
                    # --write-jitter-ms: a random moment of the write (~30-60 ms for a step_<N>.pt
                    # with the replay buffer), not always its first (an empty file)
                    time.sleep(jitter_s)
                    at.tmp_seen, at.killed = sorted(fresh)[0], True
                    break
                time.sleep(poll)
            at.timed_out = not at.killed and proc.poll() is None
    if at.killed:
        at.killed_at_s = time.perf_counter() - t0
    if at.killed or at.timed_out:
        kill_group(proc)
    at.wall_s = time.perf_counter() - t0
    at.exit_code = proc.returncode
    if at.tmp_seen is not None and (ckpt_dir / at.tmp_seen).exists():
        at.tmp_left, at.tmp_bytes = True, (ckpt_dir / at.tmp_seen).stat().st_size
    text = log.read_text(errors="replace")
    classify(at, text)
    if m := FELL_BACK.search(text):
        at.fell_back = m[0]
    if at.killed:
        at.checked, at.damaged = load_all_checkpoints(job)
    summary = read_summary(job)
    at.summary_status = None if summary is None else summary.get("status")
    return at


def classify(at: Attempt, log: str) -> None:
    """What the attempt did with the job (from its log), and what it should have done."""
    if m := RESUMED.search(log):
        at.action, at.resumed_step = "resumed", int(m[2])
    elif m := STARTED_OVER.search(log):
        at.action = "started over"  # an earlier attempt's files moved to previous_attempts/
        at.set_aside = m[1]
    elif SKIPPED.search(log):
        at.action = "skipped"
    elif TRAINING.search(log):
        at.action = "started fresh"  # nothing (or nothing but a config) to continue
    else:
        at.action = "undecided"  # killed during start-up, before it said what it would do
    if at.finished_before:
        at.expected = "skipped"  # a kill after the summary (at its last moment, say)
    else:
        at.expected = "resumed" if at.newest_before is not None else "started over"


def failed(at: Attempt) -> str | None:
    """Why the attempt counts as failed (not our kill), or None."""
    if at.timed_out:
        return f"no exit within {at.wall_s:.0f} s (killed by the soak's timeout)"
    if at.killed:
        return None
    if at.exit_code != 0:
        return f"exit code {at.exit_code}"
    if at.summary_status != "completed":
        return f"exit 0 but summary.json status {at.summary_status!r}"
    return None


def continued_as_expected(at: Attempt) -> bool | None:
    """Resumed from a checkpoint when one existed, started over when none did, skipped a job
    that had finished; None when it was killed before saying (still starting up)."""
    if at.action == "undecided":
        return None
    if at.expected == "started over":
        return at.action in ("started over", "started fresh")
    return at.action == at.expected


def soak(a: argparse.Namespace, timing: Timing, out: Path) -> list[Attempt]:
    """Kill the job `a.kills` times, continuing it after each kill, then let it finish."""
    rng = random.Random(a.kill_seed)
    sweep = out / "killed"
    job = sweep / "job"
    cmd = sweep_command(a, sweep)
    attempts: list[Attempt] = []
    for n, kind in enumerate([*plan_kills(a.kills, a.restart_kills, rng), "final"], start=1):
        step = newest_step(job / "checkpoints") or 0
        high = timing.kill_window_s(step, a.kills - n + 1, a.spread, a.window)
        timed = kind in ("uniform", "checkpoint-write")
        delay = rng.uniform(MIN_KILL_S, max(MIN_KILL_S, high)) if timed else None
        jitter = rng.uniform(0, a.write_jitter_ms / 1000) if kind == "checkpoint-write" else 0.0
        at = run_attempt(n, kind, delay, jitter, cmd, out, job, a)
        attempts.append(at)
        print(f"soak: {describe(at)}", file=sys.stderr, flush=True)
        if kind != "final" and not at.killed:
            # it ended on its own (finished before the kill, or failed): no job left to kill
            print(
                f"soak: attempt {n} ended before its kill (the job is finished or failed); "
                "stopping. A smaller --window (or another --kill-seed) keeps kills in time.",
                file=sys.stderr,
            )
            break
    return attempts


def describe(at: Attempt) -> str:
    """One progress line for stderr."""
    when = "-" if at.killed_at_s is None else f"{at.killed_at_s:.2f} s"
    when += " (brought forward: final checkpoint)" if at.brought_forward else ""
    tmp = f", tmp {at.tmp_seen} ({tmp_state(at)})" if at.tmp_seen else ""
    step = f" from step {at.resumed_step}" if at.resumed_step is not None else ""
    return (
        f"attempt {at.n:2d} {at.kind:23s} newest ckpt {at.newest_before}, {at.action}{step}, "
        f"killed at {when}{tmp}, exit {at.exit_code}, {at.wall_s:.1f} s"
    )


def tmp_state(at: Attempt) -> str:
    """What the kill left of the checkpoint being written."""
    return f"left, {at.tmp_bytes:,} bytes" if at.tmp_left else "gone: renamed before the kill"


# --- checks ------------------------------------------------------------------------------------


def load_all_checkpoints(sweep: Path) -> tuple[int, list[str]]:
    """Load every .pt under `sweep` (previous_attempts/ too): (files, errors of damaged ones)."""
    from rlrun.checkpoint import CheckpointError, load

    paths = sorted(sweep.rglob("*.pt"))
    damaged = []
    for path in paths:
        try:
            load(path)
        except CheckpointError as e:
            damaged.append(f"{path.relative_to(sweep)}: {e}")
        except Exception as e:  # noqa: BLE001 - a torn file must be one CheckpointError
            damaged.append(f"{path.relative_to(sweep)}: not a CheckpointError: {e!r}")
    return len(paths), damaged


def leaves(tree: Any, path: str = "") -> dict[str, Any]:
    """Every leaf of a checkpoint tree (dicts, lists, tuples) by its path."""
    if isinstance(tree, dict):
        items: Any = tree.items()
    elif isinstance(tree, (list, tuple)):
        items = enumerate(tree)
    else:
        return {path: tree}
    found: dict[str, Any] = {}
    for key, value in items:
        found |= leaves(value, f"{path}/{key}")
    return found


def same_leaf(x: Any, y: Any) -> bool:
    import torch

    if isinstance(x, torch.Tensor) or isinstance(y, torch.Tensor):
        return (
            isinstance(x, torch.Tensor)
            and isinstance(y, torch.Tensor)
            and x.dtype == y.dtype
            and torch.equal(x, y)
        )
    if isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y):
        return True
    return bool(x == y) and type(x) is type(y)


def compare_trees(x: Any, y: Any) -> tuple[int, list[str], int, list[str]]:
    """(tensors, differing tensor paths, other leaves, differing other paths); a path only one
    tree has counts as differing."""
    import torch

    a, b = leaves(x), leaves(y)
    tensors = {p for p in a.keys() | b.keys() if isinstance(a.get(p, b.get(p)), torch.Tensor)}
    others = (a.keys() | b.keys()) - tensors
    bad_t = sorted(p for p in tensors if p not in a or p not in b or not same_leaf(a[p], b[p]))
    bad_o = sorted(p for p in others if p not in a or p not in b or not same_leaf(a[p], b[p]))
    return len(tensors), bad_t, len(others), bad_o


def scalars(run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar tag's (step, value) points as TensorBoard shows the run (the event files in
    `run_dir` itself, purges applied)."""
    import logging

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    # the purges a resume asks for are expected: no "out of order event.step" warning per file
    logging.getLogger("tensorboard").setLevel(logging.ERROR)
    acc = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def not_increasing(points: list[tuple[int, float]]) -> list[str]:
    """Where the steps of a series repeat or go back."""
    steps = [s for s, _ in points]
    return [f"{p} then {q}" for p, q in itertools.pairwise(steps) if q <= p]


def first_difference(x: list[tuple[int, float]], y: list[tuple[int, float]]) -> str:
    for i, (p, q) in enumerate(zip(x, y, strict=False)):
        if p != q:
            return f"point {i}: {p} vs {q}"
    return f"{len(x)} vs {len(y)} points"


def written_at_kill(attempts: list[Attempt]) -> str:
    """Which files were being written at the checkpoint-write kills, and how far."""
    files = Counter(re.sub(r"\.\d+\.tmp$", "", x.tmp_seen) for x in attempts if x.tmp_seen)
    sizes = [x.tmp_bytes for x in attempts if x.tmp_bytes is not None]
    shown = ", ".join(f"{name} x{k}" for name, k in sorted(files.items()))
    span = f"; bytes written when killed {min(sizes):,} to {max(sizes):,}" if sizes else ""
    return f"files being written: {shown or 'none'}{span}"


def yes(ok: bool) -> str:
    return "yes" if ok else "NO"


def checks(a: argparse.Namespace, attempts: list[Attempt], out: Path, ref_exit: int) -> list[Check]:
    """The result table's rows."""
    rows: list[Check] = []
    job, ref = out / "killed" / "job", out / "reference" / "job"
    killed = [x for x in attempts if x.killed]
    final = attempts[-1]

    # 1. the kills
    rows.append(Check("kills", f"{len(killed)}", f"{a.kills}", len(killed) == a.kills))
    mid = [x for x in killed if x.kind == "checkpoint-write"]
    rows.append(
        Check(
            "kills timed to a checkpoint write: tmp file seen / still there after the kill",
            f"{sum(x.tmp_seen is not None for x in mid)} / {sum(x.tmp_left for x in mid)} "
            f"of {len(mid)}",
            detail=[written_at_kill(mid)],
        )
    )
    uniform = [x for x in killed if x.kind == "uniform"]
    rows.append(
        Check(
            "kills at a uniform time",
            f"{len(uniform)}, at "
            + ", ".join(f"{x.killed_at_s:.1f}" for x in uniform if x.killed_at_s is not None)
            + " s",
        )
    )
    early = [x for x in killed if x.kind == "before-first-checkpoint"]
    if early:
        rows.append(
            Check(
                "kills before the first checkpoint (once the event file was written)",
                f"{len(early)}, at "
                + ", ".join(f"{x.killed_at_s:.2f}" for x in early if x.killed_at_s is not None)
                + " s",
            )
        )
    forward = [x.n for x in killed if x.brought_forward]
    late = [x.n for x in killed if x.summary_status == "completed" and not x.finished_before]
    rows.append(
        Check(
            "kills brought forward to the final checkpoint / landing after the job's summary",
            f"{len(forward)} / {len(late)}",
            detail=[f"attempts {forward} / {late}"] if forward or late else [],
        )
    )

    # 2. how each attempt after a kill continued the job
    after = attempts[1:]
    count = {k: sum(x.action == k for x in after) for k in ("resumed", "undecided", "skipped")}
    over = sum(x.action in ("started over", "started fresh") for x in after)
    skipped = f", skipped (finished) {count['skipped']}" if count["skipped"] else ""
    verdicts = [continued_as_expected(x) for x in after]
    wrong = [x for x, v in zip(after, verdicts, strict=True) if v is False]
    ok_after = sum(v is not False for v in verdicts)
    rows.append(
        Check(
            "attempts after a kill that continued the job as expected",
            f"{ok_after}/{len(after)}: resumed {count['resumed']}, started over {over}, "
            f"killed again before deciding {count['undecided']}{skipped}",
            f"{a.kills}/{a.kills}",
            not wrong and len(after) == a.kills,
            [f"attempt {x.n}: {x.action}, expected {x.expected} ({x.log})" for x in wrong],
        )
    )
    over_dirs = [x for x in after if x.action == "started over"]
    kept = [x for x in over_dirs if x.set_aside and any(Path(x.set_aside).glob("events.*"))]
    rows.append(
        Check(
            "started over: the earlier attempt's files (event file) in previous_attempts/<n>/",
            f"{len(kept)}/{len(over_dirs)}",
            "all",
            len(kept) == len(over_dirs),
            [f"attempt {x.n}: {x.set_aside}" for x in over_dirs],
        )
    )
    resumed = [x for x in after if x.action == "resumed"]
    off = [x for x in resumed if x.resumed_step != x.newest_before]
    rows.append(
        Check(
            "resumed from the newest step_<N>.pt on disk",
            f"{len(resumed) - len(off)}/{len(resumed)}",
            detail=[
                f"attempt {x.n}: from step {x.resumed_step}, newest was {x.newest_before}"
                for x in off
            ],
        )
    )
    bad = [(x, why) for x in attempts if (why := failed(x))]
    rows.append(
        Check(
            "attempts failed (not our kill)",
            f"{len(bad)}",
            "0",
            not bad,
            [f"attempt {x.n}: {why} ({x.log})" for x, why in bad],
        )
    )
    rows.append(
        Check(
            "final attempt completed",
            f"{final.action}, exit {final.exit_code}, summary {final.summary_status}",
            "completed",
            final.kind == "final" and failed(final) is None,
        )
    )

    # 3. every checkpoint file intact: as each kill left them, and at the end
    files, damaged = load_all_checkpoints(out / "killed")
    files += sum(x.checked for x in killed)
    damaged += [f"after attempt {x.n}: {d}" for x in killed for d in x.damaged]
    stale = sorted(str(p.relative_to(out / "killed")) for p in (out / "killed").rglob(".*.tmp"))
    rows.append(
        Check(
            "checkpoint files damaged (all .pt loaded after every kill and at the end)",
            f"{len(damaged)} of {files}",
            "0",
            not damaged,
            damaged,
        )
    )
    fallbacks = [x for x in attempts if x.fell_back]
    rows.append(
        Check(
            "resumes that had to skip a damaged last.pt",
            f"{len(fallbacks)}",
            "0",
            not fallbacks,
            [f"attempt {x.n}: {x.fell_back}" for x in fallbacks],
        )
    )
    rows.append(
        Check("stale .tmp files left by mid-write kills (not .pt, not loaded)", f"{len(stale)}")
    )

    # 4. against the uninterrupted run
    rows.append(Check("reference run exit code", f"{ref_exit}", "0", ref_exit == 0))
    rows += compare_with_reference(job, ref)
    return rows


def compare_with_reference(job: Path, ref: Path) -> list[Check]:
    """Weights, summary.json and TensorBoard of the killed job against the reference."""
    from rlrun.checkpoint import load

    rows: list[Check] = []
    try:
        mine, theirs = load(job / "checkpoints" / "last.pt"), load(ref / "checkpoints" / "last.pt")
    except Exception as e:  # noqa: BLE001 - reported as a failed check
        return [Check("last.pt of both runs loads", f"{type(e).__name__}: {e}", "loads", False)]
    n_t, bad_t, n_o, bad_o = compare_trees(mine["agent"], theirs["agent"])
    rows.append(
        Check(
            f"agent tensors in last.pt bit-identical (step {mine['step']} vs {theirs['step']})",
            f"{n_t - len(bad_t)}/{n_t}",
            "all",
            not bad_t and n_t > 0 and mine["step"] == theirs["step"],
            bad_t[:10],
        )
    )
    rows.append(
        Check("agent's other leaves (counters, rng states) equal", f"{n_o - len(bad_o)}/{n_o}")
    )
    rows[-1].detail = bad_o[:10]
    # the buffer's arrays are numpy data (bytes leaves), so every leaf counts here
    n_rt, bad_rt, n_ro, bad_ro = compare_trees(mine["replay"], theirs["replay"])
    n_r, bad_r = n_rt + n_ro, bad_rt + bad_ro
    rows.append(Check("replay buffer in last.pt identical (leaves)", f"{n_r - len(bad_r)}/{n_r}"))
    rows[-1].detail = bad_r[:10]

    s, r = read_summary(job) or {}, read_summary(ref) or {}
    same_final = s.get("final_eval") is not None and s.get("final_eval") == r.get("final_eval")
    fe = s.get("final_eval") or {}
    rows.append(
        Check(
            "summary.json final_eval equal",
            f"{yes(same_final)} (mean_return {fe.get('mean_return')})",
            "equal",
            same_final,
            [] if same_final else [f"{s.get('final_eval')} vs {r.get('final_eval')}"],
        )
    )
    evals = [(e[0], e[2]) for e in s.get("evaluations", [])]
    ref_evals = [(e[0], e[2]) for e in r.get("evaluations", [])]
    rows.append(
        Check(
            "summary.json evaluations (step, mean_return) equal",
            f"{yes(evals == ref_evals)} ({len(evals)} vs {len(ref_evals)})",
            "equal",
            bool(evals) and evals == ref_evals,
            [] if evals == ref_evals else [first_difference(evals, ref_evals)],
        )
    )

    tb, ref_tb = scalars(job), scalars(ref)
    bad_steps = {t: not_increasing(p) for t, p in tb.items() if not_increasing(p)}
    rows.append(
        Check(
            "TensorBoard tags with strictly increasing steps (no duplicates)",
            f"{len(tb) - len(bad_steps)}/{len(tb)}",
            "all",
            not bad_steps and bool(tb),
            [f"{t}: {', '.join(v[:5])}" for t, v in bad_steps.items()],
        )
    )
    for tag in SAME_SERIES:
        x, y = tb.get(tag, []), ref_tb.get(tag, [])
        rows.append(
            Check(
                f"TensorBoard {tag} equal to the reference's",
                f"{yes(x == y)} ({len(x)} vs {len(y)} points)",
                "equal",
                bool(x) and x == y,
                [] if x == y else [first_difference(x, y)],
            )
        )
    other = sorted((tb.keys() | ref_tb.keys()) - {*SAME_SERIES, *WALL_CLOCK_TAGS})
    differ = [t for t in other if tb.get(t) != ref_tb.get(t)]
    rows.append(
        Check(
            "other TensorBoard tags equal (all but the wall-clock charts/SPS)",
            f"{len(other) - len(differ)}/{len(other)}",
            detail=[f"{t}: {first_difference(tb.get(t, []), ref_tb.get(t, []))}" for t in differ],
        )
    )
    return rows


# --- the report --------------------------------------------------------------------------------


def report(rows: list[Check], attempts: list[Attempt], meta: dict[str, Any]) -> str:
    lines = ["# Kill-anywhere soak", "", *(f"- {k}: {v}" for k, v in meta.items()), ""]
    lines += ["| check | result | target | pass |", "|---|---|---|---|"]
    for c in rows:
        verdict = "" if c.ok is None else ("yes" if c.ok else "**FAIL**")
        lines.append(f"| {c.name} | {c.result} | {c.target} | {verdict} |")
    details = [(c.name, d) for c in rows for d in c.detail]
    if details:
        lines += ["", "Details:", ""] + [f"- {name}: {d}" for name, d in details]
    lines += [
        "",
        "| attempt | kind | planned s | newest ckpt before | action | from step | killed at s "
        "| tmp file at the kill | exit | wall s |",
        "|---" * 10 + "|",
    ]
    for x in attempts:
        tmp = f"{x.tmp_seen} ({tmp_state(x)})" if x.tmp_seen else ""
        lines.append(
            f"| {x.n} | {x.kind} | {'' if x.delay_s is None else f'{x.delay_s:.2f}'} "
            f"| {'' if x.newest_before is None else x.newest_before} | {x.action} "
            f"| {'' if x.resumed_step is None else x.resumed_step} "
            f"| {'' if x.killed_at_s is None else f'{x.killed_at_s:.2f}'}"
            f"{' (final ckpt)' if x.brought_forward else ''} | {tmp} "
            f"| {x.exit_code} | {x.wall_s:.1f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kills", type=int, default=20, help="SIGKILLs before the run may finish")
    p.add_argument("--steps", type=int, default=30_000, help="total_timesteps")
    p.add_argument("--seed", type=int, default=0, help="the job's seed")
    p.add_argument("--checkpoint-every", type=int, default=1000, help="checkpoint.every_steps")
    p.add_argument("--eval-every", type=int, default=5000, help="eval.every_steps")
    p.add_argument("--learning-starts", type=int, default=1000, help="agent.learning_starts")
    p.add_argument(
        "--restart-kills",
        type=int,
        default=1,
        help="the first kills: after the job's event file appears, before its first checkpoint",
    )
    p.add_argument("--kill-seed", type=int, default=0, help="seeds the kill kinds and times")
    p.add_argument(
        "--window",
        type=float,
        default=0.9,
        help="kill (or arm) at most this fraction of the attempt's typical remaining time",
    )
    p.add_argument(
        "--spread",
        action="store_true",
        help="narrow each kill window so that the kills cover the whole run, not its end",
    )
    p.add_argument("--poll-ms", type=float, default=1.0, help="checkpoints/ poll interval")
    p.add_argument(
        "--write-jitter-ms",
        type=float,
        default=0.0,
        help="checkpoint-write kills: up to this long after the tmp file appears (0: at once)",
    )
    p.add_argument(
        "--attempt-timeout", type=float, default=900, help="s before an attempt counts as hung"
    )
    p.add_argument("--out", type=Path, help="default /tmp/soak/<date-time> (outside the repo)")
    a = p.parse_args()
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out = (a.out or Path("/tmp/soak") / stamp).resolve()
    (out / "logs").mkdir(parents=True, exist_ok=False)
    load_start, t0 = os.getloadavg(), time.perf_counter()

    print(f"soak: reference run into {out / 'reference'}", file=sys.stderr, flush=True)
    timing, ref_exit = reference_run(a, out)
    print(
        f"soak: reference took {timing.exit_s:.1f} s (summary at {timing.summary_s:.1f} s)",
        file=sys.stderr,
        flush=True,
    )
    t_ref = time.perf_counter() - t0
    attempts = soak(a, timing, out)
    t_soak = time.perf_counter() - t0 - t_ref
    rows = checks(a, attempts, out, ref_exit)
    sources = sorted({x.source for x in attempts})
    meta = {
        "date": stamp,
        "command": " ".join(sweep_command(a, out / "killed")),
        "rlrun commit": git_state(),
        "rlrun/ conf/ on disk (hash at each attempt)": sources[0]
        if len(sources) == 1
        else f"CHANGED during the soak: {', '.join(sources)} (see the JSON attempts)",
        "versions": ", ".join(f"{p} {version(p)}" for p in ("rlrun", "torch", "tensorboard")),
        "machine": f"{os.cpu_count()} cores",
        "load averages (1/5/15 min) at start, at end": " / ".join(
            ", ".join(f"{x:.2f}" for x in la) for la in (load_start, os.getloadavg())
        ),
        "kill schedule": f"--kill-seed {a.kill_seed}, --window {a.window}, "
        f"{'--spread' if a.spread else 'not spread'}, --poll-ms {a.poll_ms}, "
        f"--write-jitter-ms {a.write_jitter_ms}",
        "wall time": f"{t_ref + t_soak:.0f} s: reference {t_ref:.1f} s, killed job {t_soak:.1f} s "
        f"over {len(attempts)} attempts",
        "output": str(out),
    }
    md = report(rows, attempts, meta)
    print(md)
    (out / "soak.md").write_text(md)
    raw = {
        "args": {k: str(v) for k, v in vars(a).items()},
        "meta": meta,
        "timing": asdict(timing),
        "checks": [asdict(c) for c in rows],
        "attempts": [asdict(x) for x in attempts],
    }
    (out / "soak.json").write_text(json.dumps(raw, indent=1))
    failures = [c.name for c in rows if c.ok is False]
    if failures:
        print(f"soak: FAILED: {'; '.join(failures)}", file=sys.stderr)
        sys.exit(1)
    print(f"soak: all checks passed; wrote {out}/soak.md, soak.json", file=sys.stderr)


if __name__ == "__main__":
    main()
