"""Sutton & Barto (2nd ed.) chapter 2's figures from rlrun runs, beside a public reproduction.

    python benchmarks/sutton_barto_ch02.py                # figures 2.2, 2.3, 2.4, 2.5
    python benchmarks/sutton_barto_ch02.py 2.2 2.4 --problems 20000

Each curve is one real `rlrun` command (2000 problems x 1000 steps in one job, the testbed
runner), one at a time; its curves.csv is set beside ShangtongZhang/reinforcement-learning-an-
introduction's chapter02/ten_armed_testbed.py run with the same settings (the means and 95%
half-widths over its 2000 runs are in benchmarks/reference/sutton_barto_ch02.json, made by
running that code). `--problems` sets how many problems rlrun averages (the book's 2000 by
default): with 20000, rlrun's curve is close to the expected one, and the share of its steps
inside the reproduction's 95% band should be ~95%. For steps 100, 500 and 1000 the table gives
both means with their 95%
half-widths and z = difference / sqrt(h1^2 + h2^2) * 1.96 (|z| < 1.96: no detectable difference),
and over all 1000 steps the share of steps whose rlrun mean lies inside the reproduction's band
(~83% is what two samples of one distribution give). Wall times: rlrun's whole command (start-up
included) and the reproduction's simulation of that curve. A PNG per figure goes to
benchmarks/figures/, the table to stdout and benchmarks/results/sutton_barto_ch02-<time>.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
REFERENCE = HERE / "reference" / "sutton_barto_ch02.json"
FIGURES_DIR = HERE / "figures"
RESULTS = HERE / "results"
STEPS = (100, 500, 1000)

# figure -> [(label, rlrun overrides, reference curve)], the reproduction's settings
FIGURES: dict[str, list[tuple[str, list[str], str]]] = {
    "2.2": [
        ("greedy", ["exploration.start=0"], "fig2.2/epsilon=0"),
        ("epsilon 0.01", ["exploration.start=0.01"], "fig2.2/epsilon=0.01"),
        ("epsilon 0.1", ["exploration.start=0.1"], "fig2.2/epsilon=0.1"),
    ],
    "2.3": [
        (
            "optimistic Q1=5, greedy, lr 0.1",
            ["agent.init_value=5", "agent.learning_rate=0.1", "exploration.start=0"],
            "fig2.3/Q1=5,epsilon=0,alpha=0.1",
        ),
        (
            "realistic Q1=0, epsilon 0.1, lr 0.1",
            ["agent.learning_rate=0.1", "exploration.start=0.1"],
            "fig2.3/Q1=0,epsilon=0.1,alpha=0.1",
        ),
    ],
    "2.4": [
        ("UCB c=2", ["exploration=ucb", "exploration.c=2"], "fig2.4/ucb_c=2"),
        ("epsilon 0.1", ["exploration.start=0.1"], "fig2.4/epsilon=0.1"),
    ],
    "2.5": [
        (
            f"gradient lr {lr}{'' if base else ', no baseline'}",
            [
                "agent=gradient_bandit",
                "env.kwargs.q_mean=4",
                f"agent.learning_rate={lr}",
                f"agent.baseline={str(base).lower()}",
            ],
            f"fig2.5/alpha={lr},{'baseline' if base else 'no_baseline'}",
        )
        for base in (True, False)
        for lr in (0.1, 0.4)
    ],
}


def run_curve(
    out: Path, overrides: list[str], problems: int
) -> tuple[dict[str, list[float]], float]:
    """One rlrun command: its curves (per step: mean and 95% half-width) and its wall time."""
    agent = [] if any(o.startswith("agent=") for o in overrides) else ["agent=action_value"]
    size = [f"env.num_envs={problems}", f"total_timesteps={problems * 1000}"]
    args = ["rlrun", *agent, "env=testbed", *size, *overrides]
    t0 = time.perf_counter()
    proc = subprocess.run(
        [*args, "logger.progress=false", f"hydra.run.dir={out}"],
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{proc.stderr[-2000:]}")
    with open(out / "curves.csv") as f:
        rows = list(csv.DictReader(f))
    keys = ("average_reward", "average_reward_ci95", "optimal_action", "optimal_action_ci95")
    return {k: [float(r[k]) for r in rows] for k in keys}, wall


def compare(ours: list[float], ours_h: list[float], ref: list[float], ref_h: list[float]) -> dict:
    out: dict = {}
    for step in STEPS:
        i = step - 1
        z = (ours[i] - ref[i]) / (math.hypot(ours_h[i], ref_h[i]) / 1.959964)
        out[step] = (ours[i], ours_h[i], ref[i], ref_h[i], z)
    inside = sum(abs(o - r) <= h for o, r, h in zip(ours, ref, ref_h, strict=True))
    out["inside"] = inside / len(ref)
    return out


def plot(figure: str, curves: dict, reference: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 1, figsize=(7, 7), sharex=True)
    for n, (label, (ours, ref_key)) in enumerate(curves.items()):
        color = f"C{n}"
        steps = range(1, len(ours["average_reward"]) + 1)
        for ax, key, scale in ((axes[0], "average_reward", 1), (axes[1], "optimal_action", 100)):
            mean = [scale * v for v in ours[key]]
            half = [scale * v for v in ours[f"{key}_ci95"]]
            ax.plot(steps, mean, color=color, lw=1, label=f"rlrun: {label}")
            ax.fill_between(
                steps,
                [m - h for m, h in zip(mean, half, strict=True)],
                [m + h for m, h in zip(mean, half, strict=True)],
                color=color,
                alpha=0.25,
                lw=0,
            )
            if ref_key in reference:
                ref_name = "reward_mean" if key == "average_reward" else "optimal_mean"
                ref = [scale * v for v in reference[ref_key][ref_name]]
                ax.plot(steps, ref, color="k", lw=0.6, ls="--")
    axes[0].set_ylabel("average reward")
    axes[1].set_ylabel("% optimal action")
    axes[1].set_xlabel("steps")
    axes[0].legend(fontsize=7, loc="lower right")
    axes[0].set_title(
        f"Sutton & Barto figure {figure}: rlrun (bands: 95%), reproduction dashed (2000 runs)"
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("figures", nargs="*", help=f"any of {', '.join(FIGURES)} (default: all)")
    parser.add_argument("--problems", type=int, default=2000, help="problems rlrun averages")
    args = parser.parse_args()
    unknown = set(args.figures) - set(FIGURES)
    if unknown:
        parser.error(f"no figure {', '.join(sorted(unknown))}; choose from {', '.join(FIGURES)}")
    args.figures = args.figures or list(FIGURES)
    if args.problems < 2:
        parser.error("--problems: at least 2 (a confidence band needs two)")
    ref_doc = json.loads(REFERENCE.read_text()) if REFERENCE.exists() else {"curves": {}}
    reference = ref_doc["curves"]
    ref_walls = ref_doc.get("wall_time_s", {})
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    lines = [
        f"reference: {ref_doc.get('source', 'none')}; rlrun averages {args.problems} problems",
        "",
        "| figure | curve | metric | step | rlrun | reproduction | z |",
        "|---|---|---|---|---|---|---|",
    ]
    summary = []
    for figure in args.figures:
        curves = {}
        for label, overrides, ref_key in FIGURES[figure]:
            name = re.sub(r"[^A-Za-z0-9.]+", "_", label)  # '=' and ',' mean something to Hydra
            out = RESULTS / f"sutton_barto_ch02-{stamp}" / f"fig{figure}" / name
            curves[label] = (*run_curve(out, overrides, args.problems), ref_key)
        for label, (ours, wall, ref_key) in curves.items():
            if ref_key not in reference:
                summary.append(f"fig {figure} {label}: rlrun {wall:.1f} s; no reference curve")
                continue
            ref = reference[ref_key]
            for metric, key, ref_name, scale in (
                ("reward", "average_reward", "reward", 1),
                ("% optimal", "optimal_action", "optimal", 100),
            ):
                cmp = compare(
                    ours[key], ours[f"{key}_ci95"], ref[f"{ref_name}_mean"], ref[f"{ref_name}_ci95"]
                )
                for step in STEPS:
                    o, oh, r, rh, z = cmp[step]
                    lines.append(
                        f"| {figure} | {label} | {metric} | {step} | {scale * o:.3f} +- "
                        f"{scale * oh:.3f} | {scale * r:.3f} +- {scale * rh:.3f} | {z:+.2f} |"
                    )
                summary.append(
                    f"fig {figure} {label} {metric}: {100 * cmp['inside']:.0f}% of steps inside "
                    "the reproduction's band"
                )
            ref_wall = ref_walls.get(ref_key)
            summary.append(
                f"fig {figure} {label}: rlrun command {wall:.1f} s"
                + (f", reproduction {ref_wall:.1f} s" if ref_wall else "")
            )
        plot(
            figure,
            {label: (ours, ref_key) for label, (ours, _, ref_key) in curves.items()},
            reference,
            FIGURES_DIR / f"sutton_barto_fig{figure.replace('.', '_')}.png",
        )
    text = "\n".join([*lines, "", *summary])
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"sutton_barto_ch02-{stamp}.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
