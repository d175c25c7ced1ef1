"""One job: validated config -> the agent's runner (env, agent, loop) -> summary.json.
Returns the objective."""

from __future__ import annotations

import contextlib
import logging
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig, OmegaConf

from rlrun.config.registry import AGENTS, RUNNERS, load_impl
from rlrun.config.run import RunConfig
from rlrun.errors import RlrunError
from rlrun.records import (
    FINISHED,
    RunDirInUse,
    read_json,
    read_summary,
    run_dir_lock,
    write_json,
    write_summary,
    write_text,
)
from rlrun.validate import validate

if TYPE_CHECKING:
    from rlrun.logger import TensorBoardLogger
    from rlrun.runners.base import EvalResult, Runner, TrainResult

log = logging.getLogger(__name__)


class Job:
    """One job's records: the run directory's lock, provenance.json, and whatever happens a
    summary.json that says how the job ended, so a failed job in a sweep still leaves a readable
    record beside the others' results. `open`, then `started` once the runner is built, then
    `finish` or `fail`; always `close`."""

    def __init__(self, cfg: DictConfig, run_dir: Path, overrides: list[str] | None) -> None:
        self.cfg, self.run_dir, self.overrides = cfg, run_dir, overrides or []
        self.t0 = time.perf_counter()
        self.summary: dict[str, Any] = {"status": "failed"}
        self.logger: TensorBoardLogger | None = None
        self.runner: Runner | None = None
        # A resume that is refused (finished run, other config, bad checkpoint) must leave the
        # run's records as they were: they are written only once the checkpoint is accepted.
        self.record = cfg.get("resume") is None
        self.stack = contextlib.ExitStack()

    def open(self) -> RunConfig:
        """Validate (before anything heavy: a config error costs no torch import), lock the run
        directory, write provenance."""
        rc = validate(self.cfg)
        self.summary.update(
            agent=rc.agent.name, env=rc.env.id, seed=rc.seed, total_timesteps=rc.total_timesteps
        )
        self.run_dir.mkdir(parents=True, exist_ok=True)
        try:
            self.stack.enter_context(run_dir_lock(self.run_dir))
        except RunDirInUse as e:
            self.record = False  # the run's records are the other process's
            raise RlrunError(str(e)) from None
        if self.record:
            write_provenance(self.run_dir, self.cfg, self.overrides)
        return rc

    def started(self, runner: Runner, logger: TensorBoardLogger) -> None:
        self.runner, self.logger = runner, logger
        if not self.record:  # a resume whose checkpoint was accepted
            self.record = True
            write_provenance(self.run_dir, self.cfg, self.overrides)
            self.summary["resumed_from_step"] = runner.step

    def finish(self, rc: RunConfig, result: TrainResult) -> float:
        """The job's result into its summary; its objective (the final evaluation's return)."""
        status = "stopped" if result.stopped_early else "completed"
        self.summary.update(status=status, **result.to_dict())
        ev = result.final_eval
        assert ev is not None  # the final evaluation always runs
        self.summary["objective"] = ev.mean_return
        print_summary(rc, result.to_dict(), self.run_dir)
        return ev.mean_return

    def fail(self, e: BaseException) -> None:
        self.summary["error"] = f"{type(e).__name__}: {e}".strip().splitlines()[0]
        if isinstance(e, KeyboardInterrupt):
            self.summary["status"] = "interrupted"
        if self.runner is not None:
            self.summary["steps"] = self.runner.step  # where a resume would continue from

    def close(self) -> None:
        summary, logger = self.summary, self.logger
        summary["total_wall_time_s"] = round(time.perf_counter() - self.t0, 3)
        try:
            if logger is not None:
                try:
                    if logger.opened:
                        logger.hparams_end(summary["status"])
                    logger.close()
                except RlrunError as e:
                    if summary["status"] in FINISHED:
                        raise
                    log.warning("%s", e)  # a full disk: the error that led here says more
            if self.record:
                try:
                    write_summary(self.run_dir, summary)
                except OSError as e:  # a full disk: the error that led here says more
                    log.warning(
                        "could not write %s/summary.json: %s", self.run_dir, e.strerror or e
                    )
        finally:
            self.stack.close()


def run(
    cfg: DictConfig,
    run_dir: Path,
    on_eval: Callable[[int, EvalResult], bool] | None = None,
    overrides: list[str] | None = None,
) -> float:
    """Train one agent as configured; write TensorBoard events and summary.json into `run_dir`.

    `on_eval(step, result)` sees every periodic evaluation and may stop the run by returning True
    (the summary then says "stopped"). `overrides` (the command line's) go into provenance.json.
    """
    job = Job(cfg, run_dir, overrides)
    try:
        rc = job.open()
        runner, logger = build(rc, cfg, run_dir, on_eval)
        job.started(runner, logger)
        return job.finish(rc, runner.train())
    except BaseException as e:
        job.fail(e)
        raise
    finally:
        job.close()


def run_group(
    cfgs: list[DictConfig], run_dirs: list[Path], overrides: list[list[str]]
) -> list[float | BaseException]:
    """Train jobs that differ only in `seed` as one seed-batched group
    (rlrun.runners.batched), each into its own run directory as `run` would; each job's
    objective, or the exception that ended it (an Interrupted: the caller stops the sweep)."""
    jobs = [Job(cfg, d, o) for cfg, d, o in zip(cfgs, run_dirs, overrides, strict=True)]
    outcomes: list[float | BaseException | None] = [None] * len(jobs)
    opened: list[tuple[int, RunConfig]] = []
    try:
        for i, job in enumerate(jobs):
            try:
                opened.append((i, job.open()))
            except Exception as e:  # noqa: BLE001 - that job fails; the group trains without it
                outcomes[i] = e
        if opened:
            _train_group(jobs, opened, outcomes)
    except BaseException as e:
        for i, outcome in enumerate(outcomes):
            if outcome is None:
                outcomes[i] = e
        raise
    finally:
        for i, job in enumerate(jobs):
            outcome = outcomes[i]
            if isinstance(outcome, BaseException):
                job.fail(outcome)
            job.close()
    return outcomes  # type: ignore[return-value]


