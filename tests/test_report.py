"""Sweep reports (rlrun/report.py), failure detection at the end of a sweep (rlrun/callbacks.py),
and what TensorBoard's HParams tab shows for a real sweep."""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from rlrun import callbacks, cli
from rlrun.report import (
    CSV_COLUMNS,
    bootstrap_ci,
    iqm,
    main,
    mean_curve,
    time_to_threshold,
    write_report,
)

from .conftest import TINY, get, read_scalars, run_cli, tensorboard_server

# ------------------------------------------------------------------------------ pure maths


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        ([5.0], 5.0),
        ([1.0, 3.0], 2.0),  # keeps [0.5, 1.5): half of each
        ([0.0, 3.0, 30.0], 7.0),  # (0.25*0 + 3 + 0.25*30) / 1.5
        ([10.0, 1.0, 3.0, 2.0], 2.5),  # mean of the middle two: 2 and 3
        ([16.0, 1.0, 8.0, 2.0, 4.0], 4.6),  # (0.75*2 + 4 + 0.75*8) / 2.5
        ([0.0] * 3 + [1.0] * 5, 0.75),  # middle 4 of 8: 0, 1, 1, 1
    ],
)
def test_iqm_by_hand(x, expected):
    assert iqm(x) == pytest.approx(expected)


def test_iqm_equals_the_mean_of_the_middle_half_of_4_copies():
    """An independent definition: with every sample repeated 4 times, the middle 50% is exactly
    2n whole copies, so no fractions are needed."""
    rng = np.random.default_rng(1)
    for n in range(1, 12):
        x = rng.normal(size=n)
        four = np.sort(np.repeat(x, 4))
        assert iqm(x) == pytest.approx(four[n : 3 * n].mean())


def test_iqm_is_scipy_trim_mean_when_n_is_a_multiple_of_4():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(2)
    for n in (4, 8, 12, 20):
        x = rng.exponential(size=n)
        assert iqm(x) == pytest.approx(stats.trim_mean(x, 0.25))
    # and differs from it otherwise: trim_mean drops whole samples only
    assert stats.trim_mean([1, 2, 4, 8, 16], 0.25) == pytest.approx(14 / 3)


def percentile_by_hand(values: np.ndarray, q: float) -> float:
    """Linear interpolation between order statistics, as numpy's default percentile."""
    s = np.sort(values)
    pos = q / 100 * (s.size - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, s.size - 1)
    return float(s[lo] + (pos - lo) * (s[hi] - s[lo]))


def bootstrap_by_hand(x: list[float], resamples=2000, seed=0) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(x), size=(resamples, len(x)))
    n = len(x)
    stats = []
    for row in idx:
        four = sorted(np.repeat([x[i] for i in row], 4))
        stats.append(sum(four[n : 3 * n]) / (2 * n))
    stats = np.array(stats)
    return percentile_by_hand(stats, 2.5), percentile_by_hand(stats, 97.5)


def test_bootstrap_ci_of_the_iqm_matches_an_independent_computation():
    x = [1.0, 2.0, 4.0, 8.0, 16.0]
    low, high = bootstrap_ci(x)
    assert (low, high) == pytest.approx(bootstrap_by_hand(x))
    assert 1.0 <= low < iqm(x) < high <= 16.0
    assert bootstrap_ci(x) == (low, high)  # seeded
    assert bootstrap_ci(x, seed=1) != (low, high)


def test_bootstrap_ci_edge_cases():
    assert bootstrap_ci([2.0, 2.0, 2.0]) == pytest.approx((2.0, 2.0))
    assert bootstrap_ci([7.0]) == (7.0, 7.0)
    low, high = bootstrap_ci([0.0, 1.0], statistic=lambda s: s.mean(axis=1), n_resamples=4000)
    # the mean of 2 resampled values is 0, 0.5 or 1 with probabilities 1/4, 1/2, 1/4
    assert (low, high) == (0.0, 1.0)
    with pytest.raises(ValueError):
        bootstrap_ci([])


def test_time_to_threshold():
    evals = [[1000, 1.0, 0.5], [2000, 2.0, 1.0], [3000, 3.0, 0.8]]
    assert time_to_threshold(evals, 1.0) == 2000  # reached means >=
    assert time_to_threshold(evals, 0.5) == 1000
    assert time_to_threshold(evals, 1.01) is None
    assert time_to_threshold([[1000, 1.0, None]], 0.0) is None


