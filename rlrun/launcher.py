"""`hydra/launcher=batched`: a sweep's jobs that differ only in `seed` run as one seed-batched
group in this process (rlrun.experiment.run_group); every other job runs alone, as under
Hydra's basic launcher, one after another.

Each job of a group gets what Hydra's `run_job` gives a job: its output directory, its .hydra/
config files, the callbacks' on_job_start and on_job_end, a JobReturn; and what `rlrun.cli.app`
gives it: the group-choice check, its run directory's records. Jobs with an earlier attempt in
their directory (a continued sweep: skip, resume or rerun, rlrun.sweep) and jobs whose agent is
not batched yet run alone, each said in one log line.
"""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import (
    JobReturn,
    JobStatus,
    _flush_loggers,
    _save_config,
    configure_log,
    env_override,
    filter_overrides,
    run_job,
    setup_globals,
)
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, open_dict, read_write

from rlrun.errors import RlrunError

log = logging.getLogger(__name__)

LOG_FORMAT = "[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"  # Hydra's job log format


@dataclass
class Prepared:
    """A job of a group, set up as `run_job` sets a job up, before it trains."""

    config: DictConfig  # with its hydra node
    task_cfg: DictConfig  # what the task function would get, resolved
    run_dir: Path
    ret: JobReturn