def _train_group(
    jobs: list[Job],
    opened: list[tuple[int, RunConfig]],
    outcomes: list[float | BaseException | None],
) -> None:
    import torch

    from rlrun import checkpoint
    from rlrun.logger import TensorBoardLogger
    from rlrun.runners.base import Services
    from rlrun.runners.batched import SeedBatch
    from rlrun.runtime import resolve_device
    from rlrun.video import VideoRecorder

    rcs = [rc for _, rc in opened]
    torch.set_num_threads(rcs[0].torch_threads)
    device = resolve_device(rcs[0].device)
    services = []
    for i, rc in opened:
        logger = TensorBoardLogger(jobs[i].run_dir)
        services.append(
            Services(
                logger,
                checkpoint.Checkpoints(jobs[i].run_dir / "checkpoints", rc.checkpoint.keep),
                recorder=VideoRecorder(rc.video, rc.eval_env, rc.eval_seed, jobs[i].run_dir, logger)
                if rc.video.every_steps is not None
                else None,
            )
        )
    batch = SeedBatch.build(rcs, device, services)
    log.info(
        "%s on %s: seeds %s batched (%d envs each), device %s, %d steps",
        rcs[0].agent.name,
        rcs[0].env.id,
        ", ".join(str(rc.seed) for rc in rcs),
        rcs[0].env.num_envs,
        device,
        rcs[0].total_timesteps,
    )
    for (i, rc), member in zip(opened, batch.members, strict=True):
        start_logs(member.logger, rc, jobs[i].cfg, device)
        jobs[i].started(member, member.logger)
    for (i, rc), result in zip(opened, batch.train(), strict=True):
        outcomes[i] = result if isinstance(result, BaseException) else jobs[i].finish(rc, result)


def build(
    rc: RunConfig,
    cfg: DictConfig,
    run_dir: Path,
    on_eval: Callable[[int, EvalResult], bool] | None = None,
) -> tuple[Runner, TensorBoardLogger]:
    """The agent's runner with everything it needs, set up in the order that makes seeding
    reproducible; for `resume=<dir>`, restored from that run's last checkpoint."""
    import torch

    from rlrun import checkpoint
    from rlrun.logger import TensorBoardLogger
    from rlrun.runners.base import Services
    from rlrun.runtime import resolve_device
    from rlrun.video import VideoRecorder

    torch.set_num_threads(rc.torch_threads)
    device = resolve_device(rc.device)
    ckpt = None
    if rc.resume is not None:
        path, ckpt = checkpoint.load_for_resume(Path(rc.resume), device)
        previous = read_summary(run_dir)
        checkpoint.check_resumable(
            ckpt, rc, ended=previous is not None and previous.get("status") in FINISHED
        )
        log.info("resuming from %s (step %d)", path, ckpt["step"])
        # what the next resume starts from (e.g. a longer total_timesteps)
        write_text(run_dir / ".hydra" / "resume" / "config.yaml", OmegaConf.to_yaml(cfg))
    # The event file is opened at the first write, once the runner is built: a run refused while
    # building (an agent the env does not suit) leaves no TensorBoard run behind.
    logger = TensorBoardLogger(run_dir, purge_step=None if ckpt is None else ckpt["step"] + 1)
    services = Services(
        logger,
        checkpoint.Checkpoints(run_dir / "checkpoints", rc.checkpoint.keep),
        on_eval,
        VideoRecorder(rc.video, rc.eval_env, rc.eval_seed, run_dir, logger)
        if rc.video.every_steps is not None
        else None,
    )
    runner_cls = load_impl(RUNNERS["multiagent" if rc.multiagent else AGENTS[rc.agent.name].runner])
    runner: Runner = runner_cls.build(rc, device, services)
    log.info(
        "%s on %s (%d envs), device %s, %d steps -> %s",
        rc.agent.name,
        rc.env.id,
        rc.env.num_envs,
        device,
        rc.total_timesteps,
        run_dir,
    )
    if ckpt is None:
        start_logs(logger, rc, cfg, device)
    else:
        runner.load_checkpoint(ckpt)
    return runner, logger


def start_logs(logger: TensorBoardLogger, rc: RunConfig, cfg: DictConfig, device: Any) -> None:
    """A new run's first TensorBoard records: its config as text, its hyperparameters."""
    from rlrun import checkpoint
    from rlrun.records import flatten

    task = OmegaConf.to_container(cfg, resolve=True)
    logger.text("config", "    " + OmegaConf.to_yaml(task).replace("\n", "\n    "))
    resolved = {
        **checkpoint.identity(rc),
        "total_timesteps": rc.total_timesteps,
        "device": str(device),
    }
    logger.hparams_start(flatten(resolved))


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
    previous = read_json(path)["runs"] if path.exists() else []
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
    rows.extend((f"eval {key}", f"{value:.3f}") for key, value in ev.get("metrics", {}).items())
    rows.append(("best eval return", f"{result['best_eval_mean_return']:.3f}"))
    rows.append(("run dir", str(run_dir)))
    width = max(len(k) for k, _ in rows)
    lines = [f"  {k:<{width}}  {v}" for k, v in rows]
    print("\n".join(["", "rlrun summary", *lines, ""]), file=sys.stdout, flush=True)