def test_mean_curve_band_is_1_96_standard_errors():
    curves = [np.array([[1000, 1.0], [2000, 3.0]]), np.array([[1000, 3.0]])]
    steps, means, half = mean_curve(curves)
    assert steps.tolist() == [1000, 2000]
    assert means.tolist() == [2.0, 3.0]
    # std([1, 3], ddof=1) = sqrt(2); s.e. = sqrt(2) / sqrt(2) = 1; one seed at 2000: no band
    assert half.tolist() == pytest.approx([1.96, 0.0])


# -------------------------------------------------------------- a synthetic sweep directory

COMMON = ["env=frozenlake", "total_timesteps=3000"]
# config A: final returns 1, 2, 4, 8, 16; eval means at 1000, 2000, 3000 steps
A_EVALS = [[0, 1, 1], [0, 2, 2], [1, 3.5, 4], [3, 5, 8], [0, 0, 16]]
B_RETURNS = [0.5, 0.1, 0.9, 0.3]


def write_job(sweep: Path, num: int, overrides: list[str], summary: dict) -> Path:
    job = sweep / f"{num}_{','.join(o for o in overrides if not o.startswith('env'))}"
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    (job / ".hydra" / "hydra.yaml").write_text(
        yaml.safe_dump({"hydra": {"job": {"num": num, "name": "rlrun"}}})
    )
    (job / "summary.json").write_text(json.dumps(summary))
    return job


def completed(evals: list[float], wall: float, sps: float) -> dict:
    return {
        "status": "completed",
        "final_eval": {"mean_return": evals[-1], "std_return": 0.0, "episodes": 4},
        "evaluations": [[1000 * (i + 1), float(i), v] for i, v in enumerate(evals)],
        "wall_time_s": wall,
        "sps": sps,
        "objective": evals[-1],
    }


@pytest.fixture
def synthetic(tmp_path) -> Path:
    """2 configurations (5 and 4 seeds) and one failed job, numbers chosen to check by hand."""
    sweep = tmp_path / "sweep"
    num = 0
    for seed, evals in enumerate(A_EVALS):
        overrides = ["agent=qlearning", *COMMON, f"seed={seed}"]
        write_job(
            sweep,
            num,
            overrides,
            completed(evals, 10.0 * (seed + 1), 100.0 * (seed + 1)),
        )
        num += 1
    for seed, final in enumerate(B_RETURNS):
        overrides = ["agent=sarsa", *COMMON, f"seed={seed}"]
        write_job(sweep, num, overrides, completed([0.0, 0.0, final], 1.0, 50.0))
        num += 1
    write_job(
        sweep,
        num,
        ["agent=sarsa", *COMMON, "seed=4"],
        {"status": "failed", "error": "ValueError: boom", "agent": "sarsa"},
    )
    (sweep / "multirun.yaml").write_text("hydra: {}\n")
    return sweep


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open() as f:
        return list(csv.DictReader(f))


