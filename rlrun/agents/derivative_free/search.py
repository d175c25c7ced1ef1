"""Derivative-free search over linear policies, as a beginner meets it: try a weight matrix for
an episode, score it by its return, and let the scores decide what to try next. Each vector env
scores a candidate of its own, so num_envs candidates run side by side.

`CandidateSearch` holds what the methods share (acting, scoring episodes, logging); each method
says what to try next and what to do with a score: random search and hill climbing keep the best
candidate, the cross-entropy method refits a Gaussian to each generation's elite.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from rlrun.agents.base import Agent
from rlrun.agents.derivative_free.config import CEMConfig, RandomSearchConfig
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


def refit(
    candidates: np.ndarray, scores: np.ndarray, elite_frac: float, extra_std: float
) -> tuple[np.ndarray, np.ndarray]:
    """The cross-entropy method's update: the mean and standard deviation of the best
    ceil(elite_frac * n) candidates (ties broken by order), plus `extra_std` so that the
    distribution does not collapse early (Szita & Lorincz 2006's noise)."""
    n_elite = max(1, int(np.ceil(elite_frac * len(scores))))
    elite = candidates[np.argsort(-scores, kind="stable")[:n_elite]]
    return elite.mean(0), elite.std(0) + extra_std


class CandidateSearch(Agent):
    cfg: Any

    def __init__(
        self, cfg: Any, exploration: Any, spaces: Spaces, device: Any = None, seed: int = 0
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
        self.best = np.zeros(self.shape)
        self.best_score = -np.inf
        self.setup()
        self.candidates = np.stack([self.propose() for _ in range(n)])
        self.returns = np.zeros(n)  # the running episode's return, per env
        self.scores: list[list[float]] = [[] for _ in range(n)]  # the candidate's episodes
        self.tried = 0  # candidates scored so far
        self.logged: list[float] = []  # scores since the last log

    def setup(self) -> None:
        """The method's own state, before the first candidates are proposed."""

    def propose(self) -> np.ndarray:
        raise NotImplementedError

    def scored(self, candidate: np.ndarray, score: float, improved: bool) -> None:
        """What the method does with a candidate's score (the best is already updated)."""

    def policy(self) -> np.ndarray:
        """The weights evaluation acts with."""
        return self.best

    def act(self, obs: np.ndarray, *, explore: bool) -> np.ndarray:
        flat = obs.reshape(len(obs), -1).astype(np.float64)
        n = len(obs)
        weights = self.candidates if explore else np.broadcast_to(self.policy(), (n, *self.shape))
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
        self.scored(self.candidates[i], score, improved)
        self.candidates[i] = self.propose()

    def pop_metrics(self) -> dict[str, float]:
        if not self.logged:
            return {}
        out = {
            "charts/candidate_return": float(np.mean(self.logged)),
            "charts/best_return": float(self.best_score),
            "charts/candidates": float(self.tried),
            **self.charts(),
        }
        self.logged = []
        return out

    def charts(self) -> dict[str, float]:
        return {}


class RandomSearch(CandidateSearch):
    """`random`: every candidate W ~ N(0, I) afresh; `hill_climbing`: the best plus
    noise * N(0, I), the scale adapted after each score (`adapt_noise`)."""

    cfg: RandomSearchConfig

    def setup(self) -> None:
        self.noise = self.cfg.noise_scale

    def propose(self) -> np.ndarray:
        noise = self.rng.standard_normal(self.shape)
        if self.cfg.variant == "hill_climbing" and np.isfinite(self.best_score):
            return self.best + self.noise * noise
        return noise

    def scored(self, candidate: np.ndarray, score: float, improved: bool) -> None:
        if self.cfg.variant == "hill_climbing" and self.cfg.adaptive and self.tried > 1:
            self.noise = adapt_noise(self.noise, improved, self.cfg.noise_min, self.cfg.noise_max)

    def charts(self) -> dict[str, float]:
        return {"charts/noise_scale": self.noise} if self.cfg.variant == "hill_climbing" else {}


class CEM(CandidateSearch):
    """The cross-entropy method: candidates from N(mean, diag(std^2)); once `population` are
    scored, the Gaussian is refit to their elite (`refit`). Evaluation acts with the mean."""

    cfg: CEMConfig

    def setup(self) -> None:
        self.mean = np.zeros(self.shape)
        self.std = np.full(self.shape, self.cfg.init_std)
        self.generation: list[tuple[np.ndarray, float]] = []
        self.generations = 0

    def propose(self) -> np.ndarray:
        return self.mean + self.std * self.rng.standard_normal(self.shape)

    def scored(self, candidate: np.ndarray, score: float, improved: bool) -> None:
        self.generation.append((candidate.copy(), score))
        if len(self.generation) < self.cfg.population:
            return
        candidates = np.stack([c for c, _ in self.generation])
        scores = np.array([s for _, s in self.generation])
        self.mean, self.std = refit(candidates, scores, self.cfg.elite_frac, self.cfg.extra_std)
        self.generation = []
        self.generations += 1

    def policy(self) -> np.ndarray:
        return self.mean

    def charts(self) -> dict[str, float]:
        return {"charts/std": float(self.std.mean()), "charts/generations": self.generations}
