"""Cooperative matrix games of Claus & Boutilier (1998) as PettingZoo parallel envs.

Two agents choose one of three actions at once and both receive the payoff of the joint action
(rows: `agent_0`'s action, columns: `agent_1`'s). The game has no state: each observation is the
single state 0, and an episode is `rounds` plays of the stage game, ending (terminated) after the
last one. The two games show when independent learners coordinate: in the penalty game with
k = 0 they find an optimal joint action, (a, a) or (c, c); in the climbing game the -30 next to
the optimum (a, a) drives them to a safer, worse equilibrium.

    from rlrun.envs.matrix_games import climbing_game, penalty_game
    env = penalty_game(k=-10)
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from pettingzoo import ParallelEnv

AGENTS = ("agent_0", "agent_1")
CLIMBING = ((11, -30, 0), (-30, 7, 6), (0, 0, 5))


def penalty_payoff(k: float) -> tuple[tuple[float, ...], ...]:
    """The penalty game: 10 for (a, a) or (c, c), k <= 0 for the miscoordinated (a, c), (c, a)."""
    return ((10, 0, k), (0, 2, 0), (k, 0, 10))


class MatrixGame(ParallelEnv):
    """A repeated two-agent common-payoff matrix game."""

    metadata: ClassVar[dict[str, Any]] = {
        "name": "matrix_game_v0",
        "render_modes": [],
        "is_parallelizable": True,
    }

    def __init__(self, payoff: Any, rounds: int = 1) -> None:
        self.payoff = np.asarray(payoff, dtype=np.float64)
        if self.payoff.ndim != 2 or self.payoff.shape[0] != self.payoff.shape[1]:
            raise ValueError(f"payoff must be a square matrix, got shape {self.payoff.shape}")
        if rounds < 1:
            raise ValueError(f"rounds must be >= 1, got {rounds}")
        self.rounds = rounds
        self.possible_agents = list(AGENTS)
        self.agents: list[str] = []
        self._actions = gym.spaces.Discrete(self.payoff.shape[0])
        self._observations = gym.spaces.Discrete(1)
        self._played = 0

    def observation_space(self, agent: str) -> gym.spaces.Discrete:
        return self._observations

    def action_space(self, agent: str) -> gym.spaces.Discrete:
        return self._actions

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, int], dict[str, dict[str, Any]]]:
        self.agents = list(self.possible_agents)
        self._played = 0
        return dict.fromkeys(self.agents, 0), {a: {} for a in self.agents}

    def step(
        self, actions: dict[str, int]
    ) -> tuple[dict[str, int], dict[str, float], dict[str, bool], dict[str, bool], dict[str, dict]]:
        reward = float(self.payoff[int(actions[AGENTS[0]]), int(actions[AGENTS[1]])])
        self._played += 1
        over = self._played >= self.rounds
        agents, self.agents = self.agents, [] if over else self.agents
        return (
            dict.fromkeys(agents, 0),
            dict.fromkeys(agents, reward),
            dict.fromkeys(agents, over),
            dict.fromkeys(agents, False),
            {a: {} for a in agents},
        )


def climbing_game(rounds: int = 1) -> MatrixGame:
    """Claus & Boutilier's climbing game: optimum (a, a) = 11 beside two -30s."""
    return MatrixGame(CLIMBING, rounds)


def penalty_game(k: float = 0.0, rounds: int = 1) -> MatrixGame:
    """Claus & Boutilier's penalty game with miscoordination penalty k <= 0."""
    if k > 0:
        raise ValueError(f"k is a penalty and must be <= 0, got {k}")
    return MatrixGame(penalty_payoff(k), rounds)