def test_report_numbers_on_a_synthetic_sweep(synthetic):
    paths = write_report(synthetic, threshold=3.0)
    assert [p.name for p in paths] == ["report.md", "report.csv", "curves.png"]
    with (synthetic / "report.csv").open() as f:
        assert tuple(next(csv.reader(f))) == CSV_COLUMNS
    a, b = read_csv(synthetic / "report.csv")

    assert a["config"] == "agent=qlearning"
    assert a["overrides"] == "agent=qlearning env=frozenlake total_timesteps=3000"
    assert (a["seeds"], a["failed"]) == ("5", "0")
    assert float(a["mean_return"]) == pytest.approx(6.2)  # 31 / 5
    # squared deviations 27.04 + 17.64 + 4.84 + 3.24 + 96.04 = 148.8; / 4 = 37.2
    assert float(a["std_return"]) == pytest.approx(math.sqrt(37.2))
    assert float(a["iqm_return"]) == pytest.approx(4.6)
    ci = bootstrap_by_hand([1.0, 2.0, 4.0, 8.0, 16.0])
    assert (float(a["iqm_ci_low"]), float(a["iqm_ci_high"])) == pytest.approx(ci)
    # threshold 3: seeds 2, 3, 4 reach it at 2000, 1000, 3000 steps; seeds 0, 1 never
    assert float(a["threshold"]) == 3.0
    assert (float(a["steps_to_threshold"]), a["seeds_reached"]) == (2000.0, "3")
    assert float(a["wall_time_s"]) == pytest.approx(30.0)
    assert float(a["sps"]) == pytest.approx(300.0)

    assert b["config"] == "agent=sarsa"
    assert (b["seeds"], b["failed"]) == ("4", "1")  # the failed seed is not averaged in
    assert float(b["mean_return"]) == pytest.approx(0.45)
    assert float(b["std_return"]) == pytest.approx(math.sqrt(0.35 / 3))
    assert float(b["iqm_return"]) == pytest.approx(0.4)  # (0.3 + 0.5) / 2
    assert (b["steps_to_threshold"], b["seeds_reached"]) == ("", "0")

    md = (synthetic / "report.md").read_text()
    assert "10 jobs: 9 completed, 1 failed; 2 configurations." in md
    assert "Common overrides: `env=frozenlake total_timesteps=3000`" in md
    row_a = next(line for line in md.splitlines() if "`agent=qlearning`" in line)
    assert "| 5 | 6.200 ± 6.099 | 4.600 [" in row_a
    assert f"[{ci[0]:.3f}, {ci[1]:.3f}]" in row_a and "| 2000 (3/5) |" in row_a
    row_b = next(line for line in md.splitlines() if "`agent=sarsa`" in line)
    assert "| 4 (+1 failed) | 0.450 ± 0.342 | 0.400 [" in row_b
    failed = md.split("## Failed jobs", 1)[1]
    assert (
        "| #9 | `agent=sarsa env=frozenlake total_timesteps=3000 seed=4` | ValueError: boom |"
        in failed
    )
    assert "![eval return against env steps](curves.png)" in md

    png = (synthetic / "curves.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000


def test_report_without_threshold_and_on_a_parent_directory(synthetic):
    """Runs are found recursively: the report of `outputs/` covers every sweep below it."""
    write_report(synthetic.parent)
    rows = read_csv(synthetic.parent / "report.csv")
    assert [r["seeds"] for r in rows] == ["5", "4"]
    assert rows[0]["threshold"] == rows[0]["seeds_reached"] == ""
    assert "steps to" not in (synthetic.parent / "report.md").read_text()


def test_report_counts_a_single_seed_without_std(tmp_path):
    write_job(tmp_path, 0, ["seed=3"], completed([1.0, 2.0], 1.0, 10.0))
    write_report(tmp_path)
    (row,) = read_csv(tmp_path / "report.csv")
    assert (row["config"], row["seeds"], row["mean_return"]) == (
        "(all runs)",
        "1",
        "2.0",
    )
    assert row["std_return"] == "" and row["iqm_ci_low"] == row["iqm_ci_high"] == "2.0"
    assert "| 2.000 ± – |" in (tmp_path / "report.md").read_text()


# ----------------------------------------------------------------------- the rlrun-report CLI


def report_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("rlrun-report")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "rlrun.report"]
    return subprocess.run([*cmd, *args], cwd=cwd, capture_output=True, text=True, check=False)


def test_rlrun_report_command(synthetic):
    proc = report_cli(str(synthetic), "--threshold", "3", cwd=synthetic.parent)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [
        str(synthetic / "report.md"),
        str(synthetic / "report.csv"),
        str(synthetic / "curves.png"),
    ]
    assert "steps to 3 (seeds)" in (synthetic / "report.md").read_text()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing", "rlrun-report: error: no such directory: "),
        (lambda p: p, "rlrun-report: error: no runs under "),
    ],
)
def test_rlrun_report_bad_input_is_one_line_and_nonzero(tmp_path, make, message):
    proc = report_cli(str(make(tmp_path)), cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), proc.stderr
    assert not (tmp_path / "report.md").exists()


def test_main_returns_error_code_in_process(tmp_path, capsys):
    assert main([str(tmp_path / "nope")]) == 2
    assert "no such directory" in capsys.readouterr().err


# ----------------------------------------------------- failures at the end of a sweep


def test_failed_jobs_come_from_the_summaries(synthetic):
    stopped = write_job(synthetic, 10, ["agent=sarsa", "seed=7"], {"status": "stopped"})
    died = synthetic / "11_agent=sarsa,seed=8"
    (died / ".hydra").mkdir(parents=True)  # set up, then its process died: no summary.json
    (died / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(["agent=sarsa", "seed=8"]))
    lines = callbacks.failed_jobs(synthetic)
    assert lines == [
        "#9 (agent=sarsa env=frozenlake total_timesteps=3000 seed=4): ValueError: boom",
        "#11 (agent=sarsa seed=8): no summary.json: the job did not finish",
    ]
    assert stopped.exists()
    # jobs set up before this sweep started belong to an earlier sweep into the same directory
    assert callbacks.failed_jobs(synthetic, since=time.time() + 60) == []


