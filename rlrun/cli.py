"""The `rlrun` command: a Hydra app. Only hydra and omegaconf are imported here, so `--help`,
`--cfg job` and config errors answer without paying for torch."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import signal
import sys
import warnings
from pathlib import Path

import hydra
from hydra.conf import HydraConf
from hydra.core.hydra_config import HydraConfig
from hydra.errors import HydraException, MissingConfigException
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import (
    ConfigAttributeError,
    ConfigKeyError,
    OmegaConfBaseException,
)

from rlrun.callbacks import finish_sweep
from rlrun.errors import Interrupted, RlrunError, requeue_handler
from rlrun.records import RunDirInUse, run_dir_holder
from rlrun.validate import unknown_key_message

log = logging.getLogger(__name__)

MAX_DIRNAME = 120  # a sweep job's directory name; file systems stop at 255 bytes


def short_dirname(name: str) -> str:
    """A job's overrides as its directory name, cut with a hash of the whole when too long (a
    pasted search result easily has a dozen overrides); .hydra/overrides.yaml keeps them all."""
    if len(name.encode()) <= MAX_DIRNAME:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:10]
    return f"{name.encode()[: MAX_DIRNAME - 11].decode(errors='ignore')}_{digest}"


# Registered on import: parallel launchers' workers import this module to run `app`.
OmegaConf.register_new_resolver("rlrun_dirname", short_dirname, replace=True)


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def app(cfg: DictConfig) -> float:
    from rlrun.experiment import run

    hydra_cfg = HydraConfig.get()
    if (
        hydra_cfg.runtime.choices.get("hparams_search") is not None
        and hydra_cfg.mode != RunMode.MULTIRUN
    ):
        print(
            "rlrun: error: hparams_search: a search runs many jobs; add -m "
            "(rlrun -m ... hparams_search=<family>)",
            file=sys.stderr,
        )
        sys.exit(2)
    job_dir = Path(hydra_cfg.runtime.output_dir)
    try:
        check_group_choices(hydra_cfg)
        if hydra_cfg.mode == RunMode.MULTIRUN:
            objective = continue_sweep_job(cfg, job_dir, hydra_cfg.job.num)
            if objective is not None:
                return objective
        return run(cfg, job_dir, overrides=list(hydra_cfg.overrides.task))
    except Interrupted as e:
        requeue = requeue_handler()
        if requeue is not None and e.signum == getattr(signal, "SIGUSR2", None):
            requeue(e.signum, None)  # submitit's: the job runs again and resumes (rlrun.sweep)
        raise
    except RlrunError as e:
        if hydra_cfg.mode == RunMode.MULTIRUN:
            raise  # the sweep goes on with the other jobs; JobReport names this one
        print(f"rlrun: error: {e}", file=sys.stderr)
        sys.exit(2)


def continue_sweep_job(cfg: DictConfig, job_dir: Path, num: int) -> float | None:
    """A job of a sweep run again (rlrun.sweep): its objective if it already finished; else `cfg`
    is set up to resume or to start over, and None returned."""
    from rlrun.sweep import continuation, set_aside

    step = continuation(job_dir, cfg, bool(OmegaConf.select(cfg, "sweep.rerun_failed")))
    if step.action == "skip":
        log.info("job #%d finished in an earlier attempt: skipped", num)
        return float("nan") if step.objective is None else float(step.objective)
    if step.action == "resume":
        log.info("job #%d: resuming the earlier attempt from its checkpoint", num)
        with open_dict(cfg):
            cfg.resume = str(job_dir)
    elif step.action == "rerun":
        moved = set_aside(job_dir)
        log.info("job #%d: starting over; the earlier attempt's files are in %s", num, moved)
    return None


def check_group_choices(hydra_cfg: HydraConf) -> None:
    """An option named on the command line must exist, also in an optional group: Hydra skips a
    missing optional config (`hyperparams=<typo>`) without a word. The automatic preset
    `hyperparams=<agent>_<env>` may be missing: then the agent's defaults apply, as logged."""
    from hydra.core.global_hydra import GlobalHydra

    if not GlobalHydra.instance().is_initialized():
        return
    loader = GlobalHydra.instance().config_loader()
    given = {o.split("=", 1)[0].lstrip("+~") for o in hydra_cfg.overrides.task}
    for group, option in hydra_cfg.runtime.choices.items():
        if option is None or group.startswith("hydra/"):
            continue
        options = loader.get_group_options(group)
        if option in options:
            continue
        if group in given:
            raise RlrunError(
                f"{group}={option}: no such option; choose one of: {', '.join(options)}"
            )
        if group == "hyperparams":
            log.info("no tuned preset hyperparams=%s: the agent's defaults apply", option)


