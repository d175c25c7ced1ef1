"""`rlrun-eval <run_dir> [key=value ...]`: load a run's best (or last) checkpoint with the run's own
config, play deterministic episodes, print their statistics and write a video of one.

    rlrun-eval outputs/2026-11-24/10-00-00_dqn_cartpole episodes=20 video=true
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from omegaconf import DictConfig, OmegaConf

from rlrun.config.run import VIDEO_FORMATS, RunConfig
from rlrun.errors import RlrunError
from rlrun.validate import validate

if TYPE_CHECKING:
    from rlrun.agents.base import Agent
    from rlrun.agents.team import Team
    from rlrun.runners.base import EvalResult

USAGE = (
    "usage: rlrun-eval <run_dir> [checkpoint=best|last|<file>] [episodes=10] [seed=<int>] "
    "[video=false] [video_format=gif|mp4] [device=cpu]"
)


@dataclass
class EvalArgs:
    run_dir: Path
    checkpoint: str = "best"  # best falls back to last when the run saved no best.pt
    episodes: int = 10
    seed: int | None = None  # default: the run's eval seed
    video: bool = False
    video_format: str = "gif"
    device: str = "cpu"


A = TypeVar("A")


def parse_key_values(argv: list[str], cls: type[A], usage: str) -> A:
    """`<run_dir> key=value ...` into the dataclass `cls` (a `run_dir` field and defaults for the
    rest), each value converted to its field's type (int, bool or str)."""
    if not argv or argv[0] in ("-h", "--help"):
        raise RlrunError(usage)
    args = cls(run_dir=Path(argv[0]))  # type: ignore[call-arg]
    types = {f.name: str(f.type) for f in fields(cls) if f.name != "run_dir"}  # type: ignore[arg-type]
    for item in argv[1:]:
        key, sep, value = item.partition("=")
        if not sep or key not in types:
            raise RlrunError(f"{item}: expected one of {', '.join(f'{k}=' for k in types)}")
        try:
            if types[key].startswith("int"):
                parsed: object = int(value)
            elif types[key] == "bool":
                if value.lower() not in ("true", "false"):
                    raise ValueError
                parsed = value.lower() == "true"
            else:
                parsed = value
        except ValueError:
            raise RlrunError(f"{key}: cannot use {value!r}; {usage}") from None
        setattr(args, key, parsed)
    return args


def check_episodes(episodes: int) -> None:
    if episodes < 1:
        raise RlrunError(f"episodes: got {episodes}; use 1 or more")


def parse_args(argv: list[str]) -> EvalArgs:
    args = parse_key_values(argv, EvalArgs, USAGE)
    check_episodes(args.episodes)
    if args.video_format not in VIDEO_FORMATS:
        raise RlrunError(f"video_format: got {args.video_format!r}; use gif or mp4")
    return args


def checkpoint_path(run_dir: Path, which: str) -> Path:
    directory = run_dir / "checkpoints"
    if which == "best":
        return directory / "best.pt" if (directory / "best.pt").exists() else directory / "last.pt"
    if which == "last":
        return directory / "last.pt"
    return Path(which)


def run_config(run_dir: Path) -> RunConfig:
    """The run's own config, as it was last run (a resumed run's is under .hydra/resume/)."""
    for path in (
        run_dir / ".hydra" / "resume" / "config.yaml",
        run_dir / ".hydra" / "config.yaml",
    ):
        if path.exists():
            cfg = OmegaConf.load(path)
            if not isinstance(cfg, DictConfig):
                break
            return validate(cfg)
    raise RlrunError(f"{run_dir}: not an rlrun run directory (no .hydra/config.yaml)")


def evaluate_run(args: EvalArgs) -> dict:
    import torch

    from rlrun import checkpoint
    from rlrun.envs.vector import make_vec_env
    from rlrun.runners.base import evaluate
    from rlrun.runtime import resolve_device
    from rlrun.video import record_episode, write_video

    rc = run_config(args.run_dir)
    torch.set_num_threads(rc.torch_threads)
    device = resolve_device(args.device)
    path = checkpoint_path(args.run_dir, args.checkpoint)
    ckpt = checkpoint.load(path, device)
    seed = args.seed if args.seed is not None else rc.eval_seed
    agent: Agent | Team
    if rc.multiagent:
        agent, ev = evaluate_team_run(rc, ckpt, seed, args.episodes, device)
    else:
        agent = restored_agent(rc, ckpt, device)
        eval_env = make_vec_env(rc.eval_env, min(rc.eval.num_envs, args.episodes))
        ev = evaluate(agent, eval_env, args.episodes, seed, rc.eval_env)
    out = {"checkpoint": str(path), "step": ckpt["step"], **vars(ev)}
    if args.video:
        frames, ret = record_episode(agent, rc.eval_env, seed, rc.video.max_frames)
        name = f"eval_{path.stem}_step_{ckpt['step']}.{args.video_format}"
        out["video"] = str(write_video(args.run_dir / "videos" / name, frames, rc.video.fps))
        out["video_return"] = ret
    return out


def restored_agent(rc: RunConfig, ckpt: dict, device: Any) -> Agent:
    """A single-agent run's agent as its checkpoint `ckpt` holds it."""
    from rlrun import checkpoint
    from rlrun.runners.online import make_env_and_agent

    _, agent = make_env_and_agent(rc, device)
    checkpoint.restore_agent(agent, ckpt["agent"], None)
    return agent


def print_table(out: dict) -> None:
    rows = [
        ("checkpoint", f"{out['checkpoint']} (step {out['step']:,})"),
        ("episodes", str(out["episodes"])),
        ("mean return", f"{out['mean_return']:.3f}"),
        ("std return", f"{out['std_return']:.3f}"),
        ("mean length", f"{out['mean_length']:.1f}"),
    ]
    if out["success_rate"] is not None:
        rows.append(("success rate", f"{out['success_rate']:.3f}"))
    rows.extend((key, f"{value:.3f}") for key, value in out["metrics"].items())
    if "video" in out:
        rows.append(("video", f"{out['video']} (return {out['video_return']:.3f})"))
    width = max(len(k) for k, _ in rows)
    print("\n".join(f"  {k:<{width}}  {v}" for k, v in rows))


def evaluate_team_run(
    rc: RunConfig, ckpt: dict, seed: int, episodes: int, device: Any
) -> tuple[Team, EvalResult]:
    """A multi-agent run's checkpointed learners, evaluated as its runner evaluates them."""
    from rlrun import checkpoint
    from rlrun.agents.team import make_team
    from rlrun.runners.multiagent import evaluate_team, make_parallel_vec_env
    from rlrun.runtime import seed_everything

    seed_everything(rc.seed)
    env = make_parallel_vec_env(rc.eval_env, min(rc.eval.num_envs, episodes))
    team = make_team(rc, env.observation_spaces, env.action_spaces, rc.env.num_envs, device)
    for name, learner in team.learners.items():
        checkpoint.restore_agent(learner, ckpt["agent"][name], None)
    return team, evaluate_team(team, env, episodes, seed)


def main(argv: list[str] | None = None) -> None:
    try:
        print_table(evaluate_run(parse_args(sys.argv[1:] if argv is None else argv)))
    except RlrunError as e:
        print(f"rlrun-eval: error: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
