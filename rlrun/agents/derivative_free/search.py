"""Derivative-free policy search, as a beginner meets it: try a policy's parameters for an
episode, score them by the return, and let the scores decide what to try next. Each vector env
scores a candidate of its own, so num_envs candidates run side by side.

`CandidateSearch` holds what the methods share (the policy class, acting, scoring episodes,
logging); each method says what to try next and what to do with a score: random search and hill
climbing keep the best candidate, the cross-entropy method refits a Gaussian to each
generation's elite, ARS steps along the return differences of antithetic perturbations.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rlrun.agents.base import Agent
from rlrun.agents.derivative_free.config import ARSConfig, CEMConfig, RandomSearchConfig
from rlrun.agents.derivative_free.policies import FlatPolicy
from rlrun.normalize import ObsNormalizer, RunningMeanStd
from rlrun.transition import Spaces, Transition


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


def ars_step(
    theta: np.ndarray,
    deltas: np.ndarray,
    plus: np.ndarray,
    minus: np.ndarray,
    learning_rate: float,
    n_top: int,
) -> tuple[np.ndarray, float, float]:
    """ARS's update (Mania et al. 2018, Algorithm 2): of the directions delta_k (unscaled,
    [n_delta, size]) keep the n_top whose better return max(r+_k, r-_k) is highest, and step
    theta += alpha / (n_top * sigma_R) * sum_k (r+_k - r-_k) delta_k, sigma_R the std of the
    2 n_top returns kept. sigma_R with Bessel's correction, as sb3-contrib, whose tuned presets
    rlrun's are (the authors' code divides by n: a step sqrt(2b / (2b - 1)) larger).
    Returns the new theta, sigma_R and the step size."""
    top = np.argsort(-np.maximum(plus, minus), kind="stable")[:n_top]
    kept = np.concatenate([plus[top], minus[top]])
    sigma = float(kept.std(ddof=1)) if len(kept) > 1 else 0.0
    step = learning_rate / (n_top * sigma + 1e-6)
    return theta + step * ((plus[top] - minus[top]) @ deltas[top]), sigma, step


class CandidateSearch(Agent):
    cfg: Any

    def __init__(
        self, cfg: Any, exploration: Any, spaces: Spaces, device: Any = None, seed: int = 0
    ) -> None:
        self.cfg = cfg
        self.obs_dim = int(np.prod(spaces.observation.shape or (1,)))
        self.net = FlatPolicy(
            self.obs_dim,
            spaces.action,
            cfg.policy,
            cfg.net_arch,
            cfg.activation,
            cfg.action_bounds,
        )
        self.rng = np.random.default_rng(seed)
        n = self.num_envs = spaces.num_envs
        self.best = np.zeros(self.net.size)
        self.best_score = -np.inf
        self.reward_offset = 0.0  # added to a candidate's score per step (ARS's alive bonus)
        self.setup()
        self.candidates = np.zeros((n, self.net.size))
        self.searching = np.zeros(n, bool)  # env i scores a candidate, else runs the policy
        self.returns = np.zeros(n)  # the running episode's return, per env
        self.lengths = np.zeros(n, np.int64)
        self.scores: list[list[float]] = [[] for _ in range(n)]  # the candidate's episodes
        self.tried = 0  # candidates scored so far
        self.logged: list[float] = []  # scores since the last log
        self.policy_returns: list[float] = []  # episodes run with the policy, since the last log
        for i in range(n):
            self._assign(i)

    def setup(self) -> None:
        """The method's own state, before the first candidates are proposed."""

    def propose(self, i: int) -> np.ndarray | None:
        """The next candidate, for env i; None: none is due until the method has updated (env i
        runs an episode with the policy meanwhile)."""
        raise NotImplementedError

    def scored(self, i: int, score: float, improved: bool) -> None:
        """What the method does with the score of env i's candidate (the best is updated)."""

    def policy(self) -> np.ndarray:
        """The parameters evaluation acts with."""
        return self.best

    def normalize(self, obs: np.ndarray) -> np.ndarray:
        """The observations as the policy sees them."""
        return obs

    def act(self, obs: np.ndarray, *, explore: bool) -> np.ndarray:
        flat = self.normalize(obs.reshape(len(obs), -1).astype(np.float64))
        params = (
            self.candidates
            if explore
            else np.broadcast_to(self.policy(), (len(obs), self.net.size))
        )
        return self.net.actions(params, flat)

    def observe(self, t: Transition, step: int) -> None:
        self.returns += t.reward
        self.lengths += 1
        free = []  # envs done with their candidate (or policy episode): they take the next
        for i in map(int, np.flatnonzero(t.terminated | t.truncated)):
            if self.searching[i]:
                self.scores[i].append(float(self.returns[i] + self.reward_offset * self.lengths[i]))
                if len(self.scores[i]) == self.cfg.episodes_per_candidate:
                    self._score(i, float(np.mean(self.scores[i])))
                    self.scores[i] = []
                    free.append(i)
            else:
                self.policy_returns.append(float(self.returns[i]))
                free.append(i)
            self.returns[i], self.lengths[i] = 0.0, 0
        # Proposals after every score of the step: when the last score of a generation updates
        # the method, every env that ended with it starts on the next generation.
        for i in free:
            self._assign(i)

    def restart(self) -> np.ndarray | None:
        """Envs running the policy while candidates wait (ARS, after its update) give up their
        policy episode and take the candidates: no env idles while a candidate waits."""
        mask = np.zeros(self.num_envs, bool)
        for i in map(int, np.flatnonzero(~self.searching)):
            candidate = self.propose(i)
            if candidate is None:
                break
            self.candidates[i], self.searching[i], mask[i] = candidate, True, True
            self.returns[i], self.lengths[i] = 0.0, 0
        return mask if mask.any() else None

    def _assign(self, i: int) -> None:
        candidate = self.propose(i)
        self.searching[i] = candidate is not None
        self.candidates[i] = self.policy() if candidate is None else candidate

    def _score(self, i: int, score: float) -> None:
        """Candidate i has its score: keep it if it is the best yet."""
        self.tried += 1
        self.logged.append(score)
        improved = score > self.best_score
        if improved:
            self.best, self.best_score = self.candidates[i].copy(), score
        self.scored(i, score, improved)

    def pop_metrics(self) -> dict[str, float]:
        if not self.logged:
            return {}
        out = {
            "charts/candidate_return": float(np.mean(self.logged)),
            "charts/best_return": float(self.best_score),
            "charts/candidates": float(self.tried),
            **self.charts(),
        }
        if self.policy_returns:
            out["charts/policy_return"] = float(np.mean(self.policy_returns))
        self.logged, self.policy_returns = [], []
        return out

    def charts(self) -> dict[str, float]:
        return {}