def one_line(e: BaseException) -> str:
    """Hydra's and OmegaConf's multi-line messages, folded into one line."""
    if isinstance(e, MissingConfigException) and e.options is not None:
        group, _, option = (e.missing_cfg_file or "").rpartition("/")
        return f"{group}={option}: no such option; choose one of: {', '.join(e.options)}"
    unknown = re.match(r"Could not override '([^']+)'", str(e))
    if unknown and isinstance(e.__cause__, (ConfigKeyError, ConfigAttributeError)):
        return unknown_key_message(unknown.group(1))
    parts = [str(e)]
    if e.__cause__ is not None and str(e.__cause__) not in parts[0]:
        parts.append(str(e.__cause__))
    text = " ".join(" ".join(p.split()) for p in parts)
    return text.replace("full_key: ", "key: ")


def main() -> None:
    # Let errors reach us instead of Hydra's traceback printer; we print user errors in one line.
    os.environ.setdefault("HYDRA_FULL_ERROR", "1")
    # conf/hydra/launcher/ray.yaml deliberately shadows the plugin's own `ray` defaults
    warnings.filterwarnings(
        "ignore",
        message=r"\s*'hydra/launcher/ray' is validated against ConfigStore schema",
        category=UserWarning,
    )
    register_plugins()
    # SIGTERM (a scheduler's kill) outside the training loop, e.g. while building the env or
    # loading a checkpoint, unwinds like Ctrl-C, so the run still records how it ended.
    signal.signal(signal.SIGTERM, raise_interrupted)
    try:
        sys.argv = resume_argv(sys.argv)
        refuse_run_dir_in_use(sys.argv)
        app()
    except Interrupted as e:
        sys.exit(128 + e.signum)  # 130 for SIGINT, 143 for SIGTERM
    except KeyboardInterrupt:
        sys.exit(130)
    except (RlrunError, HydraException, OmegaConfBaseException) as e:
        if not finish_sweep():
            print(f"rlrun: error: {one_line(e)}", file=sys.stderr)
            sys.exit(2)
    except OSError as e:
        if e.filename is None or finish_sweep():
            raise
        # e.g. an output directory that cannot be created (hydra.run.dir=/proc/x), a full disk
        print(f"rlrun: error: {os_error_line(e, sys.argv)}", file=sys.stderr)
        sys.exit(2)
    except Exception as e:
        message = hydra_input_error(e, sys.argv)
        if message is not None:
            print(f"rlrun: error: {message}", file=sys.stderr)
            sys.exit(2)
        if not finish_sweep():
            raise  # not the user's input but a bug: its traceback is what we want to see
    report_failed_jobs()


def hydra_input_error(e: Exception, argv: list[str]) -> str | None:
    """The one line for an input error that Hydra raises as a plain exception, else None."""
    if str(e).startswith("Only one of --run, --multirun, --cfg"):  # Hydra's flag check
        return str(e)
    if str(e).startswith("Config group override must be a string or a list. Got NoneType"):
        arg = next((a for a in argv[1:] if re.fullmatch(r"[+]*[\w/]+=null", a)), "<group>=null")
        group = arg.split("=")[0].lstrip("+")
        return (
            f"{arg}: a config group cannot be set to null; leave it out, "
            f"or remove the option a default or preset chose with ~{group}"
        )
    return None


def os_error_line(e: OSError, argv: list[str]) -> str:
    """`e` in one line, naming the output-directory key when the file lies under it."""
    line = f"cannot write {e.filename}: {e.strerror or e}"
    for arg in argv[1:]:
        key, _, value = arg.partition("=")
        if key in ("hydra.run.dir", "hydra.sweep.dir") and str(e.filename).startswith(value):
            return f"{key}={value}: {line}; choose a directory you can write to"
    return line


def raise_interrupted(signum: int, _frame: object) -> None:
    raise Interrupted(signum)


def register_plugins() -> None:
    """Make `hydra/sweeper=rlrun_optuna` and `hydra/launcher=batched` known. Hydra accepts
    plugins only from the `hydra_plugins` namespace package and finds them by scanning it, which
    misses editable installs, so they are registered here (no optuna or torch imported yet)."""
    from hydra.core.plugins import Plugins

    from hydra_plugins.rlrun_batched import BatchedLauncher
    from hydra_plugins.rlrun_search import PrunedSweeper

    Plugins.instance().register(PrunedSweeper)
    Plugins.instance().register(BatchedLauncher)


