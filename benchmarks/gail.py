"""GAIL (off-policy, on SAC) on Pendulum from 10 expert episodes: the return it reaches without
the env's reward, normalised between a random policy's and the expert's.

    python benchmarks/gail.py [--seeds 3] [--budget 20000] [--episodes 10]

Through the real commands, in one run: an expert `rlrun agent=sac env=pendulum` at its RL Zoo
preset (20k steps), `rlrun-demos <expert> episodes=10`, then `rlrun agent=gail env=pendulum
demos=...` for each seed at the same SAC preset (conf/hyperparams/gail_pendulum.yaml) and
budget; its final deterministic evaluation (10 episodes, on the env's reward, which it never
learns from) normalised as (gail - random) / (expert - random), the expert's being its
demonstrations' mean return and random the uniform policy's over 100 episodes. The issue's bar:
at least 0.8 on 3/3 seeds. Writes a markdown table to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from irl import random_return
from sutton_barto_ch08 import rlrun

from rlrun.demos import load_demos

RESULTS = Path(__file__).parent / "results"
QUIET = ["logger.progress=false", "checkpoint.every_steps=null"]


def final(run: Path) -> dict:
    return json.loads((run / "summary.json").read_text())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--budget", type=int, default=20_000, help="GAIL's env steps")
    p.add_argument("--episodes", type=int, default=10, help="demonstrated episodes")
    args = p.parse_args()
    t0 = time.perf_counter()
    rand = random_return("Pendulum-v1", {}, 200, episodes=100)
    with tempfile.TemporaryDirectory() as tmp:
        expert = Path(tmp) / "expert"
        rlrun("agent=sac", "env=pendulum", *QUIET, f"hydra.run.dir={expert}")
        out = subprocess.run(
            [str(Path(sys.executable).with_name("rlrun-demos")), str(expert),
             f"episodes={args.episodes}"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        print(out.stdout.strip(), flush=True)
        demos = Path(tmp) / "expert" / "demos.npz"
        expert_return = float(load_demos(demos).returns().mean())
        rows = []
        for seed in range(args.seeds):
            run = Path(tmp) / f"gail_{seed}"
            wall = rlrun("agent=gail", "env=pendulum", *QUIET, f"seed={seed}", f"demos={demos}",
                         f"total_timesteps={args.budget}", f"hydra.run.dir={run}")  # fmt: skip
            ev = final(run)["final_eval"]["mean_return"]
            score = (ev - rand) / (expert_return - rand)
            rows.append(f"| {seed} | {ev:.1f} | {score:.2f} | {wall:.0f} |")
            print(rows[-1], flush=True)
    lines = [
        f"# GAIL on Pendulum from {args.episodes} expert episodes ({args.seeds} seeds, "
        f"{args.budget} steps, {time.perf_counter() - t0:.0f} s)",
        "",
        f"expert (SAC, its demonstrations): {expert_return:.1f}; random: {rand:.1f}",
        "",
        "| seed | GAIL final eval return | normalised | wall s |",
        "|---|---|---|---|",
        *rows,
    ]
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"gail-{time.strftime('%Y%m%d-%H%M%S')}.md"
    path.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
