"""Demonstrations on disk: what `rlrun-demos` writes and `demos=<file>` reads.

Format "rlrun-demos", version 1: one `.npz` (numpy's zip of arrays, read with
`allow_pickle=False`, so a file can hold no code) with one row per env step, episodes one after
another:

    obs          (T, *obs_shape)   the observation the action was taken in
    actions      (T, *act_shape)
    rewards      (T,) float64      the env's own reward
    next_obs     (T, *obs_shape)   the true next observation (the final one at an episode end)
    terminated   (T,) bool         the episode ended in a terminal state
    truncated    (T,) bool         the episode was cut off (time limit); every episode ends in one
    meta         ()   str          JSON: format, version, env_id, env_kwargs, source, step, ...

Any tool that reads npz reads it; `load_demos` checks the format and version first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rlrun.errors import ConfigError
from rlrun.records import atomic_file

FORMAT = "rlrun-demos"
VERSION = 1
ARRAYS = ("obs", "actions", "rewards", "next_obs", "terminated", "truncated")


@dataclass
class Demos:
    """Demonstrated episodes, step by step (see the module's docstring for the arrays)."""

    obs: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    next_obs: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def ends(self) -> np.ndarray:
        """Where each episode ends (its last row)."""
        return np.flatnonzero(self.terminated | self.truncated)

    @property
    def episodes(self) -> int:
        return len(self.ends)

    @property
    def starts(self) -> np.ndarray:
        """Where each episode starts (its first row)."""
        return np.concatenate([[0], self.ends[:-1] + 1])

    def time_steps(self) -> np.ndarray:
        """Each row's step within its episode (0 at every start)."""
        t = np.arange(len(self.rewards))
        return t - np.repeat(self.starts, np.diff(np.concatenate([self.starts, [len(t)]])))

    def returns(self) -> np.ndarray:
        """Each episode's undiscounted return."""
        return np.add.reduceat(self.rewards, self.starts) if len(self.rewards) else np.zeros(0)


def write_arrays(path: Path, fmt: str, meta: dict[str, Any], arrays: dict[str, Any]) -> Path:
    """`arrays` and the JSON `meta` (with format and version) as an npz, written atomically (a
    reader never sees half a file)."""
    meta = {"format": fmt, "version": VERSION, **meta}
    with atomic_file(path, "wb") as f:
        np.savez_compressed(f, **arrays, meta=np.array(json.dumps(meta)))
    return path


def read_arrays(
    path: Path, fmt: str, names: tuple[str, ...], key: str
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(meta, arrays) of a file `write_arrays` wrote in format `fmt`, or a one-line error under
    `key` saying what is wrong with it."""
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            arrays = {name: data[name] for name in names}
    except (OSError, ValueError, KeyError) as e:
        raise ConfigError(key, f"{path}: not an {fmt} file ({e})") from None
    if meta.get("format") != fmt or meta.get("version") != VERSION:
        raise ConfigError(
            key,
            f"{path}: format {meta.get('format')!r} version {meta.get('version')!r}; "
            f"this rlrun reads {fmt} version {VERSION}",
        )
    return meta, arrays


def save_demos(path: Path, demos: Demos) -> Path:
    return write_arrays(path, FORMAT, demos.meta, {n: getattr(demos, n) for n in ARRAYS})


def load_demos(path: str | Path, key: str = "demos") -> Demos:
    """The demonstrations in `path`, or a one-line error under `key` saying what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(
            key, f"{path}: no such file; record one with rlrun-demos <run_dir> episodes=N"
        )
    meta, arrays = read_arrays(path, FORMAT, ARRAYS, key)
    demos = Demos(**arrays, meta=meta)
    if not len(demos.rewards) or not (demos.terminated[-1] or demos.truncated[-1]):
        raise ConfigError(key, f"{path}: holds no whole episode")
    return demos


# --- recovered rewards ----------------------------------------------------------------------------

# What an inverse-RL run writes as <run_dir>/reward.npz and `reward=<run_dir>` reads: format
# "rlrun-reward" version 1, `reward` float64, of a tabular env: (S,) the reward of arriving in
# s', or (S, A) r(s, a); and `meta` (JSON: env_id, env_kwargs, gamma, step, ...).
REWARD_FORMAT = "rlrun-reward"
REWARD_FILE = "reward.npz"


@dataclass
class RecoveredReward:
    table: np.ndarray  # r[s'] or r[s, a]
    meta: dict[str, Any] = field(default_factory=dict)

    def __call__(self, obs: np.ndarray, action: np.ndarray, next_obs: np.ndarray) -> np.ndarray:
        return self.table[next_obs] if self.table.ndim == 1 else self.table[obs, action]


def save_reward(path: Path, reward: RecoveredReward) -> Path:
    return write_arrays(path, REWARD_FORMAT, reward.meta, {"reward": reward.table})


def load_reward(path: str | Path, key: str = "reward") -> RecoveredReward:
    """The recovered reward in `path` (an IRL run's directory or its reward.npz)."""
    path = Path(path)
    file = path / REWARD_FILE if path.is_dir() else path
    if not file.is_file():
        raise ConfigError(
            key,
            f"{file}: no such file; give an inverse-RL run's directory (e.g. an agent=mce_irl "
            f"run, which writes {REWARD_FILE}) or the file itself",
        )
    meta, arrays = read_arrays(file, REWARD_FORMAT, ("reward",), key)
    return RecoveredReward(arrays["reward"], meta)


def check_source_env(meta: dict[str, Any], env_id: str, kwargs: dict[str, Any], key: str) -> None:
    """Demonstrations or a reward made on one env refuse to be used on another."""
    made = (meta.get("env_id"), meta.get("env_kwargs", {}))
    if made != (env_id, kwargs):
        raise ConfigError(
            key,
            f"made on {made[0]} with kwargs {made[1]}, but this run's env is {env_id} with "
            f"kwargs {kwargs}; choose that env (env.id, env.kwargs) or {key} made on this one",
        )
