"""Gymnasium vector envs, built the one way every agent relies on.

SAME_STEP autoreset: the step that ends an episode returns the first observation of the next one,
and `infos["final_obs"]` holds the true last observation, so no fake transition crosses an episode
boundary. Each sub-env is `gym.make(env.id)`, then Gymnasium's RecordEpisodeStatistics, then the
configured `env.wrappers`: episode returns are the env's own reward, before any wrapper changes it
(as SB3 and CleanRL record Atari scores), and arrive in `infos["final_info"]` (`finished`).
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np
from gymnasium.vector import AsyncVectorEnv, AutoresetMode, SyncVectorEnv
from gymnasium.wrappers import FrameStackObservation, RecordEpisodeStatistics

from rlrun.config.run import EnvConfig
from rlrun.envs.wrappers import flatten_structured, float32_observations
from rlrun.errors import ConfigError


def make_kwargs(cfg: EnvConfig) -> dict[str, Any]:
    """The arguments `gym.make` gets for this env config (its kwargs and time limit)."""
    kwargs = dict(cfg.kwargs)
    if cfg.max_episode_steps is not None:
        kwargs["max_episode_steps"] = cfg.max_episode_steps
    return kwargs


def wrapper_factories(cfg: EnvConfig) -> list[Callable[[gym.Env], gym.Env]]:
    """`env.wrappers` as functions of the env, each class imported now (a typo fails here)."""
    out: list[Callable[[gym.Env], gym.Env]] = []
    for i, spec in enumerate(cfg.wrappers):
        kwargs = {k: v for k, v in spec.items() if k != "_target_"}
        out.append(functools.partial(_wrap, i, import_target(spec["_target_"], i), kwargs))
    return out


def import_target(target: str, i: int) -> Any:
    """`module.Class` or `module:Class`."""
    module, sep, name = target.partition(":") if ":" in target else target.rpartition(".")
    if not sep:
        raise ConfigError(f"env.wrappers[{i}]._target_", f"got {target!r}; use module.Class")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as e:
        raise ConfigError(f"env.wrappers[{i}]._target_", f"cannot import {target!r}: {e}") from None


def _wrap(i: int, cls: Any, kwargs: dict[str, Any], env: gym.Env) -> gym.Env:
    try:
        wrapped: gym.Env = cls(env, **kwargs)
        return wrapped
    except TypeError as e:
        raise ConfigError(
            f"env.wrappers[{i}]", f"{cls.__name__} rejected its arguments: {e}"
        ) from None


def frame_stack(cfg: EnvConfig) -> int:
    """How many frames each observation stacks along axis 0: `stack_size` when the last of
    `env.wrappers` is Gymnasium's FrameStackObservation with its default padding, else 1."""
    if not cfg.wrappers:
        return 1
    last = cfg.wrappers[-1]
    padding = last.get("padding_type", "reset")
    if import_target(last["_target_"], len(cfg.wrappers) - 1) is not FrameStackObservation:
        return 1
    return int(last.get("stack_size", 1)) if padding == "reset" else 1


def make_env(cfg: EnvConfig) -> gym.Env:
    """One env as the vector env's sub-envs are: made, episode statistics, `env.wrappers`."""
    factories = wrapper_factories(cfg)
    try:
        env = gym.make(cfg.id, **make_kwargs(cfg))
    except (gym.error.Error, ModuleNotFoundError) as e:
        raise ConfigError("env.id", f"cannot make {cfg.id!r}: {e}") from None
    except Exception as e:  # noqa: BLE001 - any constructor error here comes from env.kwargs
        why = f"{type(e).__name__}: {e}".strip().splitlines()[0]
        if not cfg.kwargs:
            raise ConfigError("env.id", f"making {cfg.id!r} failed: {why}") from None
        raise ConfigError(
            "env.kwargs", f"{cfg.id} rejected its arguments {dict(cfg.kwargs)}: {why}"
        ) from None
    return wrap_env(env, cfg, factories)


def wrap_env(
    env: gym.Env, cfg: EnvConfig, factories: list[Callable[[gym.Env], gym.Env]] | None = None
) -> gym.Env:
    """Episode statistics on the env's own reward, then `env.wrappers` in order, then structured
    observations (Dict, Tuple, ...) flattened to one Box, float64 ones made float32."""
    env = RecordEpisodeStatistics(env)
    for wrap in wrapper_factories(cfg) if factories is None else factories:
        env = wrap(env)
    return float32_observations(flatten_structured(env, cfg.id))


def make_vec_env(cfg: EnvConfig, num_envs: int) -> gym.vector.VectorEnv:
    """`num_envs` copies of `make_env`, stepped in this process (sync) or one process each."""
    vector = SyncVectorEnv if cfg.vectorization == "sync" else AsyncVectorEnv
    fns = [functools.partial(make_env, cfg)] * num_envs
    return vector(fns, autoreset_mode=AutoresetMode.SAME_STEP)


def true_next_obs(next_obs: np.ndarray, infos: dict[str, Any]) -> np.ndarray:
    """`next_obs` with the true final observation put back where an episode just ended."""
    ended = infos.get("_final_obs")
    if ended is None or not ended.any():
        return next_obs
    out = next_obs.copy()
    out[ended] = np.stack(infos["final_obs"][ended])
    return out


class Finished(NamedTuple):
    """The episodes that ended in one vector step: which envs, their returns and lengths."""

    envs: np.ndarray  # bool, per env
    returns: np.ndarray
    lengths: np.ndarray
    final_info: dict[str, Any]  # the last step's info of each env (masked like `envs`)


def finished(infos: dict[str, Any]) -> Finished | None:
    """The episodes that ended in this step (RecordEpisodeStatistics'); None if none did."""
    final = infos.get("final_info")
    ended = None if final is None else final.get("_episode")
    if final is None or ended is None or not ended.any():
        return None
    return Finished(ended, final["episode"]["r"], final["episode"]["l"], final)


def episode_metrics(keys: list[str], env_id: str, done: Finished) -> dict[str, np.ndarray]:
    """`env.episode_metrics` from the last step's info of the episodes that just ended, per env
    (each env that ended must give every key: gymnasium fills the others' rows with zeros)."""
    out = {}
    for key in keys:
        info = done.final_info
        lacking = np.flatnonzero(done.envs & ~info.get(f"_{key}", np.zeros_like(done.envs)))
        if len(lacking):
            i = lacking[0]
            present = sorted(k for k in info if f"_{k}" in info and info[f"_{k}"][i]) or ["none"]
            raise ConfigError(
                "env.episode_metrics",
                f"{env_id} put no {key!r} in the info of an episode's last step; "
                f"keys there: {', '.join(present)}",
            )
        out[key] = np.asarray(info[key], dtype=np.float64)
    return out


def is_success(
    rule: str | None, reward: np.ndarray, terminated: np.ndarray, done: Finished
) -> np.ndarray | None:
    """Per env, whether an episode that ends now counts as a success under `env.success`."""
    if rule == "terminated":
        return terminated.copy()
    if rule == "positive_reward":
        return reward > 0
    if rule == "is_success":  # from the episode's last step, not the next episode's reset
        flags = done.final_info.get("is_success", np.zeros_like(terminated))
        return np.asarray(flags, dtype=bool) & done.final_info.get("_is_success", done.envs)
    return None
