"""A table of action values with its exploration strategy: what the tabular TD learners (a row
per state) and the bandit learners (a row per problem) share."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from rlrun.agents.base import Agent
from rlrun.config.registry import ExplorationConfig
from rlrun.exploration.base import make_exploration
from rlrun.exploration.strategies import Strategy
from rlrun.transition import Spaces


def step_towards(
    table: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    target: np.ndarray,
    lr: float | np.ndarray,
    distinct: bool = False,
) -> np.ndarray:
    """table[row, col] += lr * (target - table[row, col]) for each env's transition, one after
    another where several envs updated the same entry in this step: each update stays a convex
    step towards its target (all at once, k updates of one entry would step k x lr).
    `distinct`: the caller knows no two envs share an entry (no sort to find out). Returns the
    TD errors."""
    pairs = rows * table.shape[1] + cols
    if distinct or len(pairs) == 1 or len(np.unique(pairs)) == len(pairs):
        td_error = target - table[rows, cols]
        table[rows, cols] += lr * td_error
        return td_error
    lrs = np.broadcast_to(lr, pairs.shape)
    td_error = np.empty(len(pairs))
    for i in range(len(pairs)):
        td_error[i] = target[i] - table[rows[i], cols[i]]
        table[rows[i], cols[i]] += lrs[i] * td_error[i]
    return td_error


class ValueTable(Agent):
    """Q[row, action] in numpy, with the strategy that acts on it. The strategy is built for
    Discrete(rows) observations, so what it keeps per state (UCB's counts, Thompson's posteriors)
    is per row too."""

    def __init__(
        self,
        rows: int,
        init_value: float,
        exploration: ExplorationConfig,
        spaces: Spaces,
        seed: int,
    ) -> None:
        action = spaces.action
        assert isinstance(action, gym.spaces.Discrete)
        self.q = np.full((rows, int(action.n)), init_value, dtype=np.float64)
        row_spaces = Spaces(
            gym.spaces.Discrete(rows), action, spaces.num_envs, spaces.total_timesteps
        )
        self.strategy = make_exploration(exploration, row_spaces, Strategy)
        self.rng = np.random.default_rng(seed)
        self.members = 1  # a seed-batched group's members, each a block of rows (split_members)
        self._distinct_rows = False  # no two envs ever update one entry in a step
        self._td_sq_sum: float | np.ndarray = 0.0
        self._q_sum: float | np.ndarray = 0.0
        self._count: int | np.ndarray = 0

    def split_members(self, members: int, one_env_each: bool = False) -> None:
        """Keep the statistics per member of a seed-batched group whose members' tables are
        `members` equal blocks of rows (rlrun.runners.batched); `one_env_each`: each member
        steps one env, so no two of a step's updates share an entry."""
        self.members = members
        self._distinct_rows = one_env_each
        self._td_sq_sum, self._q_sum = np.zeros(members), np.zeros(members)
        self._count = np.zeros(members, dtype=np.int64)

    def act_rows(self, rows: np.ndarray, *, explore: bool) -> np.ndarray:
        q = self.q[rows]
        if explore:
            return self.strategy.select(rows, lambda: q, self.rng)
        return q.argmax(axis=-1)  # deterministic evaluation: ties go to the first action

    def learn_rows(
        self,
        rows: np.ndarray,
        action: np.ndarray,
        target: np.ndarray,
        lr: float | np.ndarray,
        distinct: bool = False,
    ) -> None:
        """Q(row, a) += lr * (target - Q(row, a)) for each env's transition (`step_towards`)."""
        td_error = step_towards(self.q, rows, action, target, lr, distinct or self._distinct_rows)
        if self.members == 1:
            self._td_sq_sum += float(np.dot(td_error, td_error))
            self._q_sum += float(self.q[rows, action].sum())
            self._count += len(td_error)
            return
        member = rows // (len(self.q) // self.members)
        self._td_sq_sum += np.bincount(member, td_error * td_error, self.members)
        self._q_sum += np.bincount(member, self.q[rows, action], self.members)
        self._count += np.bincount(member, minlength=self.members)

    def pop_metrics(self) -> dict[str, float]:
        if self.members > 1:
            raise TypeError("a seed-batched table: pop_member_metrics")
        return self.pop_member_metrics()[0]

    def pop_member_metrics(self) -> list[dict[str, float]]:
        """pop_metrics of each member (one, unless `split_members`)."""
        sums = np.atleast_1d(self._td_sq_sum), np.atleast_1d(self._q_sum)
        counts = np.atleast_1d(self._count)
        out = [
            {"losses/td_loss": float(td / n), "losses/q_values": float(q / n)} if n else {}
            for td, q, n in zip(*sums, counts, strict=True)
        ]
        if self.members == 1:
            self._td_sq_sum = self._q_sum = 0.0
            self._count = 0
        else:
            self.split_members(self.members, self._distinct_rows)
        return out

    def exploration_value(self) -> tuple[str, float] | None:
        return self.strategy.chart()
