"""Hyperparameter search with pruning: an in-process Optuna study as a Hydra sweeper.

`rlrun -m agent=ppo env=cartpole hparams_search=ppo` selects this sweeper (the option files in
conf/hparams_search/ hold a search space per agent family). Each trial composes the job's config
with the sampled values, then trains one seed after another, in this process, through
`rlrun.experiment.run`; every periodic evaluation reports an estimate of the objective to Optuna,
whose pruner may stop the trial there (the RL Zoo's way: Hydra's own Optuna sweeper cannot prune).

The objective of a trial is the mean over its seeds of the mean of each seed's last k evaluations
(`smoothing`). The study lives in a storage file (an Optuna journal in the sweep dir by default, or
`hydra.sweeper.storage=<path or sqlite:///...>`): running the same command again resumes it, runs
only the missing trials and re-runs an interrupted one with the same values.

Only hydra and omegaconf are imported here: Hydra imports this module (through the shim in
hydra_plugins/rlrun_search) whenever rlrun starts, so optuna and torch are imported when a search
actually runs.
"""

from __future__ import annotations

import csv
import logging
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import IntervalSweep, RangeSweep
from hydra.core.utils import JobStatus, configure_log, run_job, setup_globals
from hydra.errors import OverrideParseException
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, ListConfig, OmegaConf, open_dict

from rlrun.errors import ConfigError, RlrunError
from rlrun.records import atomic_file, read_summary, write_summary, write_text

if TYPE_CHECKING:  # optuna is imported only when a search runs (see above)
    from optuna.distributions import BaseDistribution
    from optuna.pruners import BasePruner
    from optuna.samplers import BaseSampler
    from optuna.storages import BaseStorage
    from optuna.study import Study
    from optuna.trial import FrozenTrial, Trial, TrialState

    from rlrun.runners.base import EvalResult

log = logging.getLogger("rlrun.search")

KEY = "hydra.sweeper"  # where the settings live; error messages name keys below it
INSTALL_HINT = 'hparams_search needs optuna: pip install -e ".[search]"'
SAMPLERS = ("tpe", "random")
PRUNERS = ("median", "none")


@dataclass
class SearchConf:
    """`hydra.sweeper.*` of a pruned search; conf/hparams_search/<family>.yaml fills `params`."""

    _target_: str = "hydra_plugins.rlrun_search.PrunedSweeper"
    # search space: key -> Hydra sweep syntax, as Hydra's Optuna sweeper spells it:
    # choice(a,b,...), range(start,stop,step), interval(low,high), tag(log, interval(low,high))
    params: dict[str, str] = field(default_factory=dict)
    n_trials: int = 20  # trials in the study in total, counting those of earlier sessions
    seeds: int = 1  # seeds per trial: seed, seed+1, ... run one after another
    smoothing: int = 3  # k: a seed's score is the mean of its last k evaluations
    direction: str = "maximize"
    sampler: str = "tpe"  # tpe | random
    sampler_seed: int = 0
    n_startup_trials: int = 5  # random trials before TPE, and finished trials before pruning
    pruner: str = "median"  # median | none
    n_warmup_evals: int = 2  # evaluations of each seed that are never judged
    study_name: str | None = None  # default: <agent>_<env>
    storage: str | None = None  # default: <sweep dir>/optuna.journal; or sqlite:///<file>


ConfigStore.instance().store(
    group="hydra/sweeper", name="rlrun_optuna", node=SearchConf, provider="rlrun"
)


def import_optuna() -> ModuleType:
    try:
        import optuna
    except ImportError:
        raise RlrunError(INSTALL_HINT) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


# ---------------------------------------------------------------------------- search space


