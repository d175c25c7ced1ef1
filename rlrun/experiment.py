"""One job: validated config -> env -> agent -> Trainer -> summary.json. Returns the objective."""

from __future__ import annotations

import json
import logging
import math
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig, OmegaConf

from rlrun.schema import AGENTS, RunConfig, validate

if TYPE_CHECKING:
    from rlrun.trainer import EvalResult

log = logging.getLogger(__name__)

# summary.json statuses of a job that ran to its end ("stopped": ended early by a search's pruner);
# anything else ("failed", "interrupted") is a job a sweep reports as failed.
FINISHED = ("completed", "stopped")


def run(
    cfg: DictConfig,
    run_dir: Path,
    on_eval: Callable[[int, EvalResult], bool] | None = None,
    overrides: list[str] | None = None,
) -> float:
    """Train one agent as configured; write TensorBoard events and summary.json into `run_dir`.

    `on_eval(step, result)` sees every periodic evaluation and may stop the run by returning True
    (the summary then says "stopped"). `overrides` (the command line's) go into provenance.json.

    Whatever happens, summary.json says how the job ended, so a failed job in a sweep still leaves
    a readable record beside the others' results.
    """
    t0 = time.perf_counter()
    summary: dict[str, Any] = {"status": "failed"}
    logger = trainer = None
    # A resume that is refused (finished run, other config, bad checkpoint) must leave the run's
    # records as they were: they are written only once the checkpoint has been accepted.
    record = cfg.get("resume") is None
    try:
        rc = validate(cfg)  # before anything heavy: a config error costs no torch import
        summary.update(
            agent=rc.agent.name,
            env=rc.env.id,
            seed=rc.seed,
            total_timesteps=rc.total_timesteps,
        )
        run_dir.mkdir(parents=True, exist_ok=True)
        if record:
            write_provenance(run_dir, cfg, overrides or [])
        trainer, logger = build(rc, cfg, run_dir, on_eval)
        if not record:
            record = True
            write_provenance(run_dir, cfg, overrides or [])
            summary["resumed_from_step"] = trainer.state.step
        result = trainer.train()
        status = "stopped" if result.stopped_early else "completed"
        summary.update(status=status, **result.to_dict())
        ev = result.final_eval
        summary["objective"] = ev.mean_return
        print_summary(rc, result.to_dict(), run_dir)
        return ev.mean_return
    except BaseException as e:
        summary["error"] = f"{type(e).__name__}: {e}".strip().splitlines()[0]
        if isinstance(e, KeyboardInterrupt):
            summary["status"] = "interrupted"
        if trainer is not None:
            summary["steps"] = trainer.state.step  # where a resume would continue from
        raise
    finally:
        summary["total_wall_time_s"] = round(time.perf_counter() - t0, 3)
        if logger is not None:
            logger.hparams_end(summary["status"])
            logger.close()
        if record:
            write_json(run_dir / "summary.json", summary)


def build(
    rc: RunConfig,
    cfg: DictConfig,
    run_dir: Path,
    on_eval: Callable[[int, EvalResult], bool] | None = None,
):
    """Everything the Trainer needs, set up in the order that makes seeding reproducible; for
    `resume=<dir>`, restored from that run's last checkpoint."""
    import torch

    from rlrun import checkpoint
    from rlrun.envs import make_vec_env
    from rlrun.logger import TensorBoardLogger, flatten
    from rlrun.runtime import resolve_device
    from rlrun.trainer import Trainer
    from rlrun.video import VideoRecorder

    torch.set_num_threads(rc.torch_threads)
    device = resolve_device(rc.device)
    ckpt = None
    if rc.resume is not None:
        ckpt = checkpoint.load(Path(rc.resume) / "checkpoints" / "last.pt", device)
        checkpoint.check_resumable(ckpt, rc)
        # what the next resume starts from (e.g. a longer total_timesteps)
        (run_dir / ".hydra" / "resume").mkdir(parents=True, exist_ok=True)
        OmegaConf.save(cfg, run_dir / ".hydra" / "resume" / "config.yaml")
    env, agent = make_env_and_agent(rc, device)
    eval_env = make_vec_env(rc.env, min(rc.eval.num_envs, rc.eval.episodes))
    log.info(
        "%s on %s (%d envs), device %s, %d steps -> %s",
        rc.agent.name,
        rc.env.id,
        env.num_envs,
        device,
        rc.total_timesteps,
        run_dir,
    )

    resume_step = None if ckpt is None else ckpt["step"]
    logger = TensorBoardLogger(run_dir, purge_step=None if ckpt is None else resume_step + 1)
    if ckpt is None:
        task = OmegaConf.to_container(cfg, resolve=True)
        logger.text("config", "    " + OmegaConf.to_yaml(task).replace("\n", "\n    "))
        resolved = {
            **checkpoint.identity(rc),
            "total_timesteps": rc.total_timesteps,
            "device": str(device),
        }
        logger.hparams_start(flatten(resolved))
    trainer = Trainer(
        rc,
        agent,
        env,
        eval_env,
        logger,
        checkpoints=checkpoint.Checkpoints(run_dir / "checkpoints", rc.checkpoint.keep),
        on_eval=on_eval,
        recorder=VideoRecorder(rc.video, rc.env, rc.eval_seed, run_dir, logger)
        if rc.video.every_steps is not None
        else None,
    )
    if ckpt is not None:
        trainer.load_checkpoint(ckpt)
        log.info("resumed from step %d of %s", resume_step, rc.resume)
    return trainer, logger


