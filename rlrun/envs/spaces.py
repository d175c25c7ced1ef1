"""The kinds of observation and action space that agents, encoders and bonuses declare."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

# What the capability checks name: Discrete, Box (vectors), image Box, Dict; any other space is
# named by its class. Agents never meet Dict, Tuple, MultiBinary or MultiDiscrete observations:
# the env builder flattens those to a Box (rlrun/envs/wrappers.py).
KINDS = ("discrete", "box", "image", "dict")


def is_image(space: gym.Space) -> bool:
    """A Box of uint8 pixels, H x W x C or C x H x W with 1, 3 or 4 channels (as SB3 decides)."""
    return (
        isinstance(space, gym.spaces.Box)
        and space.dtype == np.uint8
        and len(space.shape) == 3
        and (space.shape[0] in (1, 3, 4) or space.shape[-1] in (1, 3, 4))
    )


def space_kind(space: gym.Space) -> str:
    if isinstance(space, gym.spaces.Discrete):
        return "discrete"
    if isinstance(space, gym.spaces.Box):
        return "image" if is_image(space) else "box"
    if isinstance(space, gym.spaces.Dict):
        return "dict"
    return type(space).__name__.lower()
