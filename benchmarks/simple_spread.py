"""MPE simple_spread (N = 3, 25 steps): shared-parameter and independent PPO against a uniform-
random policy and a scripted one, at 2M agent-steps.

    python benchmarks/simple_spread.py --seeds 0 1 2 [--steps 666667] [--jobs 2]

The learners run through rlrun (`rlrun agent=ppo env=simple_spread` with the preset
conf/hyperparams/ppo_simple_spread.yaml, and `agent.share_parameters=true`); `--steps` env steps
are 3x as many agent-steps. The baselines run on the same env, 100 episodes each:

- uniform random: each agent a uniformly random move every step;
- scripted: every agent computes, from its own observation (landmarks' and the other agents'
  positions relative to it), the assignment of agents to landmarks with the least total
  distance (all 3! of them tried), and steers to its landmark with a damped proportional
  controller (it brakes against its own velocity) through the five discrete moves.

Passing means the learner's final mean team return (deterministic evaluation, 100 episodes)
closes at least half of the gap from random to scripted, on every seed. Writes a markdown
table and the learning curves beside the two baselines (PNG) to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from rlrun.envs.multiagent import ParallelVectorEnv, parallel_env_factory

RESULTS = Path(__file__).parent / "results"
ENV_ID, KWARGS = "mpe2.simple_spread_v3", {"N": 3, "max_cycles": 25, "continuous_actions": False}
N = 3
# MPE's discrete moves: 0 none, 1 -x, 2 +x, 3 -y, 4 +y
MOVES = np.array([[0, 0], [-1, 0], [1, 0], [0, -1], [0, 1]], dtype=float)
PERMUTATIONS = np.array(list(itertools.permutations(range(N))))


def scripted_action(obs: np.ndarray) -> int:
    """One agent's move from its observation [vel 2, pos 2, landmarks 2N, others 2(N-1), comm]."""
    vel = obs[0:2]
    landmarks = obs[4 : 4 + 2 * N].reshape(N, 2)  # relative to this agent
    others = obs[4 + 2 * N : 4 + 2 * N + 2 * (N - 1)].reshape(N - 1, 2)
    agents = np.vstack([np.zeros(2), others])  # this agent first
    dist = np.linalg.norm(agents[:, None, :] - landmarks[None, :, :], axis=2)  # [agent, landmark]
    costs = dist[np.arange(N), PERMUTATIONS].sum(axis=1)
    target = landmarks[PERMUTATIONS[np.argmin(costs)][0]]
    steer = target - 0.25 * vel  # brake against the velocity: MPE damps but overshoots
    if np.linalg.norm(steer) < 0.02:
        return 0
    return int(np.argmax(MOVES @ steer))


def baseline(policy: str, episodes: int, seed: int) -> float:
    """Mean team return (the mean of the agents' episode returns) of a baseline policy."""
    env = ParallelVectorEnv(parallel_env_factory(ENV_ID, KWARGS), 10)
    rng = np.random.default_rng(seed)
    obs, _ = env.reset(seed=seed)
    returns: list[float] = []
    while len(returns) < episodes:
        if policy == "random":
            actions = {a: rng.integers(0, 5, env.num_envs) for a in env.agents}
        else:
            actions = {a: np.array([scripted_action(o) for o in obs[a]]) for a in env.agents}
        j = env.step(actions)
        obs = j.obs
        returns.extend(float(j.returns[i].mean()) for i in np.flatnonzero(j.ended))
    return float(np.mean(returns[:episodes]))


def train(variant: str, seed: int, steps: int, out: Path) -> dict:
    """One rlrun run; its evaluations and final result."""
    run_dir = out / f"{variant}-{seed}"
    cmd = [
        sys.executable,
        "-m",
        "rlrun",
        "agent=ppo",
        "env=simple_spread",
        f"seed={seed}",
        f"total_timesteps={steps}",
        f"agent.share_parameters={'true' if variant == 'shared' else 'false'}",
        "logger.progress=false",
        f"hydra.run.dir={run_dir}",
    ]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    summary = json.loads((run_dir / "summary.json").read_text())
    return {
        "variant": variant,
        "seed": seed,
        "final": summary["objective"],
        "evaluations": [(s, r) for s, _, r in summary["evaluations"]],
        "wall_s": time.perf_counter() - t0,
        "sps": summary["sps"],
    }


def plot(runs: list[dict], random: float, scripted: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    colors = {"shared": "tab:blue", "independent": "tab:orange"}
    for run in runs:
        steps, values = zip(*run["evaluations"], strict=True)
        label = f"PPO {run['variant']}" if run["seed"] == min(r["seed"] for r in runs) else None
        ax.plot(np.array(steps) * N, values, color=colors[run["variant"]], alpha=0.8, label=label)
    ax.axhline(random, color="grey", ls="--", label="uniform random")
    ax.axhline(scripted, color="green", ls="--", label="scripted assignment")
    ax.axhline((random + scripted) / 2, color="black", ls=":", label="half the gap (target)")
    ax.set_xlabel("agent-steps")
    ax.set_ylabel("team return (mean over agents, eval)")
    ax.set_title("MPE simple_spread, N = 3, 25 steps")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--steps", type=int, default=666_667, help="env steps (x3 agent-steps)")
    p.add_argument("--variants", nargs="+", default=["shared", "independent"])
    p.add_argument("--jobs", type=int, default=2, help="runs at a time")
    p.add_argument("--baselines-only", action="store_true")
    args = p.parse_args()
    random, scripted = baseline("random", 100, 1234), baseline("scripted", 100, 1234)
    target = (random + scripted) / 2
    print(f"uniform random {random:.2f}, scripted {scripted:.2f}, target {target:.2f}", flush=True)
    if args.baselines_only:
        return
    stamp = time.strftime("%Y%m%d-%H%M%S")
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(args.jobs) as pool:
        jobs = [(v, s) for v in args.variants for s in args.seeds]
        runs = list(pool.map(lambda job: train(*job, args.steps, Path(tmp)), jobs))
    rows = [
        f"| PPO {r['variant']} | {r['seed']} | {r['final']:.2f} | "
        f"{(r['final'] - random) / (scripted - random):.2f} | "
        f"{'yes' if r['final'] >= target else 'no'} | {r['wall_s']:.0f} s |"
        for r in runs
    ]
    lines = [
        f"# simple_spread (N=3, 25 steps), {args.steps * N:,} agent-steps",
        "",
        f"uniform random {random:.2f}, scripted assignment {scripted:.2f}; target (half the gap) "
        f"{target:.2f}. Team return = mean over the 3 agents of their episode returns.",
        "",
        "| learner | seed | final team return | share of the gap closed | passes | wall |",
        "|---|---|---|---|---|---|",
        *rows,
    ]
    RESULTS.mkdir(exist_ok=True)
    base = RESULTS / f"simple-spread-{stamp}"
    base.with_suffix(".md").write_text("\n".join(lines) + "\n")
    base.with_suffix(".json").write_text(
        json.dumps({"random": random, "scripted": scripted, "runs": runs}, indent=1)
    )
    plot(runs, random, scripted, base.with_suffix(".png"))
    print("\n".join(lines))
    print(f"wrote {base}.md/.json/.png")


if __name__ == "__main__":
    main()