def encode(value: Any) -> str:
    """A value as a command-line override spells it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(encode(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{encode(v)}" for k, v in value.items()) + "}"
    return str(value)


def plain(value: Any) -> Any:
    if isinstance(value, (DictConfig, ListConfig)):
        return OmegaConf.to_container(value)
    return value


def distribution(key: str, spec: str) -> BaseDistribution:
    """The Optuna distribution for `key=<spec>` written in Hydra's sweep syntax."""
    optuna = import_optuna()
    d = optuna.distributions
    try:
        override = OverridesParser.create().parse_overrides([f"{key}={spec}"])[0]
    except OverrideParseException as e:
        raise ConfigError(f"{KEY}.params.{key}", f"cannot parse {spec!r}: {e}") from None
    if not override.is_sweep_override():
        raise ConfigError(
            f"{KEY}.params.{key}",
            f"{spec!r} is a single value; use choice(..), range(..) or interval(..)",
        )
    value = override.value()
    if override.is_choice_sweep() or (
        isinstance(value, RangeSweep)
        and not all(isinstance(x, int) for x in (value.start, value.stop, value.step))
    ):
        choices = [plain(x) for x in override.sweep_iterator()]
        # Optuna takes only scalars as categories: lists (net_arch) go in as their override text
        return d.CategoricalDistribution(
            [x if isinstance(x, (bool, int, float, str)) else encode(x) for x in choices]
        )
    if isinstance(value, RangeSweep):
        start, stop, step = value.start, value.stop, value.step
        # a range of anything but ints went to the categorical branch above
        assert isinstance(start, int) and isinstance(stop, int) and isinstance(step, int)
        if step <= 0 or stop <= start:
            raise ConfigError(f"{KEY}.params.{key}", f"empty range {spec!r}")
        last = start + (stop - 1 - start) // step * step
        return d.IntDistribution(start, last, step=step)
    assert isinstance(value, IntervalSweep)  # the only sweep left after choice and range
    low, high = value.start, value.end
    if low is None or high is None or not low < high:
        raise ConfigError(
            f"{KEY}.params.{key}",
            f"need interval(low, high) with low < high, got {spec!r}",
        )
    log_scale = "log" in value.tags
    if log_scale and low <= 0:
        raise ConfigError(f"{KEY}.params.{key}", f"a log interval needs low > 0, got {spec!r}")
    if isinstance(low, int) and isinstance(high, int):
        return d.IntDistribution(low, high, log=log_scale)
    return d.FloatDistribution(float(low), float(high), log=log_scale)


def sampled_overrides(params: dict[str, Any]) -> list[str]:
    return [f"{k}={encode(v)}" for k, v in params.items()]


# ---------------------------------------------------------------------------- the sweeper


