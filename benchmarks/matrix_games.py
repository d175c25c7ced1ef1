"""Independent Q-learners in Claus & Boutilier's (1998) cooperative matrix games, through rlrun.

    python benchmarks/matrix_games.py --seeds 10

One Hydra multirun per game (`rlrun -m agent=qlearning env=<game> seed=0,...,9`): the
multi-agent runner gives each of the two agents its own tabular Q-learner, which sees only its
own action and the common payoff, with the presets conf/hyperparams/qlearning_<game>.yaml
(Boltzmann exploration, temperature 16 -> 0.05 geometrically over 5,000 one-shot plays). Each
job's final evaluation is the payoff of the learners' greedy joint action. The paper's outcome:
in the penalty game with k = 0 independent learners reach an optimal joint action, (a, a) or
(c, c); in the climbing game they miscoordinate, settling on a worse equilibrium than (a, a).
Writes benchmarks/results/matrix-games-<time>.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from rlrun.envs.matrix_games import CLIMBING, penalty_payoff

RESULTS = Path(__file__).parent / "results"
NAMES = "abc"
GAMES = {  # title: (overrides, payoff table)
    "penalty, k = 0": (["env=penalty_game"], penalty_payoff(0.0)),
    "penalty, k = -100": (["env=penalty_game", "env.kwargs.k=-100"], penalty_payoff(-100.0)),
    "climbing": (["env=climbing_game"], CLIMBING),
}


def joint_actions(payoff: np.ndarray, value: float) -> str:
    """The joint actions whose payoff is `value` (the greedy one is among them)."""
    cells = np.argwhere(payoff == value)
    return " or ".join(f"({NAMES[i]}, {NAMES[j]})" for i, j in cells) + f" = {value:g}"


def sweep(overrides: list[str], seeds: int, sweep_dir: Path) -> list[float]:
    """Run the multirun; each seed's final evaluation (the greedy joint action's payoff)."""
    cmd = [
        sys.executable,
        "-m",
        "rlrun",
        "-m",
        "agent=qlearning",
        *overrides,
        f"seed={','.join(map(str, range(seeds)))}",
        "logger.progress=false",
        f"hydra.sweep.dir={sweep_dir}",
    ]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    summaries = [json.loads(p.read_text()) for p in sweep_dir.glob("*/summary.json")]
    return [s["objective"] for s in sorted(summaries, key=lambda s: s["seed"])]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=10)
    args = p.parse_args()
    rows = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for k, (title, (overrides, table)) in enumerate(GAMES.items()):
            payoff = np.asarray(table, dtype=float)
            ends = sweep(overrides, args.seeds, Path(tmp) / str(k))
            best = payoff.max()
            optimal = sum(v == best for v in ends)
            counts = Counter(joint_actions(payoff, v) for v in ends)
            where = ", ".join(f"{joint}: {n}" for joint, n in counts.most_common())
            rows.append(
                f"| {title} | {joint_actions(payoff, best)} | {optimal}/{args.seeds} | {where} |"
            )
            print(rows[-1], flush=True)
    lines = [
        f"# Independent Q-learners in Claus & Boutilier's matrix games ({args.seeds} seeds, "
        f"{time.perf_counter() - t0:.0f} s)",
        "",
        "| game | optimum | seeds at an optimum | where the seeds end (greedy joint action) |",
        "|---|---|---|---|",
        *rows,
    ]
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"matrix-games-{time.strftime('%Y%m%d-%H%M%S')}.md"
    out.write_text("\n".join(lines) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
