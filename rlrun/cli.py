"""The `rlrun` command: a Hydra app. Only hydra and omegaconf are imported here, so `--help`,
`--cfg job` and config errors answer without paying for torch."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import sys
import warnings
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.errors import HydraException, MissingConfigException
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import (
    ConfigAttributeError,
    ConfigKeyError,
    OmegaConfBaseException,
)

from rlrun.callbacks import finish_sweep
from rlrun.errors import Interrupted, RlrunError
from rlrun.validate import unknown_key_message

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
    try:
        return run(
            cfg,
            Path(hydra_cfg.runtime.output_dir),
            overrides=list(hydra_cfg.overrides.task),
        )
    except RlrunError as e:
        if hydra_cfg.mode == RunMode.MULTIRUN:
            raise  # the sweep goes on with the other jobs; JobReport names this one
        print(f"rlrun: error: {e}", file=sys.stderr)
        sys.exit(2)


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
    register_sweeper()
    # SIGTERM (a scheduler's kill) outside the training loop, e.g. while building the env or
    # loading a checkpoint, unwinds like Ctrl-C, so the run still records how it ended.
    signal.signal(signal.SIGTERM, raise_interrupted)
    try:
        sys.argv = resume_argv(sys.argv)
        app()
    except Interrupted as e:
        sys.exit(128 + e.signum)  # 130 for SIGINT, 143 for SIGTERM
    except KeyboardInterrupt:
        sys.exit(130)
    except (RlrunError, HydraException, OmegaConfBaseException) as e:
        if not finish_sweep():
            print(f"rlrun: error: {one_line(e)}", file=sys.stderr)
            sys.exit(2)
    except Exception as e:
        if str(e).startswith("Only one of --run, --multirun, --cfg"):  # Hydra's flag check
            print(f"rlrun: error: {e}", file=sys.stderr)
            sys.exit(2)
        if not finish_sweep():
            raise  # not the user's input but a bug: its traceback is what we want to see
    report_failed_jobs()


def raise_interrupted(signum: int, _frame: object) -> None:
    raise Interrupted(signum)


def register_sweeper() -> None:
    """Make `hydra/sweeper=rlrun_optuna` known. Hydra accepts plugins only from the
    `hydra_plugins` namespace package and finds them by scanning it, which misses editable
    installs, so the sweeper is registered here (its import stores its config; no optuna yet)."""
    from hydra.core.plugins import Plugins

    from hydra_plugins.rlrun_search import PrunedSweeper

    Plugins.instance().register(PrunedSweeper)


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
    written back into its own directory. The original .hydra/ files are kept; once the
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
    run_dir = Path(found[0].split("=", 1)[1]).expanduser().resolve()
    hydra_dir = run_dir / ".hydra"
    config_dir = (
        hydra_dir / "resume" if (hydra_dir / "resume" / "config.yaml").exists() else hydra_dir
    )
    if not (config_dir / "config.yaml").exists():
        raise RlrunError(f"resume: {run_dir} is not an rlrun run directory (no .hydra/config.yaml)")
    quoted = "'" + str(run_dir).replace("'", "\\'") + "'"
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
        f"++resume={quoted}",
        f"hydra.run.dir={quoted}",
        "hydra.output_subdir=null",  # the run's own .hydra/ stays; rlrun saves .hydra/resume/
        "hydra.job.name=rlrun",
    ]


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
