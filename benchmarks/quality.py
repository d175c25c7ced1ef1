"""Learning quality of rlrun's tuned presets beside the RL Zoo's published scores.

    python benchmarks/quality.py trpo --seeds 0 1 2
    python benchmarks/quality.py trpo:pendulum ars:cartpole --seeds 0

Each (agent, env) pair runs its preset (conf/hyperparams/<agent>_<env>.yaml) at the preset's own
budget, which is the Zoo's, one rlrun process per run, one run at a time. An argument is an
agent (every pair in ZOO with that agent) or `agent:env`. The final deterministic evaluation (10
episodes, seed + 10000) is set beside the Zoo's benchmark.md score for that pair, with the wall
time of each run. Results: a markdown table on stdout and in benchmarks/results/quality-<time>.md,
the raw numbers in .json beside it, the run directories under benchmarks/results/quality-<time>/.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"

# RL Zoo benchmark.md @ 22e3ff2: (agent, rlrun env config) -> (env id there, mean, std, budget
# there). The Zoo's budget can differ from its hyperparams file's n_timesteps (it was measured
# with older files); rlrun's presets follow the hyperparams file. The Zoo's LunarLander-v2 ids are
# rlrun's LunarLander-v3 (lunarlander, and lunarlander_continuous with continuous=True). An agent
# alone selects all its pairs, which for a2c, ppo, sac, td3 and ddpg includes BipedalWalker
# (500k-5M steps) and for sac, td3, ddpg LunarLanderContinuous (and MountainCarContinuous for td3,
# ddpg) at 300k-500k steps, one update per step: tens of minutes to hours a run on 2 cores.
ZOO: dict[tuple[str, str], tuple[str, float, float, str]] = {
    ("trpo", "cartpole"): ("CartPole-v1", 500.0, 0.0, "100k"),
    ("trpo", "pendulum"): ("Pendulum-v1", -174.631, 127.577, "100k"),
    ("trpo", "acrobot"): ("Acrobot-v1", -83.114, 18.648, "100k"),
    ("trpo", "mountaincar"): ("MountainCar-v0", -107.278, 13.231, "100k"),
    ("trpo", "mountaincar_continuous"): ("MountainCarContinuous-v0", 92.489, 0.355, "50k"),
    ("trpo", "lunarlander"): ("LunarLander-v2", 133.166, 112.173, "200k"),
    ("trpo", "lunarlander_continuous"): ("LunarLanderContinuous-v2", 262.387, 21.428, "200k"),
    ("trpo", "bipedalwalker"): ("BipedalWalker-v3", 182.339, 145.570, "1M"),
    ("ars", "cartpole"): ("CartPole-v1", 500.0, 0.0, "50k"),
    ("ars", "pendulum"): ("Pendulum-v1", -212.540, 160.444, "2M"),
    ("ars", "acrobot"): ("Acrobot-v1", -82.884, 23.825, "500k"),
    ("ars", "mountaincar"): ("MountainCar-v0", -122.0, 33.456, "500k"),
    ("ars", "mountaincar_continuous"): ("MountainCarContinuous-v0", 96.672, 0.784, "500k"),
    ("ars", "lunarlander_continuous"): ("LunarLanderContinuous-v2", 167.959, 147.071, "2M"),
    ("ppo", "cartpole"): ("CartPole-v1", 500.0, 0.0, "100k"),
    ("ppo", "pendulum"): ("Pendulum-v1", -172.225, 104.159, "100k"),
    ("ppo", "acrobot"): ("Acrobot-v1", -73.506, 18.201, "1M"),
    ("ppo", "mountaincar"): ("MountainCar-v0", -110.423, 19.473, "1M"),
    ("ppo", "mountaincar_continuous"): ("MountainCarContinuous-v0", 88.343, 2.572, "20k"),
    ("ppo", "lunarlander"): ("LunarLander-v2", 242.119, 31.823, "1M"),
    ("ppo", "lunarlander_continuous"): ("LunarLanderContinuous-v2", 270.863, 32.072, "1M"),
    ("ppo", "bipedalwalker"): ("BipedalWalker-v3", 287.939, 2.448, "5M"),
    ("ppo", "minigrid_doorkey"): ("MiniGrid-DoorKey-5x5-v0", 0.964, 0.006, "100k"),
    ("a2c", "cartpole"): ("CartPole-v1", 500.0, 0.0, "500k"),
    ("a2c", "pendulum"): ("Pendulum-v1", -162.965, 103.210, "1M"),
    ("a2c", "acrobot"): ("Acrobot-v1", -83.353, 17.213, "500k"),
    ("a2c", "mountaincar"): ("MountainCar-v0", -111.263, 24.087, "1M"),
    ("a2c", "mountaincar_continuous"): ("MountainCarContinuous-v0", 91.166, 0.255, "100k"),
    ("a2c", "lunarlander"): ("LunarLander-v2", 155.751, 80.419, "200k"),
    ("a2c", "lunarlander_continuous"): ("LunarLanderContinuous-v2", 84.225, 145.906, "5M"),
    ("a2c", "bipedalwalker"): ("BipedalWalker-v3", 299.754, 23.459, "5M"),
    ("dqn", "cartpole"): ("CartPole-v1", 500.0, 0.0, "50k"),
    ("dqn", "acrobot"): ("Acrobot-v1", -76.639, 11.752, "100k"),
    ("dqn", "mountaincar"): ("MountainCar-v0", -100.849, 9.925, "120k"),
    ("dqn", "lunarlander"): ("LunarLander-v2", 154.382, 79.241, "100k"),
    ("sac", "pendulum"): ("Pendulum-v1", -156.995, 88.714, "20k"),
    ("sac", "mountaincar_continuous"): ("MountainCarContinuous-v0", 94.679, 1.134, "50k"),
    ("sac", "lunarlander_continuous"): ("LunarLanderContinuous-v2", 260.390, 65.467, "500k"),
    ("sac", "bipedalwalker"): ("BipedalWalker-v3", 297.668, 33.060, "500k"),
    ("td3", "pendulum"): ("Pendulum-v1", -151.855, 90.227, "20k"),
    ("td3", "mountaincar_continuous"): ("MountainCarContinuous-v0", 93.483, 0.075, "300k"),
    ("td3", "lunarlander_continuous"): ("LunarLanderContinuous-v2", 207.451, 67.562, "300k"),
    ("td3", "bipedalwalker"): ("BipedalWalker-v3", 305.990, 56.886, "1M"),
    ("ddpg", "pendulum"): ("Pendulum-v1", -152.099, 94.282, "20k"),
    ("ddpg", "mountaincar_continuous"): ("MountainCarContinuous-v0", 93.512, 0.048, "300k"),
    ("ddpg", "lunarlander_continuous"): ("LunarLanderContinuous-v2", 230.217, 92.372, "300k"),
    ("ddpg", "bipedalwalker"): ("BipedalWalker-v3", 197.486, 141.580, "1M"),
}


def pairs(args: list[str]) -> list[tuple[str, str]]:
    out = []
    for arg in args:
        agent, _, env = arg.partition(":")
        found = [p for p in ZOO if p[0] == agent and (not env or p[1] == env)]
        if not found:
            sys.exit(
                f"quality: no Zoo score for {arg}; known: {sorted(f'{a}:{e}' for a, e in ZOO)}"
            )
        out += found
    return out


def num(x: float) -> str:
    """Returns of hundreds to a tenth, MiniGrid's 0.96 to a thousandth."""
    return f"{x:.1f}" if abs(x) >= 10 else f"{x:.3f}"


