"""Four rooms with a goal that moves (Bacon, Harb & Precup 2017, section 5.1 and its figure):
tabular option-critic against flat actor-critic, in steps per episode before and after the move.

    python benchmarks/option_critic.py [--seeds 10] [--episodes 1300] [--move-after 1000]

One Hydra multirun per learner (`rlrun -m agent=option_critic env=four_rooms seed=range(10)`,
two jobs at a time), both at the agent's defaults, the paper's four-rooms code's (critic 0.5,
intra-option 0.25, termination 0.25, temperature 0.01, epsilon 0.01 over options, gamma 0.99):

- option_critic: four options learned end to end;
- actor-critic: the same learner with one option (`agent.n_options=1`), never switched, which is
  flat actor-critic with a Q(s, a) critic and a V(s) baseline.

The goal starts in the east hallway and moves to the lower right room ([10, 9]) once
`--move-after` episodes have begun (`env.kwargs.goal_moves_to`, `goal_moves_after`). Episodes
come from each job's TensorBoard events (`charts/episodic_length`). The paper's claim: after the
move, option-critic recovers faster than actor-critic. Writes a markdown table and the curves
(PNG: mean and 95% interval over seeds, 10-episode moving average) to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from four_rooms import lengths, plot
from sutton_barto_ch08 import mean_ci

RESULTS = Path(__file__).parent / "results"
MOVED_GOAL = "[10,9]"
LEARNERS = {
    "option-critic (4 options)": ["agent=option_critic"],
    "actor-critic (1 option)": ["agent=option_critic", "agent.n_options=1"],
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--episodes", type=int, default=1300)
    p.add_argument("--move-after", type=int, default=1000)
    p.add_argument("--budget", type=int, default=400_000, help="env steps a job")
    args = p.parse_args()
    common = [
        "env=four_rooms",
        f"+env.kwargs.goal_moves_to={MOVED_GOAL}",
        f"+env.kwargs.goal_moves_after={args.move_after}",
        "eval.every_steps=null",  # an evaluation env counts its own episodes: not this test
        "checkpoint.every_steps=null",
        "logger.progress=false",
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
    ]
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        results = {
            label: lengths(
                [*overrides, *common], args.seeds, args.episodes, args.budget, Path(tmp) / str(i)
            )
            for i, (label, overrides) in enumerate(LEARNERS.items())
        }
    m = args.move_after
    windows = {
        "before (last 100)": slice(m - 100, m),
        "after: first 100": slice(m, m + 100),
        f"after: 101-{min(400, args.episodes - m)}": slice(m + 100, m + 400),
        f"after: last {min(100, args.episodes - m)}": slice(max(m, args.episodes - 100), None),
    }
    flat = results["actor-critic (1 option)"]
    rows = []
    for label, x in results.items():
        cells = []
        for window in windows.values():
            mean, half = mean_ci(x[:, window].mean(axis=1)[:, None])
            cells.append(f"{mean[0]:.1f} +/- {half[0]:.1f}")
        fewer = int((x[:, m : m + 100].mean(1) < flat[:, m : m + 100].mean(1)).sum())
        rows.append(f"| {label} | {' | '.join(cells)} | {fewer}/{args.seeds} |")
    lines = [
        f"# Four rooms, goal moved after {m} episodes: steps per episode ({args.seeds} seeds, "
        f"{time.perf_counter() - t0:.0f} s)",
        "",
        f"| learner | {' | '.join(windows)} | seeds below actor-critic after the move |",
        "|---|" + "---|" * (len(windows) + 1),
        *rows,
    ]
    RESULTS.mkdir(exist_ok=True)
    base = RESULTS / f"option-critic-{time.strftime('%Y%m%d-%H%M%S')}"
    base.with_suffix(".md").write_text("\n".join(lines) + "\n")
    plot(
        results,
        base.with_suffix(".png"),
        f"Four rooms, goal moved after {m} episodes ({args.seeds} seeds, 95%)",
        window=10,
        goal_moves=m,
    )
    print("\n".join(lines))
    print(f"wrote {base}.md/.png")


if __name__ == "__main__":
    main()