CONFIG_GROUPS = (
    "agent",
    "env",
    "exploration",
    "hyperparams",
    "experiment",
    "debug",
    "hparams_search",
)


def resume_argv(argv: list[str]) -> list[str]:
    """`rlrun resume=<run_dir> [overrides]` -> the same run's saved config as the primary config,
    written back into its own directory (`resume=<run_dir>/checkpoints/step_<N>.pt`: from that
    checkpoint rather than the latest). The original .hydra/ files are kept; once the
    checkpoint accepts the config, it is saved as .hydra/resume/config.yaml, which a later
    resume starts from."""
    found = [a for a in argv[1:] if re.match(r"[+~]*resume=", a)]
    if not found:
        return argv
    if len(found) > 1 or {"-m", "--multirun"} & set(argv):
        raise RlrunError("resume: give one run directory, without -m")
    if any(a.startswith("hydra.run.dir=") for a in argv[1:]):
        raise RlrunError("resume: a resumed run writes into its own directory; drop hydra.run.dir")
    if "${" in found[0] or found[0].endswith("\\"):
        raise RlrunError(f"resume: cannot use the path in {found[0]!r}; rename the directory")
    target = Path(found[0].split("=", 1)[1]).expanduser().resolve()
    run_dir = target
    if target.suffix == ".pt":  # resume=<run_dir>/checkpoints/step_<N>.pt: from that file
        if target.parent.name != "checkpoints":
            raise RlrunError(
                f"resume: {target} is not in a run's checkpoints/; give the run directory or "
                "<run_dir>/checkpoints/<file>.pt"
            )
        run_dir = target.parent.parent
    hydra_dir = run_dir / ".hydra"
    config_dir = (
        hydra_dir / "resume" if (hydra_dir / "resume" / "config.yaml").exists() else hydra_dir
    )
    if not (config_dir / "config.yaml").exists():
        raise RlrunError(f"resume: {run_dir} is not an rlrun run directory (no .hydra/config.yaml)")

    def quoted(path: Path) -> str:
        return "'" + str(path).replace("'", "\\'") + "'"

    rest = [a for a in argv[1:] if a != found[0]]
    groups = [a for a in rest if a.split("=", 1)[0].lstrip("+~") in CONFIG_GROUPS]
    if groups:
        raise RlrunError(
            f"resume: {groups[0]}: a resumed run keeps its config groups; start a new run "
            "to change them"
        )
    return [
        argv[0],
        f"--config-path={config_dir}",
        "--config-name=config",
        *rest,
        f"++resume={quoted(target)}",
        f"hydra.run.dir={quoted(run_dir)}",
        "hydra.output_subdir=null",  # the run's own .hydra/ stays; rlrun saves .hydra/resume/
        "hydra.job.name=rlrun",
    ]


def refuse_run_dir_in_use(argv: list[str]) -> None:
    """A single run into a directory another rlrun process is writing is refused before Hydra
    writes its .hydra/ files there (the lock itself is taken by `experiment.run`)."""
    if {"-m", "--multirun"} & set(argv):
        return
    for arg in argv[1:]:
        if arg.startswith("hydra.run.dir="):
            value = arg.split("=", 1)[1]
            if len(value) > 1 and value[0] == value[-1] == "'":
                value = value[1:-1].replace("\\'", "'")
            path = Path(value).expanduser()
            holder = run_dir_holder(path)
            if holder is not None:
                raise RlrunError(str(RunDirInUse(path, holder)))


def report_failed_jobs() -> None:
    """Exit 1 if jobs of the sweep failed, naming them; the other jobs' results stay.

    The failures come from the jobs' summary.json files (read in this process by `finish_sweep`,
    which also writes the sweep report), so they are found under any launcher, also when the jobs
    ran in other processes; the basic sweeper raises on a failed job, so this runs after an
    exception from `app()` as well as after a sweep that returned.
    """
    failed = finish_sweep()
    if not failed:
        return
    numbers = ", ".join(line.split(" ", 1)[0] for line in failed)
    print(
        f"rlrun: error: {len(failed)} job(s) failed ({numbers}); "
        "the other jobs' results are in the sweep directory",
        file=sys.stderr,
    )
    sys.exit(1)


if __name__ == "__main__":
    main()
