"""Process-wide set-up for a run: torch threads, the device, and seeds."""

from __future__ import annotations

import random

import numpy as np
import torch

from rlrun.errors import ConfigError


def resolve_device(spec: str) -> torch.device:
    """`auto` picks CUDA, then MPS, then CPU; an explicit device must actually be available."""
    if spec == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if spec.startswith("cuda"):
        if not torch.cuda.is_available():
            why = "this torch build has no CUDA" if torch.version.cuda is None else "no GPU found"
            raise ConfigError("device", f"{spec} is not available ({why}); use device=cpu or auto")
        index = int(spec.split(":")[1]) if ":" in spec else 0
        if index >= torch.cuda.device_count():
            raise ConfigError(
                "device",
                f"{spec} is not available: {torch.cuda.device_count()} "
                f"GPU(s), use cuda:0..cuda:{torch.cuda.device_count() - 1}",
            )
    if spec == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("device", "mps is not available here; use device=cpu or auto")
    return torch.device(spec)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
