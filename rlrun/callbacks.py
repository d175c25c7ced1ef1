"""Hydra callbacks: report every failed job of a sweep with its overrides, as it ends."""

from __future__ import annotations

import sys
from typing import Any

from hydra.core.utils import JobReturn, JobStatus
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

# Failures seen in this process, "#<num> (<overrides>): <error>"; read by the CLI at exit.
FAILED_JOBS: list[str] = []


class JobReport(Callback):
    def on_job_end(
        self, config: DictConfig, job_return: JobReturn, **kwargs: Any
    ) -> None:
        if (
            job_return.status != JobStatus.FAILED
            or config.hydra.mode.name != "MULTIRUN"
        ):
            return
        err = job_return._return_value
        overrides = " ".join(job_return.overrides or []) or "(no overrides)"
        message = f"{type(err).__name__}: {err}".strip().splitlines()[0]
        line = f"#{config.hydra.job.get('num', 0)} ({overrides}): {message}"
        FAILED_JOBS.append(line)
        print(f"rlrun: job failed {line}", file=sys.stderr, flush=True)
