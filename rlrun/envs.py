"""Gymnasium vector envs, built the one way every agent relies on.

SAME_STEP autoreset: the step that ends an episode returns the first observation of the next one,
and `infos["final_obs"]` holds the true last observation, so no fake transition crosses an episode
boundary. Episode returns and lengths come from Gymnasium's RecordEpisodeStatistics.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from gymnasium.wrappers.vector import RecordEpisodeStatistics

from rlrun.errors import ConfigError
from rlrun.schema import EnvConfig


def make_kwargs(cfg: EnvConfig) -> dict:
    """The arguments `gym.make` gets for this env config (its kwargs and time limit)."""
    kwargs = dict(cfg.kwargs)
    if cfg.max_episode_steps is not None:
        kwargs["max_episode_steps"] = cfg.max_episode_steps
    return kwargs


def make_vec_env(cfg: EnvConfig, num_envs: int) -> gym.vector.VectorEnv:
    kwargs = make_kwargs(cfg)
    try:
        env = gym.make_vec(
            cfg.id,
            num_envs=num_envs,
            vectorization_mode="sync",
            vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP},
            **kwargs,
        )
    except (gym.error.Error, ModuleNotFoundError) as e:
        raise ConfigError("env.id", f"cannot make {cfg.id!r}: {e}") from None
    except TypeError as e:
        raise ConfigError("env.kwargs", f"{cfg.id} rejected its arguments: {e}") from None
    return RecordEpisodeStatistics(env)


def true_next_obs(next_obs: np.ndarray, infos: dict) -> np.ndarray:
    """`next_obs` with the true final observation put back where an episode just ended."""
    ended = infos.get("_final_obs")
    if ended is None or not ended.any():
        return next_obs
    out = next_obs.copy()
    out[ended] = np.stack(infos["final_obs"][ended])
    return out


def is_success(
    rule: str | None, reward: np.ndarray, terminated: np.ndarray, infos: dict
) -> np.ndarray | None:
    """Per env, whether an episode that ends now counts as a success under `env.success`."""
    if rule == "terminated":
        return terminated.copy()
    if rule == "positive_reward":
        return reward > 0
    if rule == "is_success":
        return np.asarray(infos.get("is_success", np.zeros_like(terminated)), dtype=bool)
    return None
