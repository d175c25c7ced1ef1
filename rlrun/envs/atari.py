"""The two Atari wrappers Gymnasium lacks, as SB3's atari_wrappers and CleanRL's Atari scripts
use them. The rest of the standard stack is Gymnasium's (conf/env/atari.yaml): AtariPreprocessing
(no-op reset, max-and-skip 4, 84x84 grey), then these two, ClipReward, FrameStackObservation."""

from __future__ import annotations

from typing import Any

import gymnasium as gym


def ale(env: gym.Env) -> Any:
    """The ALE interface of an Atari env under any wrappers."""
    return env.unwrapped.ale  # type: ignore[attr-defined]


class EpisodicLife(gym.Wrapper):
    """A lost life ends the episode for the learner (terminated), but the game goes on: the next
    reset only resets the emulator when the game is over, else it takes one no-op step. The
    episode statistics below this wrapper still count whole games (Mnih et al. 2015)."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.lives = 0
        self.game_over = True

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.game_over = terminated or truncated
        lives = ale(self.env).lives()
        # lives > 0: some games sit at 0 lives for a few frames before the game ends
        if 0 < lives < self.lives:
            terminated = True
        self.lives = lives
        return obs, float(reward), terminated, truncated, info

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        if self.game_over:
            obs, info = self.env.reset(**kwargs)
        else:
            obs, _, terminated, truncated, info = self.env.step(0)
            if terminated or truncated:  # the no-op itself ended the game
                obs, info = self.env.reset(**kwargs)
        self.game_over = False
        self.lives = ale(self.env).lives()
        return obs, info


class FireReset(gym.Wrapper):
    """Press FIRE (then UP) after every reset, for games that wait for it to start (Breakout):
    a deterministic policy that never fires would otherwise stand still until the time limit.
    Games without a FIRE action pass through unchanged."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        meanings = env.unwrapped.get_action_meanings()  # type: ignore[attr-defined]
        self.active = len(meanings) >= 3 and meanings[1] == "FIRE"

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        if not self.active:
            return obs, info
        for action in (1, 2):
            obs, _, terminated, truncated, info = self.env.step(action)
            if terminated or truncated:
                obs, info = self.env.reset(**kwargs)
        return obs, info
