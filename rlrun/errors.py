"""User-facing errors: each is reported as one line, with a non-zero exit and no traceback."""

import signal
from collections.abc import Callable
from typing import Any

from hydra.errors import CompactHydraException


class RlrunError(CompactHydraException):
    """A problem with the user's input (config, device, env id...) that the user can fix."""


class ConfigError(RlrunError):
    """A config value that is unknown, mistyped, out of range or incompatible with another."""

    def __init__(self, key: str, message: str) -> None:
        self.key, self.message = key, message
        super().__init__(f"{key}: {message}" if key else message)

    def __reduce__(self) -> tuple:
        # rebuilt from both arguments when a launcher's worker sends it back to the sweep
        return type(self), (self.key, self.message)


class NonFiniteError(RlrunError):
    """A loss or parameter became NaN or infinite: training cannot go on from there."""


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM stopped the run after a checkpoint; the exit code is 128 + signum."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def requeue_handler() -> Callable[[int, Any], Any] | None:
    """The Python handler a job scheduler installed for SIGUSR2, if any: submitit's, which
    requeues a Slurm job that is preempted or about to time out (its checkpointing protocol)."""
    usr2 = getattr(signal, "SIGUSR2", None)
    handler = None if usr2 is None else signal.getsignal(usr2)
    return handler if callable(handler) else None
