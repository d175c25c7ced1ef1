"""What rlrun does to an env's observations itself: float64 becomes float32, and structured
observations (Dict, Tuple, MultiBinary, MultiDiscrete) become one flat Box, so every agent,
buffer and encoder keeps one array per observation. SB3's CombinedExtractor flattens the same
non-image parts (after its buffers); image parts, which it scales and passes through a CNN, stay
raw numbers here (flattened: a CNN over one part of a Dict is not built yet)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rlrun.errors import ConfigError

# Leaves gymnasium flattens to numbers: Discrete and MultiDiscrete one-hot, the rest as they are.
FLAT_LEAVES = (spaces.Box, spaces.Discrete, spaces.MultiBinary, spaces.MultiDiscrete)


def leaves(space: gym.Space, path: str = "") -> list[tuple[str, gym.Space]]:
    """Every leaf of a (nested) Dict or Tuple space with its path, e.g. ("['image']", Box)."""
    if isinstance(space, spaces.Dict):
        return [leaf for k, s in space.spaces.items() for leaf in leaves(s, f"{path}[{k!r}]")]
    if isinstance(space, spaces.Tuple):
        return [leaf for i, s in enumerate(space.spaces) for leaf in leaves(s, f"{path}[{i}]")]
    return [(path, space)]


class FlattenStructured(gym.ObservationWrapper):
    """A structured observation as one Box, leaves in the space's own (sorted-key) order: float32,
    or uint8 when every leaf is a uint8 Box (pixels stay a quarter of the size in replay)."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.structured = env.observation_space
        flat = spaces.flatten_space(self.structured)
        assert isinstance(flat, spaces.Box)  # every leaf is one of FLAT_LEAVES
        pixels = all(
            isinstance(s, spaces.Box) and s.dtype == np.uint8 for _, s in leaves(self.structured)
        )
        dtype: Any = np.uint8 if pixels else np.float32
        self.observation_space = spaces.Box(
            flat.low.astype(dtype), flat.high.astype(dtype), dtype=dtype
        )

    def observation(self, observation: Any) -> np.ndarray:
        flat = spaces.flatten(self.structured, observation)
        return np.asarray(flat, dtype=self.observation_space.dtype)


class Float32Observations(gym.ObservationWrapper):
    """float64 Box observations (MuJoCo's) as float32, which every network computes in: half
    the replay memory, and no float64 tensor meets a float32 layer."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        space = env.observation_space
        assert isinstance(space, spaces.Box)
        low, high = space.low.astype(np.float32), space.high.astype(np.float32)
        self.observation_space = spaces.Box(low, high, dtype=np.float32)

    def observation(self, observation: Any) -> np.ndarray:
        return np.asarray(observation, dtype=np.float32)


def float32_observations(env: gym.Env) -> gym.Env:
    space = env.observation_space
    float64 = isinstance(space, spaces.Box) and space.dtype == np.float64
    return Float32Observations(env) if float64 else env


def flatten_structured(env: gym.Env, env_id: str) -> gym.Env:
    """`env` as it is for Box and Discrete observations, else flattened; a one-line error naming a
    wrapper to use when a part of the observation is not numbers (text, graphs, sequences)."""
    space = env.observation_space
    if isinstance(space, spaces.Box | spaces.Discrete):
        return env
    for path, leaf in leaves(space):
        if not isinstance(leaf, FLAT_LEAVES):
            where = f"key {path}" if path else "the whole observation"
            raise ConfigError(
                "env.wrappers",
                f"{env_id}'s {where} is a {type(leaf).__name__}, "
                f"which no network takes; {_remedy(env, space, path)}",
            )
    return FlattenStructured(env)


def _remedy(env: gym.Env, space: gym.Space, path: str) -> str:
    if type(env.unwrapped).__module__.startswith("minigrid."):
        return (
            "add env.wrappers='[{_target_: minigrid.wrappers.FlatObsWrapper}]' (image and "
            "mission) or minigrid.wrappers.ImgObsWrapper (image only), as env=minigrid_doorkey does"
        )
    if isinstance(space, spaces.Dict) and path.count("[") == 1:
        keep = [k for k in space.spaces if f"[{k!r}]" != path]
        return (
            "drop it with env.wrappers='[{_target_: gymnasium.wrappers.FilterObservation, "
            f"filter_keys: {keep}}}]'"
        )
    return "turn it into numbers with a gymnasium.ObservationWrapper in env.wrappers"
