"""Cooperative multi-agent tasks: rlrun's learners against a uniform-random and a scripted team.

    python benchmarks/team_games.py simple_spread --seeds 0 1 2 [--steps N] [--jobs 2]
    python benchmarks/team_games.py grid_hunt --seeds 0 1 2 [--variants ppo-shared dqn]

Each learner runs through rlrun (`rlrun agent=<a> env=<task>` with the task's preset, and
`agent.share_parameters=true` for the shared variants); `--steps` counts env steps (each moves
every agent once). The baselines play 100 episodes of the same env:

- simple_spread (MPE, N = 3, 25 steps, discrete): uniform random moves; scripted, every agent
  computes from its own observation (landmarks' and the other agents' positions relative to it)
  the assignment of agents to landmarks with the least total distance (all 3! tried) and steers
  to its landmark with a damped proportional controller (braking against its own velocity);
- grid_hunt (rlrun/envs/grid_hunt.py, 7 x 7, 2 hunters, 2 prey, catch = 2): uniform random
  moves; scripted, each hunter, seeing the whole grid, steps along the longer axis towards the
  prey nearest to it (so both hunters close in on the same prey and corner it).

Passing means the learner's final mean team return (deterministic evaluation) closes at least
half of the gap from random to scripted, on every seed. Writes a markdown table, the runs as
JSON and the learning curves beside the two baselines (PNG) to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rlrun.envs.multiagent import ParallelVectorEnv, parallel_env_factory

RESULTS = Path(__file__).parent / "results"
Policy = Callable[[ParallelVectorEnv, dict[str, np.ndarray]], dict[str, np.ndarray]]


def spread_action(obs: np.ndarray, n: int = 3) -> int:
    """One simple_spread agent's move from its observation [vel 2, pos 2, landmarks 2n,
    others 2(n-1), comm]."""
    moves = np.array([[0, 0], [-1, 0], [1, 0], [0, -1], [0, 1]], dtype=float)  # none, -x, +x..
    vel = obs[0:2]
    landmarks = obs[4 : 4 + 2 * n].reshape(n, 2)  # relative to this agent
    others = obs[4 + 2 * n : 4 + 2 * n + 2 * (n - 1)].reshape(n - 1, 2)
    agents = np.vstack([np.zeros(2), others])  # this agent first
    dist = np.linalg.norm(agents[:, None, :] - landmarks[None, :, :], axis=2)  # [agent, landmark]
    permutations = np.array(list(itertools.permutations(range(n))))
    costs = dist[np.arange(n), permutations].sum(axis=1)
    target = landmarks[permutations[np.argmin(costs)][0]]
    steer = target - 0.25 * vel  # brake against the velocity: MPE damps but overshoots
    if np.linalg.norm(steer) < 0.02:
        return 0
    return int(np.argmax(moves @ steer))


def spread_scripted(env: ParallelVectorEnv, obs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {a: np.array([spread_action(o) for o in obs[a]]) for a in env.agents}


def hunt_action(hunter: np.ndarray, prey: np.ndarray) -> int:
    """A step (stay, up, down, left, right) along the longer axis towards the nearest prey."""
    if len(prey) == 0:
        return 0
    dr, dc = prey[np.argmin(np.abs(prey - hunter).sum(axis=1))] - hunter
    if dr == dc == 0:
        return 0
    if abs(dr) >= abs(dc):
        return 2 if dr > 0 else 1
    return 4 if dc > 0 else 3


def hunt_scripted(env: ParallelVectorEnv, obs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {
        a: np.array([hunt_action(copy.hunters[k], copy.prey) for copy in env.envs])
        for k, a in enumerate(env.agents)
    }


@dataclass(frozen=True)
class Task:
    env_id: str
    kwargs: dict
    agents: int
    moves: int
    scripted: Policy
    scripted_label: str
    steps: int  # env steps of each learner's run, as its preset says
    variants: dict[str, list[str]]  # name -> rlrun overrides
    title: str


PPO_SHARED = ["agent=ppo", "agent.share_parameters=true"]
TASKS = {
    "simple_spread": Task(
        "mpe2.simple_spread_v3",
        {"N": 3, "max_cycles": 25, "continuous_actions": False},
        3,
        5,
        spread_scripted,
        "scripted assignment",
        666_667,
        # the preset's batch of 800 is the shared learner's; independent ones take 400
        {"ppo-shared": PPO_SHARED, "ppo": ["agent=ppo", "agent.batch_size=400"]},
        "MPE simple_spread, N = 3, 25 steps",
    ),
    "grid_hunt": Task(
        "rlrun.envs.grid_hunt:GridHunt",
        {},  # the env config's defaults are the class's
        2,
        5,
        hunt_scripted,
        "scripted nearest-prey chase",
        150_000,
        {"ppo-shared": PPO_SHARED, "ppo": ["agent=ppo"], "dqn": ["agent=dqn"]},
        "grid_hunt, 7 x 7, 2 hunters corner 2 prey (catch = 2)",
    ),
}


def baseline(task: Task, policy: str, episodes: int, seed: int) -> float:
    """Mean team return (the mean of the agents' episode returns) of a baseline team."""
    env = ParallelVectorEnv(parallel_env_factory(task.env_id, task.kwargs), 10)
    rng = np.random.default_rng(seed)
    obs, _ = env.reset(seed=seed)
    returns: list[float] = []
    while len(returns) < episodes:
        if policy == "random":
            actions = {a: rng.integers(0, task.moves, env.num_envs) for a in env.agents}
        else:
            actions = task.scripted(env, obs)
        j = env.step(actions)
        obs = j.obs
        returns.extend(float(j.returns[i].mean()) for i in np.flatnonzero(j.ended))
    return float(np.mean(returns[:episodes]))


def train(name: str, variant: str, seed: int, steps: int, extra: list[str], out: Path) -> dict:
    """One rlrun run; its evaluations and final result."""
    run_dir = out / f"{variant}-{seed}"
    cmd = [
        *(sys.executable, "-m", "rlrun", f"env={name}", f"seed={seed}"),
        *TASKS[name].variants[variant],
        f"total_timesteps={steps}",
        *extra,
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


def plot(task: Task, runs: list[dict], random: float, scripted: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    colors = dict(zip(task.variants, ("tab:blue", "tab:orange", "tab:purple"), strict=False))
    first = min(r["seed"] for r in runs)
    for run in runs:
        steps, values = zip(*run["evaluations"], strict=True)
        label = run["variant"] if run["seed"] == first else None
        ax.plot(np.array(steps) * task.agents, values, color=colors[run["variant"]], label=label)
    ax.axhline(random, color="grey", ls="--", label="uniform random")
    ax.axhline(scripted, color="green", ls="--", label=task.scripted_label)
    ax.axhline((random + scripted) / 2, color="black", ls=":", label="half the gap (target)")
    ax.set_xlabel("agent-steps")
    ax.set_ylabel("team return (mean over agents, eval)")
    ax.set_title(task.title)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("task", choices=sorted(TASKS))
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--steps", type=int, help="env steps a run (default: the preset's)")
    p.add_argument("--variants", nargs="+", help="default: all of the task's")
    p.add_argument("--jobs", type=int, default=2, help="runs at a time")
    p.add_argument("--baselines-only", action="store_true")
    p.add_argument("overrides", nargs="*", help="more rlrun overrides for every run")
    args = p.parse_args()
    task = TASKS[args.task]
    steps = args.steps or task.steps
    random, scripted = (baseline(task, policy, 100, 1234) for policy in ("random", "scripted"))
    target = (random + scripted) / 2
    print(f"uniform random {random:.2f}, scripted {scripted:.2f}, target {target:.2f}", flush=True)
    if args.baselines_only:
        return
    stamp = time.strftime("%Y%m%d-%H%M%S")
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(args.jobs) as pool:
        jobs = [(v, s) for v in args.variants or task.variants for s in args.seeds]
        runs = list(
            pool.map(lambda j: train(args.task, *j, steps, args.overrides, Path(tmp)), jobs)
        )
    rows = [
        f"| {r['variant']} | {r['seed']} | {r['final']:.3f} | "
        f"{(r['final'] - random) / (scripted - random):.2f} | "
        f"{'yes' if r['final'] >= target else 'no'} | {r['wall_s']:.0f} s |"
        for r in runs
    ]
    lines = [
        f"# {task.title}: {steps * task.agents:,} agent-steps",
        "",
        f"`{' '.join(sys.argv)}`",
        "",
        f"uniform random {random:.3f}, {task.scripted_label} {scripted:.3f}; target (half the "
        f"gap) {target:.3f}. Team return = mean over the {task.agents} agents' episode returns.",
        "",
        "| learner | seed | final team return | share of the gap closed | passes | wall |",
        "|---|---|---|---|---|---|",
        *rows,
    ]
    RESULTS.mkdir(exist_ok=True)
    base = RESULTS / f"{args.task.replace('_', '-')}-{stamp}"
    base.with_suffix(".md").write_text("\n".join(lines) + "\n")
    base.with_suffix(".json").write_text(
        json.dumps({"random": random, "scripted": scripted, "runs": runs}, indent=1)
    )
    plot(task, runs, random, scripted, base.with_suffix(".png"))
    print("\n".join(lines))
    print(f"wrote {base}.md/.json/.png")


if __name__ == "__main__":
    main()