def make_env_and_agent(rc: RunConfig, device: Any) -> tuple[Any, Any]:
    """The training vector env and a fresh agent for it, seeded as every run is."""
    from rlrun.agents.base import Spaces, check_compatible, make_agent
    from rlrun.envs import make_vec_env
    from rlrun.runtime import seed_everything

    seed_everything(rc.seed)
    env = make_vec_env(rc.env, rc.env.num_envs)
    spaces = Spaces.of(env, rc.total_timesteps)
    check_compatible(rc.agent.name, AGENTS[rc.agent.name], rc.env.id, spaces)
    return env, make_agent(rc.agent, rc.exploration, spaces, device, rc.seed)


def write_provenance(run_dir: Path, cfg: DictConfig, overrides: list[str]) -> None:
    """What produced this run: the resolved config, the overrides, the versions that matter.
    A resumed run appends its own entry."""
    from importlib.metadata import PackageNotFoundError, version

    def installed(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    path = run_dir / "provenance.json"
    previous = json.loads(path.read_text())["runs"] if path.exists() else []
    entry = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "argv": sys.argv,
        "overrides": overrides,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": {
            name: installed(name)
            for name in (
                "rlrun",
                "torch",
                "gymnasium",
                "numpy",
                "hydra-core",
                "omegaconf",
                "tensorboard",
            )
        },
        "config": OmegaConf.to_container(cfg, resolve=True),
    }
    write_json(path, {"runs": [*previous, entry]})


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write atomically, so a reader never sees half a file; non-finite floats become null."""

    def clean(x: Any) -> Any:
        if isinstance(x, float) and not math.isfinite(x):
            return None
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [clean(v) for v in x]
        return x

    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(clean(data), indent=2) + "\n")
    tmp.replace(path)


def print_summary(rc: RunConfig, result: dict[str, Any], run_dir: Path) -> None:
    ev = result["final_eval"]
    rows = [
        ("agent / env", f"{rc.agent.name} / {rc.env.id}"),
        ("env steps", f"{result['steps']:,}"),
        ("episodes", f"{result['episodes']:,}"),
        ("wall time", f"{result['wall_time_s']:.1f} s"),
        ("steps / s", f"{result['sps']:,.0f}"),
        (
            "eval return",
            f"{ev['mean_return']:.3f} +/- {ev['std_return']:.3f} ({ev['episodes']} episodes)",
        ),
        ("eval length", f"{ev['mean_length']:.1f}"),
    ]
    if ev["success_rate"] is not None:
        rows.append(("success rate", f"{ev['success_rate']:.3f}"))
    rows.append(("best eval return", f"{result['best_eval_mean_return']:.3f}"))
    rows.append(("run dir", str(run_dir)))
    width = max(len(k) for k, _ in rows)
    lines = [f"  {k:<{width}}  {v}" for k, v in rows]
    print("\n".join(["", "rlrun summary", *lines, ""]), file=sys.stdout, flush=True)
