"""Tiny envs whose true values are known, for the truncation tests. Usable from the CLI as
env.id=tests.envs:<Id> (with the repo root on PYTHONPATH)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np


class ConstantRewardEnv(gym.Env):
    """One state, reward 1 every step. `terminate_after` steps end the episode by termination;
    with None it never terminates (infinite horizon), so only a time limit ends it."""

    def __init__(self, terminate_after: int | None = None, discrete_obs: bool = False) -> None:
        self.terminate_after = terminate_after
        self.action_space = gym.spaces.Discrete(2)
        self.observation_space = (
            gym.spaces.Discrete(1)
            if discrete_obs
            else gym.spaces.Box(0.0, 1.0, shape=(1,), dtype=np.float32)
        )
        self._t = 0

    def _obs(self):
        return (
            0
            if isinstance(self.observation_space, gym.spaces.Discrete)
            else np.ones(1, dtype=np.float32)
        )

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._t = 0
        return self._obs(), {}

    def step(self, action):
        self._t += 1
        terminated = self.terminate_after is not None and self._t >= self.terminate_after
        return self._obs(), 1.0, terminated, False, {}


gym.register("ForeverTimeLimit-v0", entry_point=ConstantRewardEnv, max_episode_steps=5)
gym.register(
    "ForeverTimeLimitDiscrete-v0",
    entry_point=ConstantRewardEnv,
    max_episode_steps=5,
    kwargs={"discrete_obs": True},
)
gym.register("TerminateAfterOne-v0", entry_point=ConstantRewardEnv, kwargs={"terminate_after": 1})
gym.register(
    "TerminateAfterOneDiscrete-v0",
    entry_point=ConstantRewardEnv,
    kwargs={"terminate_after": 1, "discrete_obs": True},
)


class NaNRewardEnv(ConstantRewardEnv):
    """ConstantRewardEnv whose reward turns NaN after `nan_after` steps: a diverging run."""

    def __init__(self, nan_after: int = 150, discrete_obs: bool = True) -> None:
        super().__init__(discrete_obs=discrete_obs)
        self.nan_after = nan_after
        self._total = 0

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        self._total += 1
        return (
            obs,
            reward if self._total < self.nan_after else float("nan"),
            terminated,
            truncated,
            info,
        )


gym.register("NaNReward-v0", entry_point=NaNRewardEnv, max_episode_steps=10)


class ObservationKindEnv(gym.Env):
    """Reward 1 per step for 5 steps, with a Dict observation (`kind="dict"`: a position and a
    goal id), an image one (`kind="image"`: 8x8 RGB pixels), a Dict of two uint8 cameras
    (`pixels_dict`) or a Dict with a text part no network takes (`text`)."""

    def __init__(self, kind: str = "dict") -> None:
        self.kind = kind
        self.action_space = gym.spaces.Discrete(2)
        if kind == "dict":
            self.observation_space = gym.spaces.Dict(
                {
                    "position": gym.spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32),
                    "goal": gym.spaces.Discrete(3),
                }
            )
        elif kind == "image":
            self.observation_space = gym.spaces.Box(0, 255, shape=(8, 8, 3), dtype=np.uint8)
        elif kind == "pixels_dict":  # two 2x2 grey cameras
            camera = gym.spaces.Box(0, 255, shape=(2, 2), dtype=np.uint8)
            self.observation_space = gym.spaces.Dict({"left": camera, "right": camera})
        else:  # "text": a position and a text instruction
            self.observation_space = gym.spaces.Dict(
                {
                    "position": gym.spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32),
                    "goal": gym.spaces.Discrete(3),
                    "mission": gym.spaces.Text(10),
                }
            )
        self._t = 0

    def _obs(self):
        if self.kind == "image":
            return np.full((8, 8, 3), 51 * self._t, dtype=np.uint8)
        if self.kind == "pixels_dict":
            return {
                "left": np.full((2, 2), self._t, np.uint8),
                "right": np.full((2, 2), 9, np.uint8),
            }
        position = np.full(2, self._t / 5, dtype=np.float32)
        if self.kind == "dict":
            return {"position": position, "goal": self._t % 3}
        return {"position": position, "goal": self._t % 3, "mission": "go"}

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._t = 0
        return self._obs(), {}

    def step(self, action):
        self._t += 1
        return self._obs(), 1.0, self._t >= 5, False, {}


gym.register("DictObs-v0", entry_point=ObservationKindEnv, kwargs={"kind": "dict"})
gym.register("ImageObs-v0", entry_point=ObservationKindEnv, kwargs={"kind": "image"})
gym.register("PixelsDictObs-v0", entry_point=ObservationKindEnv, kwargs={"kind": "pixels_dict"})
gym.register("TextObs-v0", entry_point=ObservationKindEnv, kwargs={"kind": "text"})


class SuccessInfoEnv(ConstantRewardEnv):
    """Terminates after 3 steps, saying `is_success` and `score` in the info of its last step
    only (as a trading env gives its Sharpe ratio). The score is `score` plus the last digit of
    the seed the env was last reset with, so the copies of a vector env score apart."""

    def __init__(self, score: float = 1.0) -> None:
        super().__init__(terminate_after=3, discrete_obs=True)
        self.score = score
        self.offset = 0

    def reset(self, *, seed=None, options=None):
        if seed is not None:
            self.offset = seed % 10
        return super().reset(seed=seed, options=options)

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        last = {"is_success": True, "score": self.score + self.offset} if terminated else {}
        return obs, reward, terminated, truncated, {**info, **last}


gym.register("SuccessInfo-v0", entry_point=SuccessInfoEnv)


class DropScoreOfSeed1(gym.Wrapper):
    """Removes `score` from the infos of a SuccessInfoEnv reset with seed 1 (one copy of two)."""

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        if self.env.unwrapped.offset == 1:
            info = {k: v for k, v in info.items() if k != "score"}
        return obs, reward, terminated, truncated, info


class NaNForSeedEnv(ConstantRewardEnv):
    """ConstantRewardEnv whose rewards turn NaN after `nan_after` steps, only in a copy first
    reset with `bad_seed`: one diverging seed of a seed-batched group."""

    def __init__(self, bad_seed: int = 1, nan_after: int = 50) -> None:
        super().__init__(discrete_obs=True)
        self.bad_seed, self.nan_after = bad_seed, nan_after
        self._bad: bool | None = None
        self._total = 0

    def reset(self, *, seed=None, options=None):
        if self._bad is None:
            self._bad = seed == self.bad_seed
        return super().reset(seed=seed, options=options)

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        self._total += 1
        nan = self._bad and self._total >= self.nan_after
        return obs, float("nan") if nan else reward, terminated, truncated, info


gym.register("NaNForSeed-v0", entry_point=NaNForSeedEnv, max_episode_steps=10)