def test_failures_found_only_in_summaries_fail_the_sweep(synthetic, monkeypatch, capsys):
    """As under a parallel launcher: no failure was seen in this process, the summaries say."""
    monkeypatch.setattr(callbacks, "FAILED_JOBS", [])
    monkeypatch.setattr(callbacks, "_SWEEP", {"dir": synthetic, "start": None})
    with pytest.raises(SystemExit) as exit_info:
        cli.report_failed_jobs()
    assert exit_info.value.code == 1
    out, err = capsys.readouterr()
    assert err.strip() == (
        "rlrun: error: 1 job(s) failed (#9); the other jobs' results are in the sweep directory"
    )
    assert f"rlrun: sweep report: {synthetic / 'report.md'}" in out
    assert (synthetic / "report.md").exists()


def test_a_report_that_fails_is_a_warning_not_a_failure(synthetic, monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("rlrun.report.write_report", broken)
    monkeypatch.setattr(callbacks, "FAILED_JOBS", [])
    monkeypatch.setattr(callbacks, "_SWEEP", {})
    ok = synthetic.parent / "ok"
    write_job(ok, 0, ["seed=0"], completed([1.0], 1.0, 1.0))
    assert callbacks.finish_sweep(ok) == []
    cli.report_failed_jobs()  # returns: the sweep succeeded
    err = capsys.readouterr().err
    assert err.strip() == (
        f"rlrun: warning: could not write the sweep report in {ok}: RuntimeError: disk full"
    )


# --------------------------------------------------------------- a real sweep, end to end


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    """Two agents with different hyperparameters x seeds 0, 1 and an invalid seed -1."""
    cwd = tmp_path_factory.mktemp("report_sweep")
    proc = run_cli(
        "-m",
        "agent=qlearning,dqn",
        "env=frozenlake",
        "seed=0,1,-1",
        *TINY,
        "hydra.sweep.dir=sweep",
        cwd=cwd,
    )
    return proc, cwd / "sweep"


def jobs_of(sweep_dir: Path) -> dict[str, dict]:
    return {
        p.name: json.loads((p / "summary.json").read_text())
        for p in sorted(sweep_dir.iterdir())
        if (p / "summary.json").exists()
    }


def test_a_real_sweep_writes_its_report(sweep):
    proc, sweep_dir = sweep
    assert proc.returncode == 1, proc.stderr
    assert "rlrun: error: 2 job(s) failed (#2, #5)" in proc.stderr
    assert f"rlrun: sweep report: {Path('sweep') / 'report.md'}" in proc.stdout
    jobs = jobs_of(sweep_dir)
    assert [j["status"] for j in jobs.values()] == ["completed"] * 2 + ["failed"] + [
        "completed"
    ] * 2 + ["failed"]

    rows = read_csv(sweep_dir / "report.csv")
    assert [r["config"] for r in rows] == ["agent=qlearning", "agent=dqn"]
    for row, agent in zip(rows, ("qlearning", "dqn"), strict=False):
        finals = [
            j["final_eval"]["mean_return"]
            for j in jobs.values()
            if j.get("agent") == agent and j["status"] == "completed"
        ]
        assert (row["seeds"], row["failed"]) == ("2", "1")
        assert float(row["mean_return"]) == pytest.approx(np.mean(finals))
        assert float(row["std_return"]) == pytest.approx(np.std(finals, ddof=1))
        assert float(row["iqm_return"]) == pytest.approx(np.mean(finals))  # n=2
        assert float(row["sps"]) > 0 and float(row["wall_time_s"]) > 0

    md = (sweep_dir / "report.md").read_text()
    assert "6 jobs: 4 completed, 2 failed; 2 configurations." in md
    failed = md.split("## Failed jobs", 1)[1]
    assert "| #2 | `agent=qlearning env=frozenlake seed=-1 " in failed
    assert "| #5 | `agent=dqn env=frozenlake seed=-1 " in failed
    assert failed.count("seed: must be >= 0, got -1") == 2
    assert (sweep_dir / "curves.png").read_bytes()[:4] == b"\x89PNG"


def test_failures_under_a_parallel_launcher(tmp_path):
    """joblib runs the jobs in worker processes: this process sees no on_job_end, yet the
    failure is reported, and the report is written."""
    pytest.importorskip("hydra_plugins.hydra_joblib_launcher")
    proc = run_cli(
        "-m",
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        "agent=qlearning",
        "env=frozenlake",
        "seed=0,-1",
        *TINY,
        "hydra.sweep.dir=sweep",
        cwd=tmp_path,
    )
    assert proc.returncode == 1, proc.stderr
    assert "rlrun: error: 1 job(s) failed (#1)" in proc.stderr
    (row,) = read_csv(tmp_path / "sweep" / "report.csv")
    assert (row["seeds"], row["failed"]) == ("1", "1")


def test_a_successful_sweep_exits_0_with_its_report(tmp_path):
    proc = run_cli(
        "-m",
        "agent=qlearning",
        "env=frozenlake",
        "seed=0,1",
        *TINY,
        "hydra.sweep.dir=sweep",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "rlrun: warning" not in proc.stderr and "error" not in proc.stderr
    (row,) = read_csv(tmp_path / "sweep" / "report.csv")
    assert row["seeds"] == "2" and row["failed"] == "0"


def test_tensorboard_lists_every_job_with_its_hparams_and_metrics(sweep):
    _, sweep_dir = sweep
    jobs = {name: s for name, s in jobs_of(sweep_dir).items() if s["status"] == "completed"}
    assert len(jobs) == 4
    with tensorboard_server(sweep_dir, runs=len(jobs)) as base:
        runs = get(f"{base}/data/runs")
        assert sorted(runs) == sorted(jobs)  # failed jobs never got to write events

        for run, summary in jobs.items():
            points = get(f"{base}/data/plugin/scalars/scalars?run={run}&tag=eval/mean_return")
            assert [p[1] for p in points] == [1000, 2000, 3000]
            assert points[-1][2] == pytest.approx(summary["final_eval"]["mean_return"])

        experiment = get(f"{base}/data/plugin/hparams/experiment", {"experimentName": ""})
        names = {h["name"] for h in experiment["hparamInfos"]}
        # hyperparameters that only one of the two agents has are both columns
        assert {
            "agent.name",
            "agent.gamma",
            "agent.init_value",
            "agent.batch_size",
            "env.id",
            "seed",
        } <= names
        metrics = {m["name"]["tag"] for m in experiment["metricInfos"]}
        assert {"eval/mean_return", "eval/success_rate", "charts/SPS"} <= metrics

        groups = get(
            f"{base}/data/plugin/hparams/session_groups",
            {
                "experimentName": "",
                "allowedStatuses": [
                    "STATUS_UNKNOWN",
                    "STATUS_SUCCESS",
                    "STATUS_FAILURE",
                    "STATUS_RUNNING",
                ],
                "colParams": [],
                "startIndex": 0,
                "sliceSize": 100,
            },
        )["sessionGroups"]
        assert sorted(g["name"] for g in groups) == sorted(jobs)
        for group in groups:
            summary = jobs[group["name"]]
            assert group["hparams"]["agent.name"] == summary["agent"]
            assert group["hparams"]["seed"] == summary["seed"]
            assert ("agent.batch_size" in group["hparams"]) == (summary["agent"] == "dqn")
            (session,) = group["sessions"]
            assert session["status"] == "STATUS_SUCCESS"
            values = {m["name"]["tag"]: m["value"] for m in group["metricValues"]}
            assert values["eval/mean_return"] == pytest.approx(summary["final_eval"]["mean_return"])


def test_the_sweeps_event_files_hold_no_experiment_summary(sweep):
    """Each job writes its session only: TensorBoard builds the HParams columns from every
    session (an experiment summary per job would make it show the first job's columns only)."""
    from tensorboard.backend.event_processing.event_accumulator import (
        EventAccumulator,
    )

    _, sweep_dir = sweep
    completed_jobs = [j for j, s in jobs_of(sweep_dir).items() if s["status"] == "completed"]
    assert len(completed_jobs) == 4
    for job in completed_jobs:
        acc = EventAccumulator(str(sweep_dir / job))
        acc.Reload()
        tags = set(acc.summary_metadata)
        assert "_hparams_/session_start_info" in tags
        assert "_hparams_/experiment" not in tags
        assert read_scalars(sweep_dir / job)["eval/mean_return"]