class BatchedLauncher(Launcher):
    def __init__(self, n_jobs: int = 1, max_group: int = 64) -> None:
        if n_jobs < 1:
            raise RlrunError(f"hydra.launcher.n_jobs: must be >= 1, got {n_jobs}")
        self.n_jobs = n_jobs  # groups trained at once, each in a joblib worker process
        self.max_group = max_group  # more seeds than this: several groups
        self.config: DictConfig | None = None
        self.task_function: TaskFunction | None = None
        self.hydra_context: HydraContext | None = None

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.config, self.hydra_context, self.task_function = config, hydra_context, task_function

    def launch(
        self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int
    ) -> Sequence[JobReturn]:
        setup_globals()
        assert self.config is not None and self.hydra_context is not None
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        Path(str(self.config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)
        configs = []
        for idx, overrides in enumerate(job_overrides, start=initial_job_idx):
            sweep_config = self.hydra_context.config_loader.load_sweep_config(
                self.config, list(overrides)
            )
            with open_dict(sweep_config):
                sweep_config.hydra.job.id = idx
                sweep_config.hydra.job.num = idx
            configs.append(sweep_config)
        returns: dict[int, JobReturn] = {}
        groups = self._groups(job_overrides, configs)
        for group in groups:
            if len(group) == 1:
                returns[group[0]] = self._run_alone(configs[group[0]])
        batched = [[configs[i] for i in group] for group in groups if len(group) > 1]
        prepared = [self._prepare_group(group) for group in batched]
        outcomes = self._train_groups(prepared)
        for group, jobs, results in zip(groups_of(groups), prepared, outcomes, strict=True):
            for n, ret in zip(group, self._finish_group(jobs, results), strict=True):
                returns[n] = ret
        interrupted = [
            ret._return_value
            for ret in returns.values()
            if isinstance(ret._return_value, KeyboardInterrupt)
        ]
        if interrupted:
            raise interrupted[0]  # every job's records are written; the sweep stops here
        return [returns[i] for i in range(len(configs))]

    def _groups(
        self, job_overrides: Sequence[Sequence[str]], configs: list[DictConfig]
    ) -> list[list[int]]:
        """Jobs that can share a group, by their overrides but the seed; the rest alone."""
        by_key: dict[tuple[str, ...], list[int]] = {}
        alone: list[list[int]] = []
        original = HydraConfig.instance().cfg
        for i, (overrides, config) in enumerate(zip(job_overrides, configs, strict=True)):
            HydraConfig.instance().set_config(config)  # what the job's config resolves against
            why = self._why_alone(config)
            HydraConfig.instance().cfg = original
            if why is not None:
                log.info("job #%d runs alone: %s", config.hydra.job.num, why)
                alone.append([i])
                continue
            key = tuple(o for o in overrides if not _is_seed(o))
            by_key.setdefault(key, []).append(i)
        groups = []
        for jobs in by_key.values():
            # enough groups to keep n_jobs workers busy, none larger than max_group
            size = min(self.max_group, -(-len(jobs) // self.n_jobs))
            groups += [jobs[k : k + size] for k in range(0, len(jobs), size)]
        return sorted(groups + alone)

    def _why_alone(self, config: DictConfig) -> str | None:
        from rlrun.runners.batched import unbatchable
        from rlrun.sweep import continuation
        from rlrun.validate import validate

        task_cfg = _task_config(config)
        try:
            rc = validate(task_cfg)
        except RlrunError as e:
            return str(e)  # the job fails alone, with this error
        why = unbatchable(rc)
        if why is not None:
            return why
        run_dir = _output_dir(config)
        if run_dir.exists() and continuation(run_dir, task_cfg, True).action != "new":
            return "it continues an earlier attempt"
        return None

    def _run_alone(self, config: DictConfig) -> JobReturn:
        assert self.hydra_context is not None and self.task_function is not None
        log.info("\t#%d : %s", config.hydra.job.num, " ".join(filter_overrides(_overrides(config))))
        ret = run_job(
            hydra_context=self.hydra_context,
            task_function=self.task_function,
            config=config,
            job_dir_key="hydra.sweep.dir",
            job_subdir_key="hydra.sweep.subdir",
        )
        assert self.config is not None
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        return ret

    def _prepare_group(self, configs: list[DictConfig]) -> list[Prepared]:
        from rlrun.cli import check_group_choices

        seeds = ",".join(str(c.seed) for c in configs)
        common = [o for o in filter_overrides(_overrides(configs[0])) if not _is_seed(o)]
        log.info(
            "\t#%s : %s seed=%s, batched",
            ",".join(str(c.hydra.job.num) for c in configs),
            " ".join(common),
            seeds,
        )
        jobs = []
        original = HydraConfig.instance().cfg
        try:
            for config in configs:
                jobs.append(self._prepare(config))
                if len(jobs) == 1:  # the others differ only in their seed
                    check_group_choices(HydraConfig.get())
        finally:
            HydraConfig.instance().cfg = original
        return jobs

    def _train_groups(self, groups: list[list[Prepared]]) -> list[list[Any]]:
        """Each group's outcomes: in this process one group after another, or `n_jobs` groups
        at a time in joblib's worker processes."""
        work = [
            (
                [j.task_cfg for j in jobs],
                [j.run_dir for j in jobs],
                [_overrides(j.config) for j in jobs],
                [j.run_dir / f"{j.config.hydra.job.name}.log" for j in jobs],
            )
            for jobs in groups
        ]
        if self.n_jobs == 1 or len(work) < 2:
            return [train_group(*w) for w in work]
        try:
            from joblib import Parallel, delayed
        except ImportError:
            raise RlrunError(
                f"hydra.launcher.n_jobs={self.n_jobs}: needs joblib "
                '(pip install "rlrun[joblib]"), or n_jobs=1'
            ) from None
        with Parallel(n_jobs=min(self.n_jobs, len(work)), backend="loky") as parallel:
            return list(parallel(delayed(train_group)(*w) for w in work))

    def _finish_group(self, jobs: list[Prepared], outcomes: list[Any]) -> list[JobReturn]:
        """What `run_job` does after the task function: the JobReturn, on_job_end."""
        assert self.hydra_context is not None and self.config is not None
        original = HydraConfig.instance().cfg
        for job, outcome in zip(jobs, outcomes, strict=True):
            failed = isinstance(outcome, BaseException)
            job.ret.return_value = outcome
            job.ret.status = JobStatus.FAILED if failed else JobStatus.COMPLETED
            HydraConfig.instance().set_config(job.config)
            _flush_loggers()
            self.hydra_context.callbacks.on_job_end(config=job.config, job_return=job.ret)
        HydraConfig.instance().cfg = original
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        return [j.ret for j in jobs]

    def _prepare(self, config: DictConfig) -> Prepared:
        """What `hydra.core.utils.run_job` does before it calls the task function: the output
        directory, the saved config files, on_job_start."""
        assert self.hydra_context is not None and self.task_function is not None
        HydraConfig.instance().set_config(config)
        output_dir = _output_dir(config)
        with read_write(config.hydra.runtime), open_dict(config.hydra.runtime):
            config.hydra.runtime.output_dir = str(output_dir)
        HydraConfig.instance().set_config(config)
        task_cfg = _task_config(config)
        hydra_cfg = copy.deepcopy(HydraConfig.instance().cfg)
        assert isinstance(hydra_cfg, DictConfig)
        ret = JobReturn(
            overrides=list(_overrides(config)),
            cfg=task_cfg,
            hydra_cfg=hydra_cfg,
            working_dir=os.getcwd(),
        )
        output_dir.mkdir(parents=True, exist_ok=True)
        if config.hydra.output_subdir is not None:
            hydra_output = output_dir / str(config.hydra.output_subdir)
            _save_config(task_cfg, "config.yaml", hydra_output)
            _save_config(hydra_cfg, "hydra.yaml", hydra_output)
            _save_config(config.hydra.overrides.task, "overrides.yaml", hydra_output)
        with env_override(hydra_cfg.hydra.job.env_set):
            self.hydra_context.callbacks.on_job_start(
                config=config, task_function=self.task_function
            )
        ret.task_name = str(config.hydra.job.name)
        return Prepared(config, task_cfg, output_dir, ret)


def train_group(
    cfgs: list[DictConfig], run_dirs: list[Path], overrides: list[list[str]], logs: list[Path]
) -> list[Any]:
    """One group's training (here or in a worker process): each job's objective or exception
    (picklable, for the way back from a worker). The group's log lines go into every job's
    log file, as a job's own lines do when it runs alone."""
    from rlrun.callbacks import picklable
    from rlrun.experiment import run_group

    handlers = [logging.FileHandler(path) for path in logs]
    root = logging.getLogger()
    for handler in handlers:
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    try:
        outcomes = run_group(cfgs, run_dirs, overrides)
    except Exception as e:  # noqa: BLE001 - the group could not be built: each job fails
        outcomes = [e] * len(cfgs)
    finally:
        for handler in handlers:
            root.removeHandler(handler)
            handler.close()
    return [picklable(o) if isinstance(o, Exception) else o for o in outcomes]


def groups_of(groups: list[list[int]]) -> list[list[int]]:
    """The groups of more than one job, in order."""
    return [g for g in groups if len(g) > 1]


def _is_seed(override: str) -> bool:
    return override.split("=", 1)[0].lstrip("+") == "seed"


def _overrides(config: DictConfig) -> list[str]:
    return [str(o) for o in config.hydra.overrides.task]


def _output_dir(config: DictConfig) -> Path:
    return Path(str(config.hydra.sweep.dir), str(config.hydra.sweep.subdir)).absolute()


def _task_config(config: DictConfig) -> DictConfig:
    """The job's config without its hydra node, as the task function gets it."""
    task_cfg = copy.deepcopy(config)
    with read_write(task_cfg), open_dict(task_cfg):
        del task_cfg["hydra"]
    return task_cfg
