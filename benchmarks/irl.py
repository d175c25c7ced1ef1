"""Maximum-causal-entropy IRL on tabular envs with known dynamics: does the recovered reward
explain the expert, and does it teach a fresh agent what the expert knew?

    python benchmarks/irl.py [--seeds 3] [--envs frozenlake8x8 frozenlake cliffwalking taxi]

Per env and seed, through the real commands, in one run:

1. an expert: `rlrun agent=qlearning env=<e>` on the env's own reward;
2. `rlrun-demos <expert> episodes=N`: its deterministic episodes;
3. `rlrun agent=mce_irl demos=...` with the linear reward (MaxEnt IRL) and with a [64, 64] MLP
   (deep MaxEnt), each at its preset (3,000 gradient steps): the final L-inf gap between the
   soft-optimal policy's discounted state occupancy and the demonstrations' (`irl/occupancy_gap`,
   the mean over its last 100 updates), and that policy's eval return on the env's reward;
4. `rlrun agent=qlearning reward=<irl run>`, a fresh agent at the expert's budget that never sees
   the env's reward: its final eval return, normalised (return - random) / (expert - random),
   random being the uniform policy's mean return over 1,000 episodes.

Acceptance (the `imitation` library's test bar): occupancy within 1e-3 of the expert's, and a
normalised score of at least 0.8, on the deterministic gridworlds (CliffWalking and FrozenLake
8x8 with is_slippery=false). The demonstrations of a deterministic expert from a fixed start are
its exact occupancy; Taxi's random starts make its 50 episodes a sample of it. Writes a markdown
table to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import gymnasium as gym
from sutton_barto_ch08 import rlrun

RESULTS = Path(__file__).parent / "results"
# name -> (overrides, expert budget, demo episodes, gym id, kwargs, time limit)
ENVS = {
    "frozenlake8x8": (
        ["env=frozenlake8x8", "env.kwargs.is_slippery=false"], 200_000, 10,
        "FrozenLake8x8-v1", {"is_slippery": False}, 200,
    ),
    "frozenlake": (
        ["env=frozenlake", "env.kwargs.is_slippery=false"], 50_000, 10,
        "FrozenLake-v1", {"is_slippery": False}, 100,
    ),
    "cliffwalking": (["env=cliffwalking"], 20_000, 10, "CliffWalking-v1", {}, 500),
    "taxi": (["env=taxi"], 300_000, 50, "Taxi-v4", {}, 200),
}  # fmt: skip
QUIET = ["logger.progress=false"]


def summary(run: Path) -> dict:
    return json.loads((run / "summary.json").read_text())


def final_eval(run: Path) -> float:
    return float(summary(run)["final_eval"]["mean_return"])


def last_scalar(run: Path, tag: str) -> float:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run), size_guidance={"scalars": 0})
    acc.Reload()
    return acc.Scalars(tag)[-1].value


def random_return(env_id: str, kwargs: dict, limit: int, episodes: int = 1000) -> float:
    env = gym.make(env_id, max_episode_steps=limit, **kwargs)
    env.action_space.seed(0)
    total = 0.0
    for i in range(episodes):
        env.reset(seed=i)
        done = False
        while not done:
            _, reward, terminated, truncated, _ = env.step(env.action_space.sample())
            total += float(reward)
            done = terminated or truncated
    return total / episodes


def pipeline(name: str, seed: int, out: Path) -> dict[str, float]:
    overrides, budget, episodes, *_ = ENVS[name]
    expert = out / "expert"
    rlrun("agent=qlearning", *overrides, *QUIET, f"seed={seed}", f"total_timesteps={budget}",
          f"hydra.run.dir={expert}")  # fmt: skip
    demos = subprocess.run(
        [str(Path(sys.executable).with_name("rlrun-demos")), str(expert), f"episodes={episodes}"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    print(f"  {demos.stdout.strip()}", flush=True)
    row = {"expert": final_eval(expert)}
    for label, extra in (("linear", []), ("deep", ["agent.net_arch=[64,64]"])):
        irl = out / label
        row[f"{label}_s"] = rlrun(
            "agent=mce_irl", *overrides, *QUIET, *extra, f"seed={seed}",
            f"demos={expert / 'demos.npz'}", f"hydra.run.dir={irl}",
        )  # fmt: skip
        row[f"{label}_gap"] = last_scalar(irl, "irl/occupancy_gap")
        row[f"{label}_policy"] = final_eval(irl)
        fresh = out / f"fresh_{label}"
        rlrun("agent=qlearning", *overrides, *QUIET, f"seed={seed + 100}", "agent.gamma=0.99",
              f"total_timesteps={budget}", f"reward={irl}", f"hydra.run.dir={fresh}")  # fmt: skip
        row[f"{label}_fresh"] = final_eval(fresh)
    return row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--envs", nargs="+", default=list(ENVS), choices=list(ENVS))
    args = p.parse_args()
    t0 = time.perf_counter()
    lines = [
        f"# MCE IRL: occupancy match, and a fresh agent on the recovered reward ({args.seeds} "
        "seeds)",
        "",
        "| env | seed | expert return | random | reward | occupancy gap (L-inf) | IRL policy "
        "return | fresh Q-learning return | normalised | IRL wall s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.envs:
            _, _, _, env_id, kwargs, limit = ENVS[name]
            rand = random_return(env_id, kwargs, limit)
            for seed in range(args.seeds):
                print(f"{name} seed {seed}", flush=True)
                row = pipeline(name, seed, Path(tmp) / name / str(seed))
                for label in ("linear", "deep"):
                    score = (row[f"{label}_fresh"] - rand) / (row["expert"] - rand)
                    lines.append(
                        f"| {name} | {seed} | {row['expert']:.3f} | {rand:.3f} | {label} | "
                        f"{row[f'{label}_gap']:.1e} | {row[f'{label}_policy']:.3f} | "
                        f"{row[f'{label}_fresh']:.3f} | {score:.2f} | {row[f'{label}_s']:.1f} |"
                    )
                    print(lines[-1], flush=True)
    lines.insert(1, f"\n{time.perf_counter() - t0:.0f} s in all.")
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"irl-{time.strftime('%Y%m%d-%H%M%S')}.md"
    path.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
