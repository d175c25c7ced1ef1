"""Sweep reports: `report.md`, `report.csv` and `curves.png` for a directory of runs.

A run is a directory holding `summary.json` (written by every job, failed or not) and Hydra's
`.hydra/overrides.yaml`; runs are searched for recursively, so the directory may be one sweep or
all of `outputs/`. Runs are grouped into configurations by their overrides other than `seed=`,
and each configuration gets one row:

- seeds: completed runs; `failed`: the configuration's jobs that did not complete
- mean and sample standard deviation (ddof=1) of the final eval mean return over seeds
- the interquartile mean (IQM) of the final returns with a 95% percentile-bootstrap CI
- time to threshold (with `--threshold X`): env steps at which the periodic eval mean first
  reached X, averaged over the seeds that reached it, and how many did
- mean training wall time and steps per second

The maths are the small pure functions `iqm`, `bootstrap_ci`, `time_to_threshold` and
`aggregate`; `write_report` does the files, `main` is the `rlrun-report` command.
"""

from __future__ import annotations

import argparse
import csv
import math
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rlrun.records import FINISHED, SUMMARY, atomic_file, read_summary, write_text

BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 0
CONFIDENCE = 0.95

CSV_COLUMNS = (
    "config",
    "overrides",
    "seeds",
    "failed",
    "mean_return",
    "std_return",
    "iqm_return",
    "iqm_ci_low",
    "iqm_ci_high",
    "threshold",
    "steps_to_threshold",
    "seeds_reached",
    "wall_time_s",
    "sps",
)


class ReportError(ValueError):
    """Bad input for a report (no such directory, no runs): a one-line message for the user."""


# ------------------------------------------------------------------------------------- maths


def iqm_weights(n: int) -> np.ndarray:
    """Weights of the sorted samples in the interquartile mean of n samples (they sum to 1).

    Sample i (0-based, sorted) covers [i, i+1) of [0, n); the IQM keeps [n/4, 3n/4), so a sample
    straddling a quartile counts by the fraction of it that lies inside.
    """
    if n < 1:
        raise ValueError("the IQM needs at least one sample")
    i = np.arange(n)
    inside = np.clip(np.minimum(i + 1, 0.75 * n) - np.maximum(i, 0.25 * n), 0.0, None)
    return inside / (0.5 * n)


def iqm(x: Sequence[float] | np.ndarray) -> float:
    """Interquartile mean: the mean of the middle 50% of the samples (Agarwal et al. 2021).

    Defined exactly as the mean over [n/4, 3n/4) of the sorted samples, with a sample that
    straddles a quartile weighted by the fraction of it inside, so it is well defined for any n:
    [1, 2, 4, 8, 16] -> (0.75*2 + 4 + 0.75*8) / 2.5 = 4.6. When n is a multiple of 4 this is
    exactly `scipy.stats.trim_mean(x, 0.25)`, which rliable's `aggregate_iqm` calls; for other n
    those drop whole samples only (int(n/4) at each end: 4.667 above, and the plain mean for
    n = 3), which is why the fractional definition is used here.
    """
    a = np.sort(np.asarray(x, dtype=float))
    return float(a @ iqm_weights(a.size))


