"""Random search and hill climbing over linear policies, as a beginner meets them: try a weight
matrix for an episode, keep the best one seen. Each vector env scores its own candidate, so
num_envs candidates run side by side; evaluation acts with the best."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from rlrun.agents.base import Agent
from rlrun.agents.derivative_free.config import RandomSearchConfig
from rlrun.transition import Spaces, Transition


def linear_actions(weights: np.ndarray, obs: np.ndarray, space: gym.Space) -> np.ndarray:
    """Per env i, the action of W_i s_i: argmax (discrete) or clipped to the bounds (Box).
    weights [n, n_out, obs_dim], obs [n, obs_dim]."""
    out = np.einsum("noi,ni->no", weights, obs)
    if isinstance(space, gym.spaces.Discrete):
        return out.argmax(-1)
    assert isinstance(space, gym.spaces.Box)
    return np.clip(out, space.low, space.high).reshape(len(obs), *space.shape).astype(space.dtype)


def adapt_noise(scale: float, improved: bool, low: float, high: float) -> float:
    """Hill climbing's adaptive scale: halved after an improvement (search close to the new
    best), doubled after a failure (look further away), kept within [low, high]."""
    return float(np.clip(scale / 2 if improved else scale * 2, low, high))


class RandomSearch(Agent):
    def __init__(
        self,
        cfg: RandomSearchConfig,
        exploration: Any,
        spaces: Spaces,
        device: Any = None,
        seed: int = 0,
    ) -> None:
        self.cfg = cfg
        self.action_space = spaces.action
        obs_dim = int(np.prod(spaces.observation.shape or (1,)))
        n_out = (
            int(spaces.action.n)
            if isinstance(spaces.action, gym.spaces.Discrete)
            else int(np.prod(spaces.action.shape or (1,)))
        )
        self.shape = (n_out, obs_dim)
        self.rng = np.random.default_rng(seed)
        n = spaces.num_envs
        self.best = self.rng.standard_normal(self.shape)
        self.best_score = -np.inf
        self.noise = cfg.noise_scale
        self.candidates = np.stack([self._propose() for _ in range(n)])
        self.returns = np.zeros(n)  # the running episode's return, per env
        self.scores: list[list[float]] = [[] for _ in range(n)]  # the candidate's episodes
        self.tried = 0  # candidates scored so far
        self.logged: list[float] = []  # scores since the last log

    def _propose(self) -> np.ndarray:
        noise = self.rng.standard_normal(self.shape)
        if self.cfg.variant == "hill_climbing" and np.isfinite(self.best_score):
            return self.best + self.noise * noise
        return noise

    def act(self, obs: np.ndarray, *, explore: bool) -> np.ndarray:
        flat = obs.reshape(len(obs), -1).astype(np.float64)
        weights = (
            self.candidates if explore else np.broadcast_to(self.best, (len(obs), *self.shape))
        )
        return linear_actions(weights, flat, self.action_space)

    def observe(self, t: Transition, step: int) -> None:
        self.returns += t.reward
        for i in map(int, np.flatnonzero(t.terminated | t.truncated)):
            self.scores[i].append(float(self.returns[i]))
            self.returns[i] = 0.0
            if len(self.scores[i]) == self.cfg.episodes_per_candidate:
                self._score(i, float(np.mean(self.scores[i])))
                self.scores[i] = []

    def _score(self, i: int, score: float) -> None:
        """Candidate i has its score: keep it if it is the best yet, then propose the next."""
        self.tried += 1
        self.logged.append(score)
        improved = score > self.best_score
        if improved:
            self.best, self.best_score = self.candidates[i].copy(), score
        if self.cfg.variant == "hill_climbing" and self.cfg.adaptive and self.tried > 1:
            self.noise = adapt_noise(self.noise, improved, self.cfg.noise_min, self.cfg.noise_max)
        self.candidates[i] = self._propose()

    def pop_metrics(self) -> dict[str, float]:
        if not self.logged:
            return {}
        out = {
            "charts/candidate_return": float(np.mean(self.logged)),
            "charts/best_return": float(self.best_score),
            "charts/candidates": float(self.tried),
        }
        if self.cfg.variant == "hill_climbing":
            out["charts/noise_scale"] = self.noise
        self.logged = []
        return out
