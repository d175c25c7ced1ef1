"""Deep option-critic on CartPole-v1 and Acrobot-v1: what it learns, what its options look like,
and what the deliberation cost does to them, against the same learner with one option.

    python benchmarks/deep_option_critic.py [--seeds 3] [--budget 100000] [--envs cartpole acrobot]

One Hydra multirun per (env, learner) (`rlrun -m agent=deep_option_critic env=cartpole
seed=range(3)`, two jobs at a time), all at the agent's defaults, the public reference
implementation's CartPole settings (lweitkamp/option-critic-pytorch: RMSprop 5e-4, 2 options,
batch 32, buffer 10k, critic every 4 steps, target copy every 200, entropy 0.01, deliberation
cost 0.01, epsilon over options 1 -> 0.1):

- option-critic: 2 options, deliberation cost 0.01 (the reference's);
- option-critic, deliberation cost 0.1: the same, with terminations charged ten times more;
- actor-critic: one option (`agent.n_options=1`), never switched: flat actor-critic with a
  Q critic, the same step sizes.

Per learner and env: the final deterministic evaluation (10 episodes) of each seed, the first
step at which an evaluation reached the env's threshold (CartPole 475, Acrobot -100), and the
mean option length and termination probability over the last 10% of training (TensorBoard's
`charts/option_length`, `options/<k>/termination`). Writes a markdown table to
benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml
from sutton_barto_ch08 import rlrun

RESULTS = Path(__file__).parent / "results"
THRESHOLDS = {"cartpole": 475.0, "acrobot": -100.0}
LEARNERS = {
    "option-critic (2 options)": [],
    "option-critic (2 options, deliberation 0.1)": ["agent.deliberation_cost=0.1"],
    "actor-critic (1 option)": ["agent.n_options=1"],
}


def late_mean(job: Path, tag_prefix: str, tag_suffix: str = "") -> float:
    """The mean over the last 10% of a job's logged points of the tags that match (all options'
    termination probabilities, say), from its TensorBoard events."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(job), size_guidance={"scalars": 0})
    acc.Reload()
    values = []
    for tag in acc.Tags()["scalars"]:
        if tag.startswith(tag_prefix) and tag.endswith(tag_suffix):
            points = acc.Scalars(tag)
            values += [p.value for p in points[-max(1, len(points) // 10) :]]
    return float(np.mean(values)) if values else float("nan")


def run_learner(env: str, overrides: list[str], seeds: int, budget: int, out: Path) -> list[dict]:
    """Per seed: final eval, first step at the threshold, late option length and beta."""
    rlrun(
        "-m", "agent=deep_option_critic", f"env={env}", *overrides,
        f"total_timesteps={budget}", f"seed=range({seeds})", "eval.every_steps=5000",
        "checkpoint.every_steps=null", "logger.progress=false",
        "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", f"hydra.sweep.dir={out}",
    )  # fmt: skip
    rows = []
    for cfg in sorted(out.glob("*/.hydra/config.yaml")):
        job = cfg.parents[1]
        summary = json.loads((job / "summary.json").read_text())
        reached = [s for s, _, r in summary["evaluations"] if r >= THRESHOLDS[env]]
        rows.append(
            {
                "seed": yaml.safe_load(cfg.read_text())["seed"],
                "final": summary["final_eval"]["mean_return"],
                "solved_at": reached[0] if reached else None,
                "option_length": late_mean(job, "charts/option_length"),
                "termination": late_mean(job, "options/", "/termination"),
                "wall_s": summary["wall_time_s"],
            }
        )
    return sorted(rows, key=lambda r: r["seed"])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--budget", type=int, default=100_000, help="env steps a run")
    p.add_argument("--envs", nargs="+", default=list(THRESHOLDS), choices=list(THRESHOLDS))
    args = p.parse_args()
    t0 = time.perf_counter()
    lines = [
        f"# Deep option-critic, {args.budget:,} steps a run, {args.seeds} seeds",
        "",
        "| env | learner | final eval per seed | mean | first eval >= threshold (steps) "
        "| option length (late) | beta (late) | wall s a run |",
        "|---|---|---|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for env in args.envs:
            for i, (label, overrides) in enumerate(LEARNERS.items()):
                rows = run_learner(env, overrides, args.seeds, args.budget, Path(tmp) / f"{env}{i}")
                finals = [r["final"] for r in rows]
                solved = ", ".join(
                    "-" if r["solved_at"] is None else f"{r['solved_at'] // 1000}k" for r in rows
                )
                lines.append(
                    f"| {env} (>= {THRESHOLDS[env]:g}) | {label} "
                    f"| {', '.join(f'{f:.1f}' for f in finals)} | {np.mean(finals):.1f} "
                    f"| {solved} | {np.mean([r['option_length'] for r in rows]):.1f} "
                    f"| {np.mean([r['termination'] for r in rows]):.2f} "
                    f"| {np.mean([r['wall_s'] for r in rows]):.0f} |"
                )
                print(lines[-1], flush=True)
    lines.append("")
    lines.append(f"total wall time {time.perf_counter() - t0:.0f} s (two jobs at a time)")
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"deep-option-critic-{time.strftime('%Y%m%d-%H%M%S')}.md"
    path.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