def run(agent: str, env: str, seed: int, run_dir: Path) -> dict:
    script = Path(sys.executable).with_name("rlrun")
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "rlrun"]
    cmd += [f"agent={agent}", f"env={env}", f"seed={seed}", "logger.progress=false"]
    cmd += ["eval.episodes=10", f"hydra.run.dir={run_dir}"]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd="/")
    wall = time.perf_counter() - start
    summary = run_dir / "summary.json"
    if proc.returncode or not summary.exists():
        return {"error": (proc.stderr or proc.stdout).strip().splitlines()[-1:], "wall_s": wall}
    s = json.loads(summary.read_text())
    return {
        "final": s["final_eval"]["mean_return"],
        "best": s["best_eval_mean_return"],
        "steps": s["steps"],
        "wall_s": wall,
        "evaluations": s["evaluations"],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("pairs", nargs="+", help="agent, or agent:env")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out_dir = RESULTS / f"quality-{stamp}"
    rows = []
    for agent, env in pairs(args.pairs):
        for seed in args.seeds:
            print(f"quality: {agent} {env} seed {seed}", file=sys.stderr, flush=True)
            r = run(agent, env, seed, out_dir / f"{agent}_{env}" / f"seed{seed}")
            rows.append({"agent": agent, "env": env, "seed": seed, **r})
    lines = [
        f"# Learning quality at the Zoo's budgets ({stamp}, seeds {args.seeds})",
        "",
        "| agent | env | Zoo (benchmark.md @ 22e3ff2) | rlrun final eval per seed | mean | "
        "seeds >= Zoo mean - Zoo std | steps | wall s per run |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for agent, env in dict.fromkeys((r["agent"], r["env"]) for r in rows):
        mine = [r for r in rows if (r["agent"], r["env"]) == (agent, env)]
        ok = [r for r in mine if "error" not in r]
        env_id, mean, std, budget = ZOO[(agent, env)]
        finals = " / ".join(num(r["final"]) if "error" not in r else "error" for r in mine)
        within = sum(r["final"] >= mean - std for r in ok)
        avg = num(statistics.mean(r["final"] for r in ok)) if ok else "–"
        steps = f"{ok[0]['steps']:,}" if ok else "–"
        walls = " / ".join(f"{r['wall_s']:.0f}" for r in mine)
        lines.append(
            f"| {agent} | {env_id} | {num(mean)} +- {num(std)} at {budget} | {finals} | {avg} "
            f"| {within}/{len(mine)} | {steps} | {walls} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"quality-{stamp}.md").write_text(text)
    (RESULTS / f"quality-{stamp}.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
