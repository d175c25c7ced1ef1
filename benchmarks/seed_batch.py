"""Seed-batched sweeps against today's way of running seeds, side by side in one run (issue 18).

    python benchmarks/seed_batch.py frozenlake --seeds 16 --rounds 2

runs the same `rlrun -m ... seed=range(N)` sweep under each launcher, alternating A/B each round:
`joblib` (2 workers, today's parallel sweep), `batched` (one group in one process) and
`batched2` (hydra.launcher.n_jobs=2: two groups in two processes). It reports each sweep's wall
time (the whole command: start-up, Hydra, training, the report), the ratios to joblib, and the
seeds' final evaluations side by side (mean, IQM, and a Mann-Whitney U test of batched against
separate runs: seed-batching must leave learning unchanged in distribution). Markdown into
benchmarks/results/seed_batch_<task>.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"

TASKS = {
    # Q-learning on slippery FrozenLake 8x8 with rlrun's default decaying epsilon; 100-episode
    # evaluations so that the final success rates are worth comparing
    "frozenlake": [
        "agent=qlearning",
        "env=frozenlake8x8",
        "total_timesteps=200000",
        "eval.every_steps=20000",
        "eval.episodes=100",
    ],
}

LAUNCHERS = {
    "joblib": ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"],
    "batched": ["hydra/launcher=batched"],
    "batched2": ["hydra/launcher=batched", "hydra.launcher.n_jobs=2"],
}


def sweep(task: str, launcher: str, seeds: range, out: Path) -> tuple[float, list[float]]:
    """Wall time of the whole sweep command; each seed's final mean eval return."""
    cmd = [
        sys.executable,
        "-m",
        "rlrun",
        "-m",
        *TASKS[task],
        *LAUNCHERS[launcher],
        f"seed=range({seeds.start},{seeds.stop})",
        "logger.progress=false",
        f"hydra.sweep.dir={out}",
    ]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{launcher} sweep failed:\n{proc.stderr[-3000:]}")
    finals = []
    for summary in sorted(
        out.glob("*/summary.json"), key=lambda p: int(p.parent.name.split("_")[0])
    ):
        finals.append(json.loads(summary.read_text())["final_eval"]["mean_return"])
    if len(finals) != len(seeds):
        raise SystemExit(f"{launcher}: {len(finals)} summaries for {seeds} seeds in {out}")
    return wall, finals


def iqm(x: list[float]) -> float:
    """Mean of the middle 50% (rounded to whole runs)."""
    s = np.sort(x)
    k = len(s) // 4
    return float(np.mean(s[k : len(s) - k]))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("task", choices=sorted(TASKS))
    p.add_argument("--seeds", type=int, default=16)
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--launchers", nargs="+", default=list(LAUNCHERS), choices=list(LAUNCHERS))
    args = p.parse_args()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    walls: dict[str, list[float]] = {name: [] for name in args.launchers}
    finals: dict[str, list[float]] = {name: [] for name in args.launchers}
    for r in range(args.rounds):
        order = args.launchers if r % 2 == 0 else args.launchers[::-1]  # A/B alternating
        for name in order:
            out = RESULTS / "seed_batch" / f"{stamp}_{args.task}_{name}_{r}"
            seeds = range(args.first_seed, args.first_seed + args.seeds)
            wall, final = sweep(args.task, name, seeds, out)
            walls[name].append(wall)
            if r == 0:  # a sweep is reproducible: later rounds repeat these results
                finals[name] = final
            elif final != finals[name]:
                print(f"warning: {name}'s round {r} differs from round 0", flush=True)
            print(f"round {r} {name}: {wall:.1f} s, final mean {np.mean(final):.3f}", flush=True)
    base = float(np.median(walls["joblib"])) if "joblib" in walls else None
    lines = [
        f"# Seed-batched sweep: {args.task}, {args.seeds} seeds, {args.rounds} round(s)",
        "",
        f"`rlrun -m {' '.join(TASKS[args.task])} seed=range({args.seeds})` under each launcher, "
        "A/B alternating; wall time of the whole command, median over rounds.",
        "",
        "| launcher | wall time (s) | speed-up vs joblib | final eval mean | IQM |",
        "|---|---|---|---|---|",
    ]
    for name in args.launchers:
        wall = float(np.median(walls[name]))
        ratio = f"{base / wall:.2f}x" if base is not None else "-"
        lines.append(
            f"| {name} (`{' '.join(LAUNCHERS[name])}`) | {wall:.1f} | {ratio} | "
            f"{np.mean(finals[name]):.3f} | {iqm(finals[name]):.3f} |"
        )
    if "joblib" in finals:
        try:
            from scipy.stats import mannwhitneyu
        except ImportError:
            mannwhitneyu = None
        for name in args.launchers:
            if name != "joblib" and mannwhitneyu is not None:
                test = mannwhitneyu(finals[name], finals["joblib"])
                lines.append(
                    f"\nMann-Whitney U, {name} against joblib's separate runs "
                    f"({len(finals[name])} vs {len(finals['joblib'])} seeds' final evals): "
                    f"U = {test.statistic:.1f}, p = {test.pvalue:.3f}"
                )
    text = "\n".join(lines) + "\n"
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"seed_batch_{args.task}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
