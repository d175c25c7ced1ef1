"""Out-of-sample trading: PPO against buy-and-hold and a moving-average crossover.

    python benchmarks/trading.py --seeds 0 1 2
    python benchmarks/trading.py --seeds 0 --overrides total_timesteps=100000

Each seed trains `rlrun agent=ppo env=trading` (its preset, conf/hyperparams/ppo_trading.yaml) on
the shipped synthetic history's train dates; its final deterministic evaluation runs on the test
dates only (the env config's `eval.env_kwargs: {split: test}`), where the env also scores the two
baselines over the same windows and costs. One run at a time. Results: a markdown table on
stdout and in benchmarks/results/trading-<time>.md, the run directories beside it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
METRICS = ("sharpe", "buy_and_hold_sharpe", "ma_crossover_sharpe", "max_drawdown", "trades")


def run(seed: int, run_dir: Path, overrides: list[str]) -> dict:
    script = Path(sys.executable).with_name("rlrun")
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "rlrun"]
    cmd += ["agent=ppo", "env=trading", f"seed={seed}", "logger.progress=false"]
    cmd += ["eval.episodes=50", f"hydra.run.dir={run_dir}", *overrides]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd="/")
    wall = time.perf_counter() - start
    summary = run_dir / "summary.json"
    if proc.returncode or not summary.exists():
        sys.exit(f"trading: seed {seed} failed: {(proc.stderr or proc.stdout).strip()[-300:]}")
    final = json.loads(summary.read_text())["final_eval"]
    return {"seed": seed, "wall_s": wall, **{k: final["metrics"][k] for k in METRICS}}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--overrides", nargs="*", default=[], help="extra rlrun overrides")
    args = parser.parse_args()
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    rows = [run(s, RESULTS / f"trading-{stamp}" / f"seed{s}", args.overrides) for s in args.seeds]
    beats = sum(r["sharpe"] > max(r["buy_and_hold_sharpe"], r["ma_crossover_sharpe"]) for r in rows)
    lines = [
        f"# PPO on rlrun/Trading-v0, test dates only ({stamp}; overrides {args.overrides})",
        "",
        "| seed | PPO Sharpe | buy-and-hold Sharpe | MA-crossover Sharpe | PPO max drawdown | "
        "PPO trades per episode | wall s |",
        "|---|---|---|---|---|---|---|",
        *(
            f"| {r['seed']} | {r['sharpe']:.2f} | {r['buy_and_hold_sharpe']:.2f} | "
            f"{r['ma_crossover_sharpe']:.2f} | {r['max_drawdown']:.3f} | {r['trades']:.1f} | "
            f"{r['wall_s']:.0f} |"
            for r in rows
        ),
        "",
        f"PPO's Sharpe above both baselines' on {beats}/{len(rows)} seeds (50 test-split "
        "episodes, the same windows for all three).",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"trading-{stamp}.md").write_text(text)


if __name__ == "__main__":
    main()