class RandomSearch(CandidateSearch):
    """`random`: every candidate ~ N(0, I) afresh; `hill_climbing`: the best plus
    noise * N(0, I), the scale adapted after each score (`adapt_noise`)."""

    cfg: RandomSearchConfig

    def setup(self) -> None:
        self.noise = self.cfg.noise_scale

    def propose(self, i: int) -> np.ndarray:
        noise = self.rng.standard_normal(self.net.size)
        if self.cfg.variant == "hill_climbing" and np.isfinite(self.best_score):
            return self.best + self.noise * noise
        return noise

    def scored(self, i: int, score: float, improved: bool) -> None:
        if self.cfg.variant == "hill_climbing" and self.cfg.adaptive and self.tried > 1:
            self.noise = adapt_noise(self.noise, improved, self.cfg.noise_min, self.cfg.noise_max)

    def charts(self) -> dict[str, float]:
        return {"charts/noise_scale": self.noise} if self.cfg.variant == "hill_climbing" else {}


class CEM(CandidateSearch):
    """The cross-entropy method: candidates from N(mean, diag(std^2)); once `population` are
    scored, the Gaussian is refit to their elite (`refit`). Evaluation acts with the mean."""

    cfg: CEMConfig

    def setup(self) -> None:
        self.mean = np.zeros(self.net.size)
        self.std = np.full(self.net.size, self.cfg.init_std)
        self.generation: list[tuple[np.ndarray, float]] = []
        self.generations = 0

    def propose(self, i: int) -> np.ndarray:
        return self.mean + self.std * self.rng.standard_normal(self.net.size)

    def scored(self, i: int, score: float, improved: bool) -> None:
        self.generation.append((self.candidates[i].copy(), score))
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


