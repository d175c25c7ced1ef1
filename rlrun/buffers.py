"""Replay storage: preallocated arrays written a vector-env step at a time, sampled in batches."""

from __future__ import annotations

from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np
import torch

from rlrun.errors import ConfigError
from rlrun.transition import Transition


class ReplayBatch(NamedTuple):
    obs: torch.Tensor
    actions: torch.Tensor
    rewards: torch.Tensor  # the (n-step) discounted sum of rewards
    next_obs: torch.Tensor  # the true observation n steps (or fewer, at an episode end) later
    terminated: torch.Tensor  # bootstrap mask = 1 - terminated; truncation keeps bootstrapping
    discounts: torch.Tensor  # gamma ** (steps to next_obs): the bootstrap's discount


class ReplayBuffer:
    """A ring buffer of transitions. `next_obs` is the true next observation, final ones
    included; `discounts` is gamma ** k for a k-step transition (k = 1 without n-step)."""

    def __init__(
        self,
        capacity: int,
        obs_space: gym.Space,
        action_space: gym.Space,
        device: torch.device,
    ) -> None:
        self.capacity = capacity
        self.device = device
        try:
            self.alloc_obs(obs_space)
        except MemoryError:
            raise ConfigError(
                "agent.buffer_size",
                f"{capacity} transitions of {obs_space.shape} {obs_space.dtype} observations need "
                f"about {capacity * self.obs_row_bytes(obs_space) / 1e9:.1f} GB, more than this "
                f"machine can allocate; {self.memory_hint}",
            ) from None
        self.actions = np.zeros((capacity, *(action_space.shape or ())), dtype=action_space.dtype)
        self.rewards = np.zeros(capacity, dtype=np.float32)
        self.terminated = np.zeros(capacity, dtype=np.float32)
        self.discounts = np.zeros(capacity, dtype=np.float32)
        self.pos = 0
        self.size = 0

    memory_hint = "lower it, or set agent.optimize_memory_usage=true (each frame stored once)"

    def obs_row_bytes(self, obs_space: gym.Space) -> int:
        """Bytes of observations one transition stores: obs and next_obs."""
        return 2 * int(np.prod(obs_space.shape or ())) * np.dtype(obs_space.dtype).itemsize

    def __len__(self) -> int:
        return self.size

    def add(self, t: Transition, discounts: np.ndarray | float) -> np.ndarray | slice:
        """Write one row per env, wrapping around to overwrite the oldest; returns the rows."""
        n = len(t.reward)
        if self.pos + n > self.capacity:
            idx: np.ndarray | slice = (self.pos + np.arange(n)) % self.capacity
        else:
            idx = slice(self.pos, self.pos + n)
        self.write_obs(idx, t)
        self.actions[idx] = t.action
        self.rewards[idx] = t.reward
        self.terminated[idx] = t.terminated
        self.discounts[idx] = discounts
        self.pos = (self.pos + n) % self.capacity
        self.size = min(self.size + n, self.capacity)
        return idx

    @property
    def nbytes(self) -> int:
        """The size of the stored arrays (what a checkpoint with the replay buffer adds)."""
        return sum(a.nbytes for a in vars(self).values() if isinstance(a, np.ndarray))

    def alloc_obs(self, obs_space: gym.Space) -> None:
        self.obs = np.zeros((self.capacity, *(obs_space.shape or ())), dtype=obs_space.dtype)
        self.next_obs = np.zeros_like(self.obs)

    def write_obs(self, idx: np.ndarray | slice, t: Transition) -> None:
        self.obs[idx] = t.obs
        self.next_obs[idx] = t.next_obs

    def read_obs(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.obs[idx], self.next_obs[idx]

    def sample_indices(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.integers(0, self.size, n)

    def get(self, idx: np.ndarray) -> ReplayBatch:
        def to(a: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(a, device=self.device)

        obs, next_obs = self.read_obs(idx)
        return ReplayBatch(
            to(obs),
            to(self.actions[idx]),
            to(self.rewards[idx]),
            to(next_obs),
            to(self.terminated[idx]),
            to(self.discounts[idx]),
        )


class FrameReplayBuffer(ReplayBuffer):
    """Replay that keeps each observation once (SB3's `optimize_memory_usage`) and, when the
    observations are stacks of the last `stack` frames along axis 0 (FrameStackObservation with
    its default "reset" padding, as in Atari), each frame once: 1M Atari transitions in 7 GB
    instead of 56. Rows are vector steps x envs (env i of a step at row pos + i), so an env's
    previous frame is `num_envs` rows back; a stack is rebuilt from up to `stack` frames of the
    same episode, padded with its first frame as the wrapper pads it. A transition's next
    observation is its successor row's or, where the env's episode ended (or was cut, as by a
    resume that reset the envs), its own final frame kept apart. What is written is checked, so
    observations that are not such stacks are refused instead of given back wrong."""

    def __init__(
        self,
        capacity: int,
        obs_space: gym.Space,
        action_space: gym.Space,
        device: torch.device,
        num_envs: int,
        stack: int,
    ) -> None:
        self.num_envs, self.stack = num_envs, stack
        # A whole number of vector steps: a step's rows never wrap around the ring.
        super().__init__(-(-capacity // num_envs) * num_envs, obs_space, action_space, device)

    memory_hint = "lower it"

    def obs_row_bytes(self, obs_space: gym.Space) -> int:
        shape = (obs_space.shape or ())[self.stack > 1 :]
        return int(np.prod(shape)) * np.dtype(obs_space.dtype).itemsize

    def alloc_obs(self, obs_space: gym.Space) -> None:
        shape = obs_space.shape or ()
        self.frames = np.zeros((self.capacity, *shape[self.stack > 1 :]), dtype=obs_space.dtype)
        self.age = np.zeros(self.capacity, dtype=np.int8)  # earlier frames of its episode, capped
        self.ended = np.zeros(self.capacity, dtype=bool)  # next frame in `final`, not the next row
        self.final: dict[int, np.ndarray] = {}
        self.env_age = np.full(self.num_envs, -1, dtype=np.int64)  # -1: a new episode is next
        self.last_next = np.zeros((self.num_envs, *shape), dtype=obs_space.dtype)

    def newest(self, obs: np.ndarray) -> np.ndarray:
        return obs[:, -1] if self.stack > 1 else obs

    def write_obs(self, idx: np.ndarray | slice, t: Transition) -> None:
        assert isinstance(idx, slice)
        n = self.num_envs
        flat = len(t.obs), -1
        if self.stack > 1 and not (t.next_obs[:, :-1] == t.obs[:, 1:]).reshape(flat).all():
            self.refuse("a next observation is not its observation shifted by one frame")
        cut = (self.env_age >= 0) & ~(t.obs == self.last_next).reshape(flat).all(1)
        if self.size:  # the previous step's rows of those envs: their next frame is kept apart
            for i in np.flatnonzero(cut):
                prev = (idx.start - n + i) % self.capacity
                self.ended[prev] = True
                self.final[prev] = self.newest(self.last_next)[i].copy()
        start = (self.env_age < 0) | cut
        if self.stack > 1 and not (t.obs == t.obs[:, -1:]).reshape(flat).all(1)[start].all():
            self.refuse("an episode's first observation is not its first frame repeated")
        for row in range(idx.start, idx.stop):  # overwritten rows lose their final frames
            self.final.pop(row, None)
        age = np.where(start, 0, np.minimum(self.env_age + 1, self.stack - 1))
        self.frames[idx] = self.newest(t.obs)
        self.age[idx] = age
        ended = np.asarray(t.terminated, bool) | np.asarray(t.truncated, bool)
        self.ended[idx] = ended
        for i in np.flatnonzero(ended):
            self.final[idx.start + i] = self.newest(t.next_obs)[i].copy()
        self.last_next[:] = t.next_obs
        self.env_age = np.where(ended, -1, age)

    def refuse(self, why: str) -> None:
        raise ValueError(
            f"agent.optimize_memory_usage: {why}, so replay cannot keep each frame once "
            f"(it needs FrameStackObservation of {self.stack} frames, padding 'reset', as the "
            "last env wrapper); set agent.optimize_memory_usage=false"
        )

    def read_obs(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n, cap = self.num_envs, self.capacity
        successor = self.frames[(idx + n) % cap]
        newest = (self.pos - 1 - idx) % cap < n  # written by the last step: no successor yet
        successor[newest] = self.newest(self.last_next)[idx[newest] % n]
        for j in np.flatnonzero(self.ended[idx]):
            successor[j] = self.final[int(idx[j])]
        if self.stack == 1:
            return self.frames[idx], successor
        back = np.minimum(np.arange(self.stack - 1, -1, -1), self.age[idx, None])
        obs = self.frames[(idx[:, None] - back * n) % cap]
        return obs, np.concatenate([obs[:, 1:], successor[:, None]], axis=1)

    def sample_indices(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Uniform over the rows whose whole stack is still stored: once the ring is full, the
        earlier frames of the oldest `stack - 1` steps have been overwritten."""
        if self.size < self.capacity:
            return rng.integers(0, self.size, n)
        lost = (self.stack - 1) * self.num_envs
        return (self.pos + lost + rng.integers(0, self.capacity - lost, n)) % self.capacity


class NStepAccumulator:
    """Turns 1-step transitions into n-step ones, per env:
    (s_t, a_t, r_t + g r_t+1 + ... + g^(k-1) r_t+k-1, s_t+k, terminated, g^k), k <= n.

    An episode end cuts every pending window short: its transitions bootstrap from the true final
    observation with the discount of their own length, and termination is carried only by the
    transitions that reach it. A truncation keeps bootstrapping.
    """

    def __init__(self, n: int, gamma: float, num_envs: int) -> None:
        self.n, self.gamma = n, gamma
        self.windows: list[list[tuple]] = [[] for _ in range(num_envs)]

    def push(self, t: Transition) -> tuple[Transition, np.ndarray] | None:
        """Add one vector step; return the n-step transitions now complete, with discounts."""
        out: list[tuple] = []
        for i, window in enumerate(self.windows):
            window.append((t.obs[i], t.action[i], float(t.reward[i])))
            ended = bool(t.terminated[i] or t.truncated[i])
            while window and (ended or len(window) == self.n):
                rewards = [r for _, _, r in window]
                ret = sum(r * self.gamma**k for k, r in enumerate(rewards))
                obs, action, _ = window.pop(0)
                out.append(
                    (
                        obs,
                        action,
                        ret,
                        t.next_obs[i],
                        t.terminated[i],
                        t.truncated[i],
                        self.gamma ** len(rewards),
                    )
                )
        if not out:
            return None
        cols = list(zip(*out, strict=True))
        transition = Transition(*(np.asarray(c) for c in cols[:6]))
        return transition, np.asarray(cols[6], dtype=np.float32)


class SumTree:
    """A binary tree whose leaves hold priorities and whose nodes hold the sums below them:
    sampling proportionally to priority and updating are O(log n), vectorised over a batch."""

    def __init__(self, capacity: int) -> None:
        self.leaves = 1 << max(0, (capacity - 1).bit_length())
        self.tree = np.zeros(2 * self.leaves, dtype=np.float64)

    @property
    def total(self) -> float:
        return float(self.tree[1])

    def update(self, idx: np.ndarray, priorities: np.ndarray) -> None:
        node = np.asarray(idx) + self.leaves
        self.tree[node] = priorities
        node = np.unique(node // 2)
        while node[0] >= 1:
            self.tree[node] = self.tree[2 * node] + self.tree[2 * node + 1]
            if node[0] == 1:
                break
            node = np.unique(node // 2)

    def find(self, values: np.ndarray) -> np.ndarray:
        """For each value in [0, total), the leaf whose cumulative-sum interval contains it."""
        node = np.ones(len(values), dtype=np.int64)
        values = np.asarray(values, dtype=np.float64).copy()
        while node[0] < self.leaves:
            left = self.tree[2 * node]
            right = values >= left
            values -= left * right
            node = 2 * node + right
        return node - self.leaves


class PrioritizedReplayBuffer(ReplayBuffer):
    """Proportional prioritized replay (Schaul et al. 2016): P(i) ~ p_i ** alpha, new transitions
    at the highest priority so far, importance-sampling weights (N P(i)) ** -beta / max."""

    def __init__(
        self,
        capacity: int,
        obs_space: gym.Space,
        action_space: gym.Space,
        device: torch.device,
        alpha: float,
        eps: float = 1e-6,
    ) -> None:
        super().__init__(capacity, obs_space, action_space, device)
        self.tree = SumTree(capacity)
        self.alpha, self.eps = alpha, eps
        self.max_priority = 1.0

    def add(self, t: Transition, discounts: np.ndarray | float) -> np.ndarray | slice:
        idx = super().add(t, discounts)
        rows = np.arange(self.capacity)[idx]
        self.tree.update(rows, np.full(len(rows), self.max_priority**self.alpha))
        return idx

    def sample_indices(self, n: int, rng: np.random.Generator) -> np.ndarray:
        # Stratified: one draw from each of n equal slices of the total priority mass.
        bounds = self.tree.total * (np.arange(n) + rng.random(n)) / n
        return np.minimum(self.tree.find(bounds), self.size - 1)

    def weights(self, idx: np.ndarray, beta: float) -> torch.Tensor:
        probs = self.tree.tree[idx + self.tree.leaves] / self.tree.total
        w = (self.size * probs) ** -beta
        return torch.as_tensor(w / w.max(), dtype=torch.float32, device=self.device)

    def update_priorities(self, idx: np.ndarray, td_errors: np.ndarray) -> None:
        priorities = np.abs(td_errors) + self.eps
        self.max_priority = max(self.max_priority, float(priorities.max()))
        self.tree.update(idx, priorities**self.alpha)


class RolloutBuffer:
    """One on-policy rollout, [n_steps, num_envs], written a vector-env step at a time.

    Besides each step's data it keeps what GAE needs to bootstrap correctly: V of the true final
    observation where an episode was truncated, and V of the observation after the last step.
    """

    def __init__(
        self,
        n_steps: int,
        num_envs: int,
        obs_shape: tuple[int, ...],
        obs_dtype: Any,
        action_shape: tuple[int, ...],
        action_dtype: Any,
    ) -> None:
        shape = (n_steps, num_envs)
        self.obs = np.zeros((*shape, *obs_shape), dtype=obs_dtype)
        self.actions = np.zeros((*shape, *action_shape), dtype=action_dtype)
        self.rewards = np.zeros(shape, dtype=np.float32)
        self.terminated = np.zeros(shape, dtype=bool)
        self.truncated = np.zeros(shape, dtype=bool)
        self.log_probs = np.zeros(shape, dtype=np.float32)
        self.values = np.zeros(shape, dtype=np.float32)
        self.final_values = np.zeros(shape, dtype=np.float32)  # V(final obs) at truncations
        self.last_values = np.zeros(num_envs, dtype=np.float32)  # V(obs after the last step)
        self.n_steps = n_steps
        self.pos = 0

    @property
    def full(self) -> bool:
        return self.pos == self.n_steps

    def add(
        self,
        obs: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
        log_probs: np.ndarray,
        values: np.ndarray,
    ) -> None:
        t = self.pos
        self.obs[t], self.actions[t], self.rewards[t] = obs, actions, rewards
        self.terminated[t], self.truncated[t] = terminated, truncated
        self.log_probs[t], self.values[t] = log_probs, values
        self.pos += 1

    def next_values(self) -> np.ndarray:
        """V of each step's true next observation, for `compute_gae`."""
        out = np.empty_like(self.values)
        out[:-1] = self.values[1:]  # the next row's observation, where no episode ended
        out[-1] = self.last_values
        return np.where(self.truncated, self.final_values, out)
