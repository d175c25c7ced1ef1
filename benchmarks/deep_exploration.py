"""What exploration buys where dithering fails: DeepSea and MountainCar, seed by seed.

    python benchmarks/deep_exploration.py deepsea --size 20 --seeds 0 1 2
    python benchmarks/deep_exploration.py deepsea-tabular --size 20 --seeds 0 1 2
    python benchmarks/deep_exploration.py mountaincar --seeds 0 1 2

deepsea: Bootstrapped DQN with randomized priors (bsuite's settings, the
bootstrapped_dqn_deepsea preset) against DQN with epsilon-greedy 0.05 (bsuite's DQN, the
dqn_deepsea preset), `--episodes` episodes of size `--size` each. deepsea-tabular: Q-learning with
epsilon-greedy, with UCB action selection, greedy from optimistic values, and greedy with the
count bonus beta / sqrt(N(s')), on DeepSea's discrete cells (a bonus needs optimistic initial
values: from Q1 = 0 a tried action, its bonus learned, beats every untried one). mountaincar:
the RL Zoo's DQN preset with and without the SimHash
count bonus; the env step at which a periodic evaluation (every 2,000 steps, 10 episodes) first
reaches -110. For each run: the first episode that found the treasure (or the first evaluation
at the target), how many episodes found it, the final evaluation. Each run is one real `rlrun`
command, one at a time; the table goes to stdout and benchmarks/results/deep_exploration-*.md.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def variants(task: str, size: int, episodes: int) -> dict[str, list[str]]:
    sea = [f"env.kwargs.size={size}", f"total_timesteps={size * episodes}"]
    eval_every = [f"eval.every_steps={size * episodes // 10}", "eval.episodes=1"]
    if task == "deepsea":
        return {
            "bootstrapped_dqn + prior": [
                "agent=bootstrapped_dqn",
                "env=deepsea",
                *sea,
                *eval_every,
            ],
            "dqn, epsilon 0.05": ["agent=dqn", "env=deepsea", *sea, *eval_every],
        }
    if task == "deepsea-tabular":
        tabular = ["env=deepsea", "env.kwargs.discrete_obs=true", "agent.gamma=0.99", *sea]
        tabular += [*eval_every, "agent.learning_rate=0.1"]
        greedy = ["exploration=epsilon_greedy", "exploration.schedule=constant"]
        greedy += ["exploration.start=0", "agent.init_value=1"]  # optimistic: untried first
        return {
            "qlearning, epsilon 1->0.05": ["agent=qlearning", *tabular],
            "qlearning, ucb c=1, Q1=1": [
                "agent=qlearning",
                *tabular,
                "exploration=ucb",
                "exploration.c=1",
                "agent.init_value=1",
            ],
            "qlearning, greedy, Q1=1": ["agent=qlearning", *tabular, *greedy],
            "qlearning, count bonus 0.1, greedy, Q1=1": [
                "agent=qlearning",
                *tabular,
                *greedy,
                "bonus=count",
                "bonus.beta=0.1",
            ],
        }
    common = ["env=mountaincar", "eval.every_steps=2000", "eval.episodes=10"]
    return {
        "dqn (Zoo preset)": ["agent=dqn", *common],
        "dqn + simhash 0.01": ["agent=dqn", *common, "bonus=simhash", "bonus.beta=0.01"],
    }


def episodes_of(run_dir: Path) -> list[float]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    acc.Reload()
    return [e.value for e in acc.Scalars("charts/episodic_return")]


def run(out: Path, overrides: list[str], seed: int) -> dict:
    args = ["rlrun", *overrides, f"seed={seed}", "logger.progress=false", f"hydra.run.dir={out}"]
    t0 = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{proc.stderr[-2000:]}")
    summary = json.loads((out / "summary.json").read_text())
    return {"summary": summary, "episodes": episodes_of(out), "wall": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("task", choices=("deepsea", "deepsea-tabular", "mountaincar"))
    parser.add_argument("--size", type=int, default=20)
    parser.add_argument("--episodes", type=int, default=2000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    sea = args.task != "mountaincar"
    header = (
        "| variant | seed | first treasure (episode) | treasure episodes | final eval | wall s |"
        if sea
        else "| variant | seed | first eval >= -110 (step) | best eval | final eval | wall s |"
    )
    lines = [
        f"{args.task}" + (f" size {args.size}, {args.episodes} episodes" if sea else ""),
        "",
        header,
        "|---|---|---|---|---|---|",
    ]
    for name, overrides in variants(args.task, args.size, args.episodes).items():
        for seed in args.seeds:
            slug = re.sub(r"[^A-Za-z0-9.]+", "_", name)  # '=', ',', '(' mean something to Hydra
            label = f"{args.task}-{stamp}/{slug}-{seed}"
            r = run(RESULTS / label, overrides, seed)
            s = r["summary"]
            final = s["final_eval"]["mean_return"]
            if sea:
                found = [i + 1 for i, ret in enumerate(r["episodes"]) if ret > 0.5]
                first = found[0] if found else "never"
                cells = f"{first} | {len(found)}"
            else:
                hit = [step for step, _t, ret in s["evaluations"] if ret >= -110]
                cells = f"{hit[0] if hit else 'never'} | {s['best_eval_mean_return']:.1f}"
            lines.append(f"| {name} | {seed} | {cells} | {final:.3f} | {r['wall']:.0f} |")
            print(lines[-1], flush=True)
    text = "\n".join(lines)
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"deep_exploration-{stamp}.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
