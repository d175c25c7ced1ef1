"""Sutton & Barto (2nd ed.) chapter 8's figures from rlrun runs, beside a public reproduction.

    nice -n 10 python benchmarks/sutton_barto_ch08.py              # figures 8.2, 8.4, 8.5
    nice -n 10 python benchmarks/sutton_barto_ch08.py 8.2 --runs 10

Each curve is one real `rlrun -m ... seed=range(R)` multirun (R runs one after another in one
process); the episodes are read back from every job's TensorBoard events
(`charts/episodic_length`, `charts/episodic_return` at the global step each ended). A job of
figure 8.2 whose budget ended before its 50th episode is continued with `rlrun resume=<job>
total_timesteps=<twice>` until it has them. The settings (alpha, n, kappa, budget, change step)
are read from benchmarks/reference/sutton_barto_ch08.json: the per-episode / per-step means and
95% half-widths of ShangtongZhang/reinforcement-learning-an-introduction's chapter08/maze.py, run
with its own code; the runs per curve default to that file's. The script stops if the file's
mazes, epsilon, gamma or initial values are not ours. Figure 8.2: steps per episode, n = 0, 5,
50; figures 8.4 and 8.5: cumulative reward after k time steps, Dyna-Q against Dyna-Q+. Our mazes
change their walls exactly at the change step, the reproduction's at the end of the episode that
passes it (within about 20 steps of it in the file's runs).

The table gives, at a few episodes or steps, both means with their 95% half-widths and z =
difference / sqrt(h1^2 + h2^2) * 1.96 (|z| < 1.96: no detectable difference), whether rlrun's
mean is inside the reproduction's band, and over the whole curve the share of points inside it.
Wall times: each rlrun multirun (start-up included), and the reproduction's from its file.
A PNG per figure goes to benchmarks/figures/, the table to stdout and
benchmarks/results/sutton_barto_ch08-<time>.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import yaml

from rlrun.envs import mazes

HERE = Path(__file__).resolve().parent
REFERENCE = HERE / "reference" / "sutton_barto_ch08.json"
FIGURES_DIR = HERE / "figures"
RESULTS = HERE / "results"
Z95 = 1.959964
EPISODES = 50  # figure 8.2

# Every run: constant epsilon 0.1 (the agents' default), no evaluation but the final one (one
# greedy episode), one checkpoint at the end (so a short figure 8.2 job can be continued).
COMMON = [
    "logger.progress=false",
    "eval.every_steps=null",
    "eval.episodes=1",
    "eval.num_envs=1",
    "checkpoint.every_steps=null",
    "checkpoint.best=false",
]


@dataclass
class Curve:
    label: str  # the reference's curve name: fig<figure>/<label>
    overrides: list[str]
    budget: int  # env steps (figure 8.2: a first guess, extended until 50 episodes)


@dataclass
class Figure:
    kind: str  # "episodes": steps per episode; "cumulative": cumulative reward after k steps
    env: str
    layouts: tuple[tuple[str, ...], ...]  # ours, checked against the reference's
    curves: list[Curve]
    at: tuple[int, ...]  # the episodes / step counts the table shows


def figures(settings: dict[str, dict]) -> dict[str, Figure]:
    """Our runs of each figure, from the reference's settings (alpha, n, kappa, budget, change
    step; epsilon 0.1 and gamma 0.95 are the agents' defaults, checked in `check_settings`)."""
    s2, s4, s5 = settings["8.2"], settings["8.4"], settings["8.5"]

    def changing(s: dict, env: str, layouts: tuple) -> Figure:
        common = [
            f"agent.learning_rate={s['alpha']}",
            f"agent.planning_steps={s['planning_steps']}",
        ]
        common.append(f"env.kwargs.change_at={s['obstacle_switch_time']}")
        kappa = f"agent.kappa={s['kappa_time_weight_dyna_q_plus']}"
        budget = s["step_budget"]
        switch = s["obstacle_switch_time"]
        return Figure(
            "cumulative",
            env,
            layouts,
            [
                Curve("Dyna-Q", ["agent=dyna_q", *common], budget),
                Curve("Dyna-Q+", ["agent=dyna_q_plus", *common, kappa], budget),
            ],
            # not the last index: the reproduction's also counts the episode ending after it
            (switch, switch + (budget - switch) // 4, (budget + switch) // 2, budget - 10),
        )

    return {
        "8.2": Figure(
            "episodes",
            "dyna_maze",
            (mazes.DYNA_MAZE,),
            [
                Curve(
                    f"n={n}",
                    [
                        "agent=dyna_q",
                        f"agent.learning_rate={s2['alpha']}",
                        f"agent.planning_steps={n}",
                    ],
                    budget,
                )
                for n, budget in zip(s2["planning_steps"], (10_000, 5_000, 3_000), strict=True)
            ],
            (2, 3, 4, 5, 10, 20, 50),
        ),
        "8.4": changing(s4, "blocking_maze", (mazes.GAP_RIGHT, mazes.GAP_LEFT)),
        "8.5": changing(s5, "shortcut_maze", (mazes.GAP_LEFT, mazes.GAP_BOTH)),
    }


def check_settings(figure: str, fig: Figure, theirs: dict) -> None:
    """Stop if the reproduction ran another maze or values our runs do not take from it."""
    layouts = tuple(
        tuple(theirs[k]) for k in ("layout", "layout_before", "layout_after") if k in theirs
    )
    defaults = {"gamma": 0.95, "epsilon": 0.1, "Q_init": 0.0}  # conf/agent/dyna_q.yaml & co
    wrong = {k: (v, theirs[k]) for k, v in defaults.items() if theirs[k] != v}
    if layouts != fig.layouts:
        wrong["layouts"] = (fig.layouts, layouts)
    if wrong:
        sys.exit(f"figure {figure}: our settings differ from the reference's: {wrong}")


def rlrun(*args: str) -> float:
    """Run the real `rlrun` command; its wall time."""
    exe = Path(sys.executable).with_name("rlrun")
    t0 = time.perf_counter()
    proc = subprocess.run([str(exe), *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"rlrun {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return time.perf_counter() - t0


def episodes_of(job: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(end step, length, return) of every training episode of a job, from its events."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(job), size_guidance={"scalars": 0})
    acc.Reload()
    ended = "charts/episodic_length" in acc.Tags()["scalars"]  # not before the first episode
    lengths = acc.Scalars("charts/episodic_length") if ended else []
    returns = acc.Scalars("charts/episodic_return") if ended else []
    return (
        np.array([e.step for e in lengths], dtype=np.int64),
        np.array([e.value for e in lengths]),
        np.array([e.value for e in returns]),
    )


def run_curve(fig: Figure, curve: Curve, runs: int, out: Path) -> tuple[list, float]:
    """The multirun of one curve: per job (by seed) its episodes, and the wall time."""
    wall = rlrun(
        "-m",
        f"env={fig.env}",
        *curve.overrides,
        f"total_timesteps={curve.budget}",
        f"seed=range({runs})",
        *COMMON,
        f"hydra.sweep.dir={out}",
    )
    jobs = sorted(
        (p.parents[1] for p in out.glob("*/.hydra/config.yaml")),
        key=lambda p: yaml.safe_load((p / ".hydra" / "config.yaml").read_text())["seed"],
    )
    assert len(jobs) == runs, f"{out}: {len(jobs)} jobs"
    results = []
    for job in jobs:
        budget = curve.budget
        ep = episodes_of(job)
        while fig.kind == "episodes" and len(ep[1]) < EPISODES:
            budget *= 2  # a long first episode: train on from the job's last checkpoint
            wall += rlrun(f"resume={job}", f"total_timesteps={budget}", "logger.progress=false")
            ep = episodes_of(job)
        results.append(ep)
    return results, wall


def mean_ci(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean over runs (axis 0) and the reference's 95% half-width, 1.96 std(ddof=1) / sqrt(runs)."""
    return x.mean(axis=0), Z95 * x.std(axis=0, ddof=1) / math.sqrt(len(x))


def curve_values(fig: Figure, budget: int, runs: list) -> np.ndarray:
    """Per run: the steps of episodes 1..50 (figure 8.2), or the cumulative reward after k steps,
    k = 0..budget (8.4, 8.5: an episode's return counted at the step it ended)."""
    if fig.kind == "episodes":
        return np.stack([lengths[:EPISODES] for _, lengths, _ in runs])
    out = np.zeros((len(runs), budget + 1))
    for i, (steps, _, returns) in enumerate(runs):
        np.add.at(out[i], steps, returns)
    return out.cumsum(axis=1)


def reference_curve(ref_fig: dict, label: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, mean, 95% half-width): x the episodes 1..50 or the step counts k the file holds."""
    entry = ref_fig["curves"][f"fig{ref_fig['figure']}/{label}"]
    if "steps_mean" in entry:
        mean = np.asarray(entry["steps_mean"])
        return np.arange(1, len(mean) + 1), mean, np.asarray(entry["steps_ci95"])
    x = np.asarray(ref_fig["step_index"])
    return x, np.asarray(entry["cum_reward_mean"]), np.asarray(entry["cum_reward_ci95"])


def plot(figure: str, fig: Figure, ours: dict, ref_fig: dict, runs: int, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    f, ax = plt.subplots(figsize=(7, 4.5))
    first = 1 if fig.kind == "episodes" else 0  # the book leaves episode 1 out
    for n, curve in enumerate(fig.curves):
        x, mean, half = ours[curve.label]
        color = f"C{n}"
        ax.plot(x[first:], mean[first:], color=color, lw=1.2, label=f"rlrun {curve.label}")
        ax.fill_between(
            x[first:], (mean - half)[first:], (mean + half)[first:], color=color, alpha=0.2, lw=0
        )
        xr, ref, _ = reference_curve(ref_fig, curve.label)
        ax.plot(
            xr[first:],
            ref[first:],
            color=color,
            lw=0.8,
            ls="--",
            label=f"reproduction {curve.label}",
        )
    if fig.kind == "episodes":
        ax.set(xlabel="episode", ylabel="steps per episode", ylim=(0, 800))
    else:
        ax.set(xlabel="time steps", ylabel="cumulative reward")
        ax.axvline(ref_fig["settings"]["obstacle_switch_time"], color="grey", lw=0.5)
    ax.legend(fontsize=7)
    ax.set_title(
        f"Sutton & Barto figure {figure}: rlrun ({runs} runs, bands 95%), "
        f"reproduction dashed ({ref_fig['runs']})",
        fontsize=9,
    )
    f.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    f.savefig(path, dpi=110)
    plt.close(f)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("figures", nargs="*", default=["8.2", "8.4", "8.5"])
    parser.add_argument("--runs", type=int, help="runs per curve (default: the reference's)")
    args = parser.parse_args()
    reference = json.loads(REFERENCE.read_text())
    ref_figs = reference["figures"]
    figs = figures({k: v["settings"] for k, v in ref_figs.items()})
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    lines = [
        f"reference: {reference['source']}",
        "",
        "| figure | curve | at | rlrun | reproduction | z | inside |",
        "|---|---|---|---|---|---|---|",
    ]
    summary = []
    for figure in args.figures:
        fig, ref_fig = figs[figure], ref_figs[figure]
        check_settings(figure, fig, ref_fig["settings"])
        runs = args.runs or ref_fig["runs"]
        unit = "episode" if fig.kind == "episodes" else "step"
        ours = {}
        for curve in fig.curves:
            name = re.sub(r"[^A-Za-z0-9]+", "_", curve.label)  # '=' and '+' mean something to Hydra
            out = RESULTS / f"sutton_barto_ch08-{stamp}" / f"fig{figure}" / name
            results, wall = run_curve(fig, curve, runs, out)
            mean, half = mean_ci(curve_values(fig, curve.budget, results))
            x = np.arange(1, len(mean) + 1) if fig.kind == "episodes" else np.arange(len(mean))
            ours[curve.label] = (x, mean, half)
            xr, ref, ref_h = reference_curve(ref_fig, curve.label)
            ours_at = dict(zip(x.tolist(), zip(mean, half, strict=True), strict=True))
            for at in fig.at:
                (o, oh), (r, rh) = ours_at[at], (ref[xr == at][0], ref_h[xr == at][0])
                z = (o - r) / (math.hypot(oh, rh) / Z95) if oh or rh else 0.0
                lines.append(
                    f"| {figure} | {curve.label} | {unit} {at} | {o:.1f} +- {oh:.1f} | "
                    f"{r:.1f} +- {rh:.1f} | {z:+.2f} | {'yes' if abs(o - r) <= rh else 'no'} |"
                )
            points = xr[xr < len(mean)] if fig.kind == "cumulative" else xr  # not the last index
            inside = [abs(ours_at[k][0] - ref[xr == k][0]) <= ref_h[xr == k][0] for k in points]
            ref_wall = ref_fig["wall_time_s"][f"fig{figure}/{curve.label}"]
            summary.append(
                f"fig {figure} {curve.label}: {100 * np.mean(inside):.0f}% of the "
                f"reproduction's {len(points)} {unit}s inside its band; rlrun multirun of "
                f"{runs} runs {wall:.0f} s, reproduction {ref_wall:.0f} s ({ref_fig['runs']} runs)"
            )
        if fig.kind == "episodes":
            summary.append(
                "fig 8.2 acceptance: n=50 mean steps in episodes 2-5: "
                + ", ".join(f"{v:.1f}" for v in ours["n=50"][1][1:5])
                + " (the 14-step path plus epsilon's detours)"
            )
        else:
            c, end = fig.at[0], fig.at[-1]
            gains = {k: m[end] - m[c] for k, (_, m, _) in ours.items()}
            summary.append(
                f"fig {figure} acceptance: reward between steps {c} and {end}: "
                + ", ".join(f"{k} {v:.1f}" for k, v in gains.items())
                + f"; Dyna-Q+ ahead: {gains['Dyna-Q+'] > gains['Dyna-Q']}"
            )
        if importlib.util.find_spec("matplotlib") is not None:
            png = FIGURES_DIR / f"sutton_barto_fig{figure.replace('.', '_')}.png"
            plot(figure, fig, ours, ref_fig, runs, png)
            summary.append(f"fig {figure}: {png.relative_to(HERE.parent)}")
    text = "\n".join([*lines, "", *summary])
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"sutton_barto_ch08-{stamp}.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