def bootstrap_ci(
    x: Sequence[float] | np.ndarray,
    statistic: Callable[[np.ndarray], np.ndarray] | None = None,
    *,
    n_resamples: int = BOOTSTRAP_RESAMPLES,
    confidence: float = CONFIDENCE,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[float, float]:
    """Percentile-bootstrap confidence interval of a statistic (default: the IQM).

    Resamples are `np.random.default_rng(seed).integers(0, n, size=(n_resamples, n))`, the
    statistic of each row is taken, and the interval is the (1-c)/2 and (1+c)/2 percentiles of
    those (numpy's default linear interpolation). `statistic` maps an (n_resamples, n) array to
    n_resamples values; the default is the IQM row by row.
    """
    a = np.asarray(x, dtype=float)
    if a.size == 0:
        raise ValueError("a bootstrap needs at least one sample")
    rng = np.random.default_rng(seed)
    samples = a[rng.integers(0, a.size, size=(n_resamples, a.size))]
    if statistic is None:
        stats = np.sort(samples, axis=1) @ iqm_weights(a.size)
    else:
        stats = np.asarray(statistic(samples), dtype=float)
    tail = 50.0 * (1.0 - confidence)
    low, high = np.percentile(stats, [tail, 100.0 - tail])
    return float(low), float(high)


def time_to_threshold(evaluations: Sequence[Sequence[float]], threshold: float) -> int | None:
    """The env step of the first evaluation whose mean return is >= threshold, or None.

    `evaluations` is summary.json's list of [step, seconds, mean_return].
    """
    for step, _seconds, mean_return in evaluations:
        if mean_return is not None and mean_return >= threshold:
            return int(step)
    return None


@dataclass
class Run:
    """One job's record, read from its directory."""

    path: Path
    job: str  # Hydra's job number when known, else the directory name
    overrides: list[str]
    summary: dict[str, Any]

    @property
    def status(self) -> str:
        return str(self.summary.get("status", "unknown"))

    @property
    def failed(self) -> bool:
        """Failed, interrupted, or no readable status; "stopped" (pruned) is not a failure."""
        return self.status not in FINISHED

    @property
    def config(self) -> tuple[str, ...]:
        """The overrides that define the configuration: all but the seed."""
        return tuple(o for o in self.overrides if not is_seed_override(o))

    @property
    def final_return(self) -> float | None:
        value = (self.summary.get("final_eval") or {}).get("mean_return")
        return None if value is None else float(value)


@dataclass
class ConfigStats:
    """One row of the report: a configuration's statistics over its completed seeds."""

    config: tuple[str, ...]
    seeds: int
    failed: int
    mean_return: float = math.nan
    std_return: float = math.nan
    iqm_return: float = math.nan
    iqm_ci: tuple[float, float] = (math.nan, math.nan)
    threshold: float | None = None
    steps_to_threshold: float = math.nan  # mean over the seeds that reached it
    seeds_reached: int = 0
    wall_time_s: float = math.nan
    sps: float = math.nan
    curves: list[np.ndarray] = field(default_factory=list, repr=False)
    # bandit testbed runs: each seed's curves.csv as [steps, columns] (TESTBED_COLUMNS)
    testbed: list[np.ndarray] = field(default_factory=list, repr=False)


def is_seed_override(override: str) -> bool:
    return override.lstrip("+~").split("=", 1)[0] == "seed"


def aggregate(runs: Sequence[Run], threshold: float | None = None) -> list[ConfigStats]:
    """One ConfigStats per configuration, in the order configurations first appear in `runs`.

    Only completed runs enter the statistics; failed ones are counted in `failed`. A run stopped
    early (pruned) has a final eval, but of a shorter run, so it is in neither.
    """
    groups: dict[tuple[str, ...], list[Run]] = {}
    for run in runs:
        groups.setdefault(run.config, []).append(run)
    rows = []
    for config, members in groups.items():
        done = [r for r in members if r.status == "completed" and r.final_return is not None]
        row = ConfigStats(
            config=config,
            seeds=len(done),
            failed=sum(r.failed for r in members),
            threshold=threshold,
        )
        if done:
            returns = np.array([r.final_return for r in done])
            row.mean_return = float(returns.mean())
            row.std_return = float(returns.std(ddof=1)) if returns.size > 1 else math.nan
            row.iqm_return = iqm(returns)
            row.iqm_ci = bootstrap_ci(returns)
            row.wall_time_s = _mean(r.summary.get("wall_time_s") for r in done)
            row.sps = _mean(r.summary.get("sps") for r in done)
            row.curves = [
                np.array([[e[0], e[2]] for e in r.summary.get("evaluations") or []])
                .reshape(-1, 2)
                .astype(float)
                for r in done
            ]
            row.testbed = [c for r in done if (c := read_testbed_curves(r.path)) is not None]
            if threshold is not None:
                steps = [
                    time_to_threshold(r.summary.get("evaluations") or [], threshold) for r in done
                ]
                reached = [s for s in steps if s is not None]
                row.seeds_reached = len(reached)
                if reached:
                    row.steps_to_threshold = float(np.mean(reached))
        rows.append(row)
    return rows


TESTBED_COLUMNS = ("average_reward", "average_reward_ci95", "optimal_action", "optimal_action_ci95")


def read_testbed_curves(run_dir: Path) -> np.ndarray | None:
    """A testbed run's curves.csv (rlrun/runners/testbed.py) as [steps, 4], or None."""
    path = run_dir / "curves.csv"
    if not path.exists():
        return None
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return np.array([[float(r[c]) for c in TESTBED_COLUMNS] for r in rows]).reshape(-1, 4)


def pool_testbed(curves: Sequence[np.ndarray]) -> np.ndarray:
    """Seeds' testbed curves pooled per step: the mean of their means, and the 95% half-width
    of that mean (independent seeds: sqrt(sum h^2) / n), over the steps all of them ran."""
    steps = min(len(c) for c in curves)
    stack = np.stack([c[:steps] for c in curves])
    n = len(curves)
    out = stack.mean(axis=0)
    out[:, 1::2] = np.sqrt((stack[:, :, 1::2] ** 2).sum(axis=0)) / n
    return out


def _mean(values: Any) -> float:
    xs = [float(v) for v in values if v is not None]
    return float(np.mean(xs)) if xs else math.nan


def mean_curve(
    curves: Sequence[np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean eval return across seeds at each eval step, and a 95% band of +-1.96 standard errors.

    `curves` are (k, 2) arrays of [step, mean_return]. At a step that only some seeds reached
    the mean is over those; with one seed there the band has zero width.
    """
    by_step: dict[float, list[float]] = {}
    for curve in curves:
        for step, value in curve:
            if not math.isnan(value):
                by_step.setdefault(float(step), []).append(float(value))
    steps = np.array(sorted(by_step))
    means = np.array([np.mean(by_step[s]) for s in steps])
    half = np.array(
        [
            1.96 * np.std(by_step[s], ddof=1) / math.sqrt(len(by_step[s]))
            if len(by_step[s]) > 1
            else 0.0
            for s in steps
        ]
    )
    return steps, means, half


# ---------------------------------------------------------------------------------- reading


def find_runs(root: Path) -> list[Run]:
    """Every run under `root` (recursively), ordered by job number, then path."""
    runs = [read_run(p.parent) for p in root.rglob(SUMMARY)]
    return sorted(runs, key=lambda r: (_job_key(r.job), str(r.path)))


def read_run(path: Path) -> Run:
    summary = read_summary(path) or {"status": "failed", "error": f"no {SUMMARY}"}
    return Run(path=path, job=job_number(path), overrides=read_overrides(path), summary=summary)


def read_overrides(path: Path) -> list[str]:
    import yaml

    try:
        overrides = yaml.safe_load((path / ".hydra" / "overrides.yaml").read_text())
    except (OSError, yaml.YAMLError):
        return []
    return [str(o) for o in overrides or []]


def job_number(path: Path) -> str:
    """Hydra's job number: from `.hydra/hydra.yaml`, else the `<num>_` of the directory name."""
    import yaml

    try:
        hydra_cfg = yaml.safe_load((path / ".hydra" / "hydra.yaml").read_text())
        num = hydra_cfg["hydra"]["job"].get("num")
        if num is not None:
            return str(num)
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError):
        pass
    match = re.match(r"(\d+)(_|$)", path.name)
    return match.group(1) if match else path.name


def _job_key(job: str) -> tuple[int, str]:
    return (int(job), "") if job.isdigit() else (sys.maxsize, job)


# ---------------------------------------------------------------------------------- writing


def write_report(root: Path, threshold: float | None = None) -> list[Path]:
    """Write report.md, report.csv and curves.png into `root`; return their paths."""
    root = Path(root)
    if not root.is_dir():
        raise ReportError(f"no such directory: {root}")
    runs = find_runs(root)
    if not runs:
        raise ReportError(f"no runs under {root} (no summary.json found)")
    rows = aggregate(runs, threshold)
    common = _common_overrides(runs)
    paths = [root / "report.md", root / "report.csv", root / "curves.png"]
    plot_curves(rows, common, paths[2])
    if any(row.testbed for row in rows):
        paths.append(root / "testbed.png")
        plot_testbed(rows, common, paths[3])
    write_text(paths[0], render_markdown(root, runs, rows, common, threshold))
    write_text(paths[1], render_csv(rows, common))
    return paths


def _common_overrides(runs: Sequence[Run]) -> tuple[str, ...]:
    """Overrides shared by every configuration, left out of the row labels."""
    configs = [r.config for r in runs]
    return tuple(o for o in configs[0] if all(o in c for c in configs[1:]))


def label(config: Sequence[str], common: Sequence[str]) -> str:
    own = [o for o in config if o not in common]
    return " ".join(own) if own else "(all runs)"


def _fmt(x: float | None, digits: int = 3) -> str:
    return "–" if x is None or math.isnan(x) else f"{x:.{digits}f}"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(
    root: Path,
    runs: Sequence[Run],
    rows: Sequence[ConfigStats],
    common: Sequence[str],
    threshold: float | None,
) -> str:
    completed = sum(r.status == "completed" for r in runs)
    failed = [r for r in runs if r.failed]
    stopped = [r for r in runs if r.status == "stopped"]
    lines = [
        f"# Sweep report: {root}",
        "",
        f"{len(runs)} jobs: {completed} completed, {len(failed)} failed"
        + (f", {len(stopped)} stopped early" if stopped else "")
        + f"; {len(rows)} configurations.",
        "",
        (
            "Final eval return over seeds: mean ± sample std (ddof=1); IQM = mean of the middle 50%"
            f" (fractional at the quartiles), with a {CONFIDENCE:.0%} percentile-bootstrap CI"
            f" ({BOOTSTRAP_RESAMPLES:,} resamples, seed {BOOTSTRAP_SEED})."
            " Only completed jobs count."
        ),
        "",
    ]
    if common:
        lines += [f"Common overrides: `{' '.join(common)}`", ""]
    head = ["config", "seeds", "mean ± std", "IQM [95% CI]"]
    if threshold is not None:
        head.append(f"steps to {threshold:g} (seeds)")
    head += ["wall time (s)", "SPS"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        seeds = f"{row.seeds}" + (f" (+{row.failed} failed)" if row.failed else "")
        cells = [
            f"`{_md(label(row.config, common))}`",
            seeds,
            f"{_fmt(row.mean_return)} ± {_fmt(row.std_return)}",
            f"{_fmt(row.iqm_return)} [{_fmt(row.iqm_ci[0])}, {_fmt(row.iqm_ci[1])}]",
        ]
        if threshold is not None:
            cells.append(f"{_fmt(row.steps_to_threshold, 0)} ({row.seeds_reached}/{row.seeds})")
        cells += [_fmt(row.wall_time_s, 1), _fmt(row.sps, 0)]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "![eval return against env steps](curves.png)",
        "",
        (
            "Curves: eval mean return against env steps, mean across seeds, band ±1.96 standard"
            " errors."
        ),
    ]
    if any(row.testbed for row in rows):
        lines += [
            "",
            "![average reward and % optimal action per step](testbed.png)",
            "",
            "Bandit testbed runs: average reward and % optimal action at each step of each problem,"
            " pooled over seeds, band: 95% confidence (each run's curves.csv).",
        ]
    if failed:
        lines += [
            "",
            "## Failed jobs",
            "",
            "| job | overrides | error |",
            "|---|---|---|",
        ]
        for r in failed:
            error = r.summary.get("error") or f"status {r.status}"
            lines.append(f"| #{r.job} | `{_md(' '.join(r.overrides))}` | {_md(str(error))} |")
    if stopped:
        lines += ["", "## Stopped early", "", "| job | overrides | final eval |"]
        lines.append("|---|---|---|")
        for r in stopped:
            lines.append(f"| #{r.job} | `{_md(' '.join(r.overrides))}` | {_fmt(r.final_return)} |")
    return "\n".join(lines) + "\n"


def render_csv(rows: Sequence[ConfigStats], common: Sequence[str]) -> str:
    import io

    def num(x: float | None) -> str:
        return "" if x is None or math.isnan(x) else repr(float(x))

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow(
            [
                label(row.config, common),
                " ".join(row.config),
                row.seeds,
                row.failed,
                num(row.mean_return),
                num(row.std_return),
                num(row.iqm_return),
                num(row.iqm_ci[0]),
                num(row.iqm_ci[1]),
                num(row.threshold),
                num(row.steps_to_threshold),
                row.seeds_reached if row.threshold is not None else "",
                num(row.wall_time_s),
                num(row.sps),
            ]
        )
    return out.getvalue()


def plot_curves(rows: Sequence[ConfigStats], common: Sequence[str], path: Path) -> None:
    """Eval return against env steps: one line per configuration, mean across seeds, 95% band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5), dpi=100)
    try:
        for row in rows:
            steps, means, half = mean_curve(row.curves)
            if steps.size == 0:
                continue
            (line,) = ax.plot(
                steps, means, marker="o", markersize=3, label=label(row.config, common)
            )
            ax.fill_between(steps, means - half, means + half, color=line.get_color(), alpha=0.2)
        ax.set_xlabel("env steps")
        ax.set_ylabel("eval mean return")
        ax.set_title("eval return: mean across seeds, band ±1.96 s.e.")
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize="small")
        fig.tight_layout()
        with atomic_file(path, "wb") as f:
            fig.savefig(f, format="png")
    finally:
        plt.close(fig)


def plot_testbed(rows: Sequence[ConfigStats], common: Sequence[str], path: Path) -> None:
    """The bandit figures of Sutton & Barto chapter 2: average reward and % optimal action per
    step, one line per configuration, 95% bands."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 1, figsize=(8, 7), dpi=100, sharex=True)
    try:
        for row in rows:
            if not row.testbed:
                continue
            pooled = pool_testbed(row.testbed)
            steps = np.arange(1, len(pooled) + 1)
            for ax, col, scale in ((axes[0], 0, 1.0), (axes[1], 2, 100.0)):
                mean, half = scale * pooled[:, col], scale * pooled[:, col + 1]
                (line,) = ax.plot(steps, mean, lw=1, label=label(row.config, common))
                ax.fill_between(steps, mean - half, mean + half, color=line.get_color(), alpha=0.2)
        axes[0].set_ylabel("average reward")
        axes[1].set_ylabel("% optimal action")
        axes[1].set_xlabel("steps")
        axes[0].set_title("bandit testbed: mean over problems (and seeds), band 95%")
        for ax in axes:
            ax.grid(alpha=0.3)
        axes[0].legend(fontsize="small")
        fig.tight_layout()
        with atomic_file(path, "wb") as f:
            fig.savefig(f, format="png")
    finally:
        plt.close(fig)


# -------------------------------------------------------------------------------------- CLI


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="rlrun-report",
        description="Write report.md, report.csv and curves.png for a directory of rlrun runs "
        "(a sweep directory, or any directory holding run directories with summary.json).",
    )
    parser.add_argument("dir", type=Path, help="directory searched recursively for runs")
    parser.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="report the env steps at which the eval mean return first reached this value",
    )
    args = parser.parse_args(argv)
    try:
        paths = write_report(args.dir, args.threshold)
    except ReportError as e:
        print(f"rlrun-report: error: {e}", file=sys.stderr)
        return 2
    for path in paths:
        print(path)
    return 0


def console_main() -> None:
    sys.exit(main())


if __name__ == "__main__":
    console_main()