class ARS(CandidateSearch):
    """Augmented Random Search: an iteration proposes theta +- delta_std * delta_k for n_delta
    directions, the envs score them as they come free (envs with none left run theta, logged as
    charts/policy_return when such an episode ends before the next iteration starts: then it is
    cut short, `restart`), and the last score steps theta (`ars_step`).
    V2 (normalize_obs) whitens observations by the statistics of every state the candidates
    met in earlier iterations: frozen within one, so the antithetic pairs see the same policy."""

    cfg: ARSConfig

    def setup(self) -> None:
        cfg = self.cfg
        self.reward_offset = cfg.alive_bonus_offset
        self.n_top = cfg.n_top or cfg.n_delta
        self.theta = np.zeros(self.net.size) if cfg.zero_policy else self.net.init(self.rng)
        self.normalizer = ObsNormalizer((self.obs_dim,)) if cfg.normalize_obs else None
        self.slot = np.full(self.num_envs, -1)  # env i scores population member slot[i]
        self.iterations = 0
        self.return_std = self.step_size = 0.0
        self._sample()

    def _sample(self) -> None:
        """A new iteration: n_delta directions, 2 n_delta members (+delta_k first, then
        -delta_k) to score, and fresh statistics of the states they meet."""
        n = self.cfg.n_delta
        self.deltas = self.rng.standard_normal((n, self.net.size))
        self.pending = list(range(2 * n))
        self.population_returns = np.zeros(2 * n)
        self.returned = np.zeros(2 * n, bool)
        self.iteration_obs = RunningMeanStd((self.obs_dim,))  # what the candidates meet

    def propose(self, i: int) -> np.ndarray | None:
        if not self.pending:
            return None
        j = self.pending.pop(0)
        self.slot[i] = j
        n = self.cfg.n_delta
        sign = 1.0 if j < n else -1.0
        return self.theta + sign * self.cfg.delta_std * self.deltas[j % n]

    def observe(self, t: Transition, step: int) -> None:
        if self.normalizer is not None and self.searching.any():
            self.iteration_obs.update(t.obs.reshape(len(t.obs), -1)[self.searching])
        super().observe(t, step)

    def scored(self, i: int, score: float, improved: bool) -> None:
        self.population_returns[self.slot[i]] = score
        self.returned[self.slot[i]] = True
        if not self.returned.all():
            return
        n = self.cfg.n_delta
        plus, minus = self.population_returns[:n], self.population_returns[n:]
        self.theta, self.return_std, self.step_size = ars_step(
            self.theta, self.deltas, plus, minus, self.cfg.learning_rate, self.n_top
        )
        if self.normalizer is not None:
            seen = self.iteration_obs
            self.normalizer.rms.merge(seen.mean, seen.var, seen.count)
        self.iterations += 1
        self._sample()

    def policy(self) -> np.ndarray:
        return self.theta

    def normalize(self, obs: np.ndarray) -> np.ndarray:
        return obs if self.normalizer is None else self.normalizer(obs)

    def charts(self) -> dict[str, float]:
        return {
            "charts/iterations": float(self.iterations),
            "charts/return_std": self.return_std,
            "charts/step_size": self.step_size,
        }
