"""The `rlrun` command: a Hydra app. Only hydra and omegaconf are imported here, so `--help`,
`--cfg job` and config errors answer without paying for torch."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.errors import HydraException
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from rlrun.callbacks import FAILED_JOBS
from rlrun.errors import RlrunError


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def app(cfg: DictConfig) -> float:
    from rlrun.experiment import run

    return run(cfg, Path(HydraConfig.get().runtime.output_dir))


def one_line(e: BaseException) -> str:
    """Hydra's and OmegaConf's multi-line messages, folded into one line."""
    parts = [str(e)]
    if e.__cause__ is not None and str(e.__cause__) not in parts[0]:
        parts.append(str(e.__cause__))
    text = " ".join(" ".join(p.split()) for p in parts)
    return text.replace("full_key: ", "key: ")


def main() -> None:
    # Let errors reach us instead of Hydra's traceback printer; we print user errors in one line.
    os.environ.setdefault("HYDRA_FULL_ERROR", "1")
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except (RlrunError, HydraException, OmegaConfBaseException) as e:
        if FAILED_JOBS:
            failed = "; ".join(FAILED_JOBS)
            print(
                f"rlrun: error: {len(FAILED_JOBS)} job(s) failed: {failed}",
                file=sys.stderr,
            )
            sys.exit(1)
        print(f"rlrun: error: {one_line(e)}", file=sys.stderr)
        sys.exit(2)
    except Exception:
        if FAILED_JOBS:  # a crash inside a sweep job: each failure was already reported
            print(
                f"rlrun: error: {len(FAILED_JOBS)} job(s) failed: {'; '.join(FAILED_JOBS)}",
                file=sys.stderr,
            )
            sys.exit(1)
        raise


if __name__ == "__main__":
    main()
