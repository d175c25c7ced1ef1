"""`rlrun-demos <run_dir> episodes=N`: record a trained agent's episodes as demonstrations
(rlrun/demos.py's format) for a learner that takes `demos=<file>`.

    rlrun-demos outputs/2026-12-04/10-00-00_qlearning_frozenlake8x8 episodes=50
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rlrun.demos import Demos, save_demos
from rlrun.errors import RlrunError
from rlrun.eval_cli import (
    check_episodes,
    checkpoint_path,
    parse_key_values,
    restored_agent,
    run_config,
)

if TYPE_CHECKING:
    import gymnasium as gym

    from rlrun.agents.base import Agent

USAGE = (
    "usage: rlrun-demos <run_dir> [episodes=10] [checkpoint=best|last|<file>] [seed=<int>] "
    "[explore=false] [out=<run_dir>/demos.npz] [device=cpu]"
)


@dataclass
class DemosArgs:
    run_dir: Path
    episodes: int = 10
    checkpoint: str = "best"  # best falls back to last when the run saved no best.pt
    seed: int | None = None  # default: the run's eval seed
    explore: bool = False  # true: the agent's training behaviour (e.g. epsilon-greedy)
    out: str | None = None  # default: <run_dir>/demos.npz
    device: str = "cpu"


def record(
    agent: Agent, env: gym.vector.VectorEnv, episodes: int, seed: int, explore: bool
) -> Demos:
    """`episodes` whole episodes of `agent` on the one-env vector env `env`, reset with `seed`
    once and then running on (so each episode starts from the env's next initial state)."""
    from rlrun.envs.vector import finished, true_next_obs

    rows: dict[str, list[np.ndarray]] = {k: [] for k in ("obs", "actions", "rewards", "next_obs")}
    ends: dict[str, list[bool]] = {"terminated": [], "truncated": []}
    obs, _ = env.reset(seed=seed)
    agent.end_episodes(np.ones(1, dtype=bool))
    done_episodes = 0
    while done_episodes < episodes:
        action = agent.act(obs, explore=explore)
        next_obs, reward, terminated, truncated, infos = env.step(action)
        for key, value in zip(
            rows, (obs, action, reward, true_next_obs(next_obs, infos)), strict=True
        ):
            rows[key].append(np.asarray(value)[0])
        ends["terminated"].append(bool(terminated[0]))
        ends["truncated"].append(bool(truncated[0]) and not terminated[0])
        obs = next_obs
        done = finished(infos)
        if done is not None:
            agent.end_episodes(done.envs)
            done_episodes += int(done.envs[0])
    return Demos(
        obs=np.stack(rows["obs"]),
        actions=np.stack(rows["actions"]),
        rewards=np.asarray(rows["rewards"], dtype=np.float64),
        next_obs=np.stack(rows["next_obs"]),
        terminated=np.asarray(ends["terminated"]),
        truncated=np.asarray(ends["truncated"]),
    )


def record_run(args: DemosArgs) -> tuple[Path, Demos]:
    import torch

    from rlrun import checkpoint
    from rlrun.envs.vector import make_vec_env
    from rlrun.runtime import resolve_device

    rc = run_config(args.run_dir)
    if rc.multiagent:
        raise RlrunError(f"{args.run_dir}: a multi-agent run; rlrun-demos records one agent")
    torch.set_num_threads(rc.torch_threads)
    device = resolve_device(args.device)
    path = checkpoint_path(args.run_dir, args.checkpoint)
    if not path.is_file():
        raise RlrunError(f"checkpoint: {path} does not exist; use checkpoint=best, last or a .pt")
    ckpt = checkpoint.load(path, device)
    agent = restored_agent(rc, ckpt, device)
    seed = args.seed if args.seed is not None else rc.eval_seed
    demos = record(agent, make_vec_env(rc.eval_env, 1), args.episodes, seed, args.explore)
    demos.meta = {
        "env_id": rc.env.id,
        "env_kwargs": rc.eval_env.kwargs,
        "agent": rc.agent.name,
        "run_dir": str(args.run_dir),
        "checkpoint": str(path),
        "step": ckpt["step"],
        "seed": seed,
        "explore": args.explore,
        "episodes": demos.episodes,
        "mean_return": float(demos.returns().mean()),
    }
    out = Path(args.out) if args.out is not None else args.run_dir / "demos.npz"
    return save_demos(out, demos), demos


def main(argv: list[str] | None = None) -> None:
    try:
        args = parse_key_values(sys.argv[1:] if argv is None else argv, DemosArgs, USAGE)
        check_episodes(args.episodes)
        path, demos = record_run(args)
    except RlrunError as e:
        print(f"rlrun-demos: error: {e}", file=sys.stderr)
        sys.exit(2)
    returns = demos.returns()
    print(
        f"{path}: {demos.episodes} episodes, {len(demos.rewards)} steps, "
        f"return {returns.mean():.3f} +- {returns.std():.3f}"
    )


if __name__ == "__main__":
    main()
