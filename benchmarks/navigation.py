"""Navigation among obstacles (rlrun/Navigation-v0): held-out success of SAC and PPO, seed by seed.

    python benchmarks/navigation.py --agents sac ppo --seeds 0 1 2
    python benchmarks/navigation.py --agents sac --seeds 0 --stop-at 0.9 --max-minutes 20

Each run is `rlrun agent=<a> env=navigation seed=<s>` with its tuned preset
(conf/hyperparams/<a>_navigation.yaml), trained on the train layouts and evaluated every
`eval.every_steps` on held-out layouts (the env config's `eval.env_kwargs: {layouts: held_out}`).
Acceptance: held-out success >= 0.9 within 300k steps (SAC) and 1M steps (PPO) on every seed.
With `--stop-at X` a run stops at its first evaluation whose success rate reaches X (the runner's
on_eval seam, as a pruned search uses it): the step it got there is the number this benchmark
reports, and stopping there saves the rest of a slow budget; `--max-minutes M` stops a run at
its first evaluation after M minutes (its row then shows the steps it ran). The success rates
are read back from the run's TensorBoard events (eval/success_rate, eval/collision); runs go
one at a time, in this process, into benchmarks/results/navigation-<stamp>/, the table to
stdout and to benchmarks/results/navigation-<stamp>.md.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
BUDGETS = {"sac": 300_000, "ppo": 1_000_000}


def scalars(run_dir: Path, tag: str) -> list[tuple[int, float]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    acc.Reload()
    return [(e.step, e.value) for e in acc.Scalars(tag)] if tag in acc.Tags()["scalars"] else []


def run(
    out: Path,
    agent: str,
    seed: int,
    stop_at: float | None,
    max_minutes: float | None,
    extra: list[str],
) -> dict:
    """One training run, in-process through rlrun's own entry point; stopped at its first
    evaluation >= `stop_at` or after `max_minutes`."""
    from hydra import compose, initialize_config_module

    from rlrun.experiment import run as run_experiment

    overrides = [
        f"agent={agent}",
        "env=navigation",
        f"seed={seed}",
        f"total_timesteps={BUDGETS[agent]}",
        "logger.progress=false",
        "checkpoint.every_steps=null",
        *extra,
    ]
    with initialize_config_module("rlrun.conf", version_base="1.3"):
        cfg = compose("config", overrides=overrides)

    t0 = time.perf_counter()

    def on_eval(step: int, result) -> bool:
        rate = result.success_rate or 0.0
        print(f"  {agent} seed {seed} step {step}: held-out success {rate:.2f}", flush=True)
        late = max_minutes is not None and time.perf_counter() - t0 > 60 * max_minutes
        return late or (stop_at is not None and rate >= stop_at)

    run_experiment(cfg, out, on_eval=on_eval, overrides=overrides)
    wall = time.perf_counter() - t0
    summary = json.loads((out / "summary.json").read_text())
    return {
        "summary": summary,
        "success": scalars(out, "eval/success_rate"),
        "collision": scalars(out, "eval/collision"),
        "wall": wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--agents", nargs="+", choices=sorted(BUDGETS), default=["sac", "ppo"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--target", type=float, default=0.9)
    parser.add_argument("--stop-at", type=float, default=None, help="stop a run at this success")
    parser.add_argument("--max-minutes", type=float, default=None, help="stop a run after this")
    parser.add_argument("overrides", nargs="*", help="more rlrun overrides for every run")
    args = parser.parse_args()
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    stop = f", each run stopped at its first evaluation >= {args.stop_at}" if args.stop_at else ""
    if args.max_minutes:
        stop += f", or at the first evaluation after {args.max_minutes:g} minutes"
    lines = [
        f"rlrun/Navigation-v0 (conf/env/navigation.yaml{', ' if args.overrides else ''}"
        f"{' '.join(args.overrides)}): held-out success{stop}",
        "",
        f"| agent | seed | budget | first eval >= {args.target} (step) | best success "
        "| last eval: success / collision | steps run | wall s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for agent in args.agents:
        for seed in args.seeds:
            out = RESULTS / f"navigation-{stamp}" / f"{agent}-{seed}"
            r = run(out, agent, seed, args.stop_at, args.max_minutes, args.overrides)
            hits = [step for step, rate in r["success"] if rate >= args.target]
            best = max((rate for _, rate in r["success"]), default=float("nan"))
            last = r["success"][-1][1] if r["success"] else float("nan")
            crash = r["collision"][-1][1] if r["collision"] else float("nan")
            lines.append(
                f"| {agent} | {seed} | {BUDGETS[agent]:,} | {f'{hits[0]:,}' if hits else 'never'}"
                f" | {best:.2f} | {last:.2f} / {crash:.2f} | {r['summary']['steps']:,}"
                f" | {r['wall']:.0f} |"
            )
            print(lines[-1], flush=True)
            # after every run: a benchmark cut short still leaves the rows it finished
            (RESULTS / f"navigation-{stamp}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