class PrunedSweeper(Sweeper):
    """Hydra sweeper running an Optuna study in-process, with pruning from periodic evaluations."""

    def __init__(self, **settings: Any) -> None:
        settings.pop("_target_", None)
        self.settings = SearchConf(**{k: plain(v) for k, v in settings.items()})
        self.config: DictConfig | None = None
        self.hydra_context: HydraContext | None = None
        self.on_eval: Callable[[int, EvalResult], bool] | None = None

    def setup(
        self,
        *,
        hydra_context: HydraContext,
        task_function: TaskFunction,
        config: DictConfig,
    ) -> None:
        self.config = config
        self.hydra_context = hydra_context
        check_settings(self.settings)
        import_optuna()

    # One job = one seed of one trial, run in this process by Hydra's run_job, so it gets the
    # usual run dir (.hydra/, rlrun.log, summary.json, TensorBoard) and the job callbacks.
    def task(self, cfg: DictConfig) -> float:
        from rlrun.experiment import run

        hydra_cfg = HydraConfig.get()
        return run(
            cfg,
            Path(hydra_cfg.runtime.output_dir),
            self.on_eval,
            overrides=list(hydra_cfg.overrides.task),
        )

    def sweep(self, arguments: list[str]) -> float | None:
        optuna = import_optuna()
        assert self.config is not None and self.hydra_context is not None
        s = self.settings
        fixed, space = split_arguments(arguments)
        space = {**s.params, **space}
        if not space:
            raise ConfigError(
                f"{KEY}.params",
                "empty search space; choose hparams_search=<agent family>",
            )
        distributions = {k: distribution(k, v) for k, v in space.items()}
        cfg = self.config
        if cfg.eval.every_steps is None:
            raise ConfigError(
                "eval.every_steps", "a pruned search needs periodic evaluations; set it"
            )
        base_seed = int(cfg.seed)
        seeds = [base_seed + i for i in range(s.seeds)]
        stride = math.ceil(int(cfg.total_timesteps) / int(cfg.eval.every_steps)) + 1
        sweep_dir = Path(str(cfg.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        study_name = s.study_name or f"{cfg.agent.name}_{cfg.env.name}"
        storage_text = s.storage or str(sweep_dir / "optuna.journal")
        storage = make_storage(optuna, storage_text)

        setup_globals()
        configure_log(cfg.hydra.hydra_logging, cfg.hydra.verbose)
        study = optuna.create_study(
            study_name=study_name,
            storage=storage,
            sampler=make_sampler(optuna, s),
            pruner=make_pruner(optuna, s),
            direction=s.direction,
            load_if_exists=True,
        )
        identity = {
            "agent": str(cfg.agent.name),
            "env": str(cfg.env.id),
            "params": dict(sorted(space.items())),
            "seeds": seeds,
            "smoothing": s.smoothing,
            "total_timesteps": int(cfg.total_timesteps),
            "eval_every_steps": int(cfg.eval.every_steps),
        }
        check_same_study(study, identity, study_name, storage_text)
        requeue_interrupted(optuna, study)
        done = len(finished(optuna, study))
        remaining = max(0, s.n_trials - done)
        log.info(
            "study %s in %s: %d trial(s) done, %d to run (%d seed(s) each), pruner %s",
            study_name,
            storage_text,
            done,
            remaining,
            len(seeds),
            s.pruner,
        )
        failures: list[BaseException] = []
        for _ in range(remaining):
            trial = study.ask(distributions)
            error = self.run_trial(optuna, study, trial, fixed, seeds, stride, sweep_dir)
            if error is not None:
                failures.append(error)
        best = write_results(optuna, study, sweep_dir, fixed, identity)
        if failures:
            raise failures[0]
        return best

    def run_trial(
        self,
        optuna: ModuleType,
        study: Study,
        trial: Trial,
        fixed: list[str],
        seeds: list[int],
        stride: int,
        sweep_dir: Path,
    ) -> BaseException | None:
        """Train the trial's seeds one after another; tell Optuna how it ended."""
        s = self.settings
        assert self.config is not None and self.hydra_context is not None
        params = trial.params
        overrides = [*fixed, *sampled_overrides(params)]
        scores: list[float] = []
        env_steps = 0
        run_dirs: list[str] = []
        t0 = time.perf_counter()
        log.info("trial %d: %s", trial.number, " ".join(sampled_overrides(params)))
        for i, seed in enumerate(seeds):
            evals: list[float] = []
            pruned_at: list[int] = []

            def on_eval(
                step: int,
                result: EvalResult,
                i: int = i,
                evals: list[float] = evals,
                pruned_at: list[int] = pruned_at,
            ) -> bool:
                evals.append(result.mean_return)
                j = len(evals) - 1
                if j < s.n_warmup_evals:
                    return False
                estimate = mean([*scores, mean(evals[-s.smoothing :])])
                trial.report(estimate, i * stride + j)
                if trial.should_prune():
                    pruned_at.append(step)
                    return True
                return False

            job_overrides = [*overrides, f"seed={seed}"]
            job_cfg = self.hydra_context.config_loader.load_sweep_config(self.config, job_overrides)
            with open_dict(job_cfg):
                job_cfg.hydra.job.num = trial.number * len(seeds) + i
                job_cfg.hydra.job.id = f"{trial.number}_{i}"
                job_cfg.hydra.sweep.subdir = f"trial_{trial.number:03d}/seed_{seed}"
            self.on_eval = on_eval
            try:
                ret = run_job(
                    hydra_context=self.hydra_context,
                    task_function=self.task,
                    config=job_cfg,
                    job_dir_key="hydra.sweep.dir",
                    job_subdir_key="hydra.sweep.subdir",
                )
            except BaseException:  # Ctrl-C: resuming re-runs this trial with the same values
                trial.set_user_attr("interrupted", True)
                study.enqueue_trial(params)
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
                raise
            finally:
                self.on_eval = None
                configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
            assert ret.hydra_cfg is not None  # run_job sets it before it runs the task
            run_dir = Path(ret.hydra_cfg.hydra.runtime.output_dir)
            run_dirs.append(str(run_dir))
            summary = read_summary(run_dir) or {}
            env_steps += int(summary.get("steps") or 0)
            if ret.status == JobStatus.FAILED:
                error = ret._return_value
                trial.set_user_attr("error", f"{type(error).__name__}: {error}".splitlines()[0])
                finish(trial, study, optuna.trial.TrialState.FAIL, env_steps, run_dirs, t0)
                log.info("trial %d failed: %s", trial.number, trial.user_attrs.get("error"))
                return error
            if pruned_at:
                mark_summary(run_dir, summary, study.study_name, trial.number, seed, pruned_at[0])
                finish(
                    trial,
                    study,
                    optuna.trial.TrialState.PRUNED,
                    env_steps,
                    run_dirs,
                    t0,
                )
                log.info(
                    "trial %d pruned at seed %d, step %d (%d env steps)",
                    trial.number,
                    seed,
                    pruned_at[0],
                    env_steps,
                )
                return None
            evals.append(float(ret.return_value))  # the final evaluation, at the end of training
            scores.append(mean(evals[-s.smoothing :]))
            mark_summary(run_dir, summary, study.study_name, trial.number, seed, None, scores[-1])
        value = mean(scores)
        trial.set_user_attr("seed_scores", scores)
        finish(
            trial,
            study,
            optuna.trial.TrialState.COMPLETE,
            env_steps,
            run_dirs,
            t0,
            value,
        )
        log.info("trial %d: objective %.3f (%d env steps)", trial.number, value, env_steps)
        return None


def mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)


def check_settings(s: SearchConf) -> None:
    def positive(name: str, minimum: int = 1) -> None:
        if getattr(s, name) < minimum:
            raise ConfigError(f"{KEY}.{name}", f"must be >= {minimum}, got {getattr(s, name)}")

    positive("n_trials", 0)
    positive("seeds")
    positive("smoothing")
    positive("n_startup_trials", 0)
    positive("n_warmup_evals", 0)
    for name, options in (
        ("sampler", SAMPLERS),
        ("pruner", PRUNERS),
        ("direction", ("maximize", "minimize")),
    ):
        if getattr(s, name) not in options:
            raise ConfigError(
                f"{KEY}.{name}",
                f"got {getattr(s, name)!r}; choose one of: {', '.join(options)}",
            )


def split_arguments(arguments: list[str]) -> tuple[list[str], dict[str, str]]:
    """Command-line overrides: fixed ones go to every job; sweeps (choice(..), a,b, interval(..))
    become dimensions of the search space. `seed=` is the first seed of every trial."""
    fixed: list[str] = []
    space: dict[str, str] = {}
    for o in OverridesParser.create().parse_overrides(arguments):
        line = o.input_line
        assert line is not None  # the parser records the text of every override it parses
        if o.key_or_group == "hparams_search":
            fixed.append(line)  # keeps the option in each job's recorded overrides
        elif o.is_sweep_override():
            if o.key_or_group in ("agent", "env") or o.is_delete():
                raise ConfigError(o.key_or_group, f"a pruned search cannot sweep {line!r}")
            space[o.key_or_group] = line.split("=", 1)[1]
        elif o.key_or_group != "seed":
            fixed.append(line)
    return fixed, space


def make_storage(optuna: ModuleType, text: str) -> str | BaseStorage:
    if "://" in text:  # an RDB URL, e.g. sqlite:///search.db
        return text
    path = Path(text)
    path.parent.mkdir(parents=True, exist_ok=True)
    journal = optuna.storages.journal
    return optuna.storages.JournalStorage(
        journal.JournalFileBackend(str(path), lock_obj=journal.JournalFileOpenLock(str(path)))
    )


def make_sampler(optuna: ModuleType, s: SearchConf) -> BaseSampler:
    if s.sampler == "random":
        return optuna.samplers.RandomSampler(seed=s.sampler_seed)
    return optuna.samplers.TPESampler(seed=s.sampler_seed, n_startup_trials=s.n_startup_trials)


def make_pruner(optuna: ModuleType, s: SearchConf) -> BasePruner:
    if s.pruner == "none":
        return optuna.pruners.NopPruner()
    # our own warm-up (n_warmup_evals) counts evaluations of each seed; the pruner's counts steps
    return optuna.pruners.MedianPruner(n_startup_trials=s.n_startup_trials, n_warmup_steps=0)


def check_same_study(study: Study, identity: dict[str, Any], name: str, storage: str) -> None:
    """A resumed study must go on with the same space, seeds and budget, or its values mix."""
    stored = study.user_attrs.get("rlrun")
    if stored is None:
        study.set_user_attr("rlrun", identity)
        return
    for key, value in identity.items():
        if stored.get(key) != value:
            if isinstance(value, dict):  # name the dimensions that differ, not the whole space
                keys = sorted(
                    set(value) ^ set(stored[key])
                    | {k for k in value if stored[key].get(k) != value[k]}
                )
                value = {k: value.get(k) for k in keys}
                stored = {key: {k: stored[key].get(k) for k in keys}}
            raise ConfigError(
                f"{KEY}.study_name",
                f"study {name!r} in {storage} was run with {key}={stored.get(key)}, "
                f"now {value}; resume it unchanged or pick a new study_name",
            )


def finished(optuna: ModuleType, study: Study) -> list[FrozenTrial]:
    """Trials that count towards n_trials: all ended ones except those interrupted by the user."""
    states = optuna.trial.TrialState
    return [
        t
        for t in study.get_trials(deepcopy=False)
        if t.state in (states.COMPLETE, states.PRUNED, states.FAIL)
        and not t.user_attrs.get("interrupted")
    ]


def requeue_interrupted(optuna: ModuleType, study: Study) -> None:
    """A trial left running by a killed process fails now, and its values run again."""
    states = optuna.trial.TrialState
    for t in study.get_trials(deepcopy=False, states=(states.RUNNING,)):
        study._storage.set_trial_user_attr(t._trial_id, "interrupted", True)
        study.enqueue_trial(t.params)
        study._storage.set_trial_state_values(t._trial_id, state=states.FAIL)
        log.info("trial %d was interrupted; its values run again", t.number)


def finish(
    trial: Trial,
    study: Study,
    state: TrialState,
    env_steps: int,
    run_dirs: list[str],
    t0: float,
    value: float | None = None,
) -> None:
    trial.set_user_attr("env_steps", env_steps)
    trial.set_user_attr("run_dirs", run_dirs)
    trial.set_user_attr("wall_time_s", round(time.perf_counter() - t0, 3))
    study.tell(trial, value, state=state)


def mark_summary(
    run_dir: Path,
    summary: dict[str, Any],
    study_name: str,
    number: int,
    seed: int,
    pruned_at: int | None,
    score: float | None = None,
) -> None:
    """Say in the job's summary.json which trial it was and whether the pruner stopped it."""
    summary["search"] = {
        "study": study_name,
        "trial": number,
        "seed": seed,
        "pruned": pruned_at is not None,
        "pruned_at_step": pruned_at,
        "score": score,
    }
    write_summary(run_dir, summary)


# ---------------------------------------------------------------------------- results


def write_results(
    optuna: ModuleType, study: Study, sweep_dir: Path, fixed: list[str], identity: dict[str, Any]
) -> float | None:
    """trials.csv and best.yaml in the sweep dir; the best trial's overrides on the console."""
    states = optuna.trial.TrialState
    trials = study.get_trials(deepcopy=False)
    keys = sorted({k for t in trials for k in t.params})
    with atomic_file(sweep_dir / "trials.csv") as f:
        w = csv.writer(f)
        w.writerow(["number", "state", "value", "env_steps", "wall_time_s", *keys, "run_dirs"])
        for t in trials:
            w.writerow(
                [
                    t.number,
                    t.state.name,
                    t.value if t.state == states.COMPLETE else "",
                    t.user_attrs.get("env_steps", ""),
                    t.user_attrs.get("wall_time_s", ""),
                    *(t.params.get(k, "") for k in keys),
                    " ".join(t.user_attrs.get("run_dirs", [])),
                ]
            )
    complete = [t for t in trials if t.state == states.COMPLETE]
    counts = {
        s.name.lower(): sum(t.state == s for t in trials)
        for s in (states.COMPLETE, states.PRUNED, states.FAIL)
    }
    steps = sum(int(t.user_attrs.get("env_steps", 0)) for t in trials)
    out = [
        "",
        f"rlrun search: study {study.study_name}: "
        + ", ".join(f"{n} {name}" for name, n in counts.items())
        + f"; {steps:,} env steps in all",
    ]
    if not complete:
        print("\n".join([*out, "  no completed trial yet", ""]), flush=True)
        return None
    best = study.best_trial
    params = sampled_overrides(best.params)
    command = " ".join(
        ["rlrun", *(o for o in fixed if not o.startswith("hparams_search=")), *params]
    )
    seeds = identity["seeds"]
    header = (
        f"# Best trial of study '{study.study_name}': trial {best.number}, objective "
        f"{best.value:.3f}\n# (mean of the last {identity['smoothing']} evaluations, "
        f"seeds {seeds[0]}..{seeds[-1]})\n# {command}\n"
    )
    tree = OmegaConf.create()
    for o in params:
        key, _, value = o.partition("=")
        OmegaConf.update(tree, key, yaml_value(value), force_add=True)
    write_text(sweep_dir / "best.yaml", "# @package _global_\n" + header + OmegaConf.to_yaml(tree))
    out += [
        f"  best trial {best.number}: objective {best.value:.3f}",
        f"  overrides: {' '.join(params)}",
        f"  command:   {command}",
        f"  written:   {sweep_dir / 'best.yaml'}, {sweep_dir / 'trials.csv'}",
        "",
    ]
    print("\n".join(out), flush=True)
    return best.value


def yaml_value(text: str) -> Any:
    import yaml

    return yaml.safe_load(text)


if __name__ == "__main__":  # pragma: no cover
    sys.exit("rlrun.search is used through: rlrun -m ... hparams_search=<family>")
