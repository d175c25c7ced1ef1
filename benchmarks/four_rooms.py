"""Four rooms (Sutton, Precup & Singh 1999): learning with the hallway options against flat
Q-learning, in steps per episode over the first episodes.

    python benchmarks/four_rooms.py [--seeds 10] [--episodes 100]

One Hydra multirun per learner (`rlrun -m agent=<a> env=four_rooms seed=range(10)`), all at the
same settings: the paper's gamma 0.9, step size 0.1, epsilon-greedy at 0.1 throughout, Q = 0 at
the start; the goal in the east hallway, random starts, moves that go astray 1/3 of the time.

- qlearning: flat Q-learning over the four primitive actions;
- smdp_q: SMDP Q-learning over the primitive actions and the eight hallway options;
- intra_option_q: intra-option Q-learning over the same options.

Each job's training episodes come from its TensorBoard events (`charts/episodic_length`). The
acceptance: intra-option Q-learning takes fewer steps per episode than flat Q-learning over the
first 100 episodes. Writes a markdown table and the curves (PNG, mean and 95% interval over the
seeds) to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml
from sutton_barto_ch08 import episodes_of, mean_ci, rlrun

RESULTS = Path(__file__).parent / "results"
LEARNERS = {"qlearning": "flat Q-learning", "smdp_q": "SMDP Q", "intra_option_q": "intra-option Q"}
COMMON = [
    "env=four_rooms",
    "agent.gamma=0.9",
    "agent.learning_rate=0.1",
    "exploration=epsilon_greedy",
    "exploration.schedule=constant",
    "exploration.start=0.1",
    "exploration.end=0.1",
    "eval.every_steps=null",
    "checkpoint.every_steps=null",
    "logger.progress=false",
]


def lengths(overrides: list[str], seeds: int, episodes: int, budget: int, out: Path) -> np.ndarray:
    """[seed, episode] steps of each of the first `episodes` training episodes of
    `rlrun -m <overrides> seed=range(seeds)`."""
    rlrun("-m", *overrides, f"total_timesteps={budget}", f"seed=range({seeds})",
          f"hydra.sweep.dir={out}")  # fmt: skip
    jobs = sorted(
        (p.parents[1] for p in out.glob("*/.hydra/config.yaml")),
        key=lambda p: yaml.safe_load((p / ".hydra" / "config.yaml").read_text())["seed"],
    )
    curves = [episodes_of(job)[1][:episodes] for job in jobs]
    short = [len(c) for c in curves if len(c) < episodes]
    assert not short, f"{overrides}: a job ended within {short} episodes; raise the budget"
    return np.array(curves)


def smooth(x: np.ndarray, window: int) -> np.ndarray:
    """Each row's moving average over `window` episodes (1: the row itself)."""
    kernel = np.ones(window) / window
    return np.array([np.convolve(row, kernel, mode="valid") for row in x])


def plot(
    results: dict[str, np.ndarray],
    path: Path,
    title: str,
    window: int = 1,
    goal_moves: int | None = None,
) -> None:
    """Steps per episode of each learner ({label: [seed, episode]}): mean and 95% interval over
    the seeds, log scale, averaged over `window` episodes; a line where the goal moved."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, x in results.items():
        mean, half = mean_ci(smooth(x, window))
        episodes = np.arange(window, x.shape[1] + 1)
        ax.plot(episodes, mean, label=label)
        ax.fill_between(episodes, np.maximum(mean - half, 1), mean + half, alpha=0.2)
    if goal_moves is not None:
        ax.axvline(goal_moves, color="grey", linestyle=":", label="goal moves")
    ax.set_yscale("log")
    ax.set_xlabel("episode")
    average = f" ({window}-episode average)" if window > 1 else ""
    ax.set_ylabel(f"steps per episode{average}")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--episodes", type=int, default=100)
    p.add_argument("--budget", type=int, default=30_000, help="env steps a job")
    args = p.parse_args()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        results = {
            agent: lengths(
                [f"agent={agent}", *COMMON],
                args.seeds,
                args.episodes,
                args.budget,
                Path(tmp) / agent,
            )
            for agent in LEARNERS
        }
    flat = results["qlearning"].mean(axis=1)
    rows = []
    for agent, x in results.items():
        per_seed = x.mean(axis=1)
        mean, half = mean_ci(per_seed[:, None])
        first10 = x[:, :10].mean()
        last10 = x[:, -10:].mean()
        fewer = int((per_seed < flat).sum())
        rows.append(
            f"| {LEARNERS[agent]} | {mean[0]:.1f} +/- {half[0]:.1f} | {first10:.0f} | "
            f"{last10:.1f} | {fewer if agent != 'qlearning' else '-'}/{args.seeds} |"
        )
    lines = [
        f"# Four rooms: steps per episode over the first {args.episodes} episodes "
        f"({args.seeds} seeds, {time.perf_counter() - t0:.0f} s)",
        "",
        "| learner | mean steps per episode (95% interval) | episodes 1-10 | last 10 | "
        "seeds below flat Q |",
        "|---|---|---|---|---|",
        *rows,
    ]
    RESULTS.mkdir(exist_ok=True)
    base = RESULTS / f"four-rooms-{time.strftime('%Y%m%d-%H%M%S')}"
    base.with_suffix(".md").write_text("\n".join(lines) + "\n")
    plot(
        {LEARNERS[agent]: x for agent, x in results.items()},
        base.with_suffix(".png"),
        f"Four rooms, goal in the east hallway ({args.seeds} seeds, 95% interval)",
    )
    print("\n".join(lines))
    print(f"wrote {base}.md/.png")


if __name__ == "__main__":
    main()
