"""Independent Q-learners in Claus & Boutilier's (1998) cooperative matrix games.

    python benchmarks/matrix_games.py --seeds 10 --plays 5000

Two of rlrun's tabular Q-learners, one per agent, each seeing only its own action and the common
payoff (independent learners: the other agent is part of the environment), play the one-shot
games of rlrun/envs/matrix_games.py (the penalty game at k = 0 and k = -100, the climbing
game) with Boltzmann exploration whose temperature falls geometrically from 16 to 0.05 over the
plays. Printed per game: the greedy joint action each seed ends at, the counts, and the number of
seeds at an optimal one. The paper's outcome: in the
penalty game with k = 0 independent learners reach an optimal joint action, (a, a) or (c, c);
in the climbing game they miscoordinate, settling on a worse equilibrium than (a, a).
"""

from __future__ import annotations

import argparse
from collections import Counter

import numpy as np

from rlrun.agents.tabular.config import TabularConfig
from rlrun.agents.tabular.td import QLearning
from rlrun.envs.matrix_games import MatrixGame, climbing_game, penalty_game
from rlrun.exploration.config import BoltzmannConfig
from rlrun.transition import Spaces, Transition

NAMES = "abc"


def learners(env: MatrixGame, plays: int, seed: int) -> dict[str, QLearning]:
    """One Q-learner per agent, its own random stream; gamma is moot: every play terminates."""
    exploration = BoltzmannConfig(
        name="boltzmann", schedule="exponential", start=16.0, end=0.05, fraction=1.0
    )
    out = {}
    for i, agent in enumerate(env.possible_agents):
        spaces = Spaces(env.observation_space(agent), env.action_space(agent), 1, plays)
        cfg = TabularConfig(learning_rate=0.1, gamma=0.0)
        out[agent] = QLearning(cfg, exploration, spaces, seed=1000 * seed + i)
    return out


def play(env: MatrixGame, plays: int, seed: int) -> tuple[int, int]:
    """Train the two learners for `plays` games; their greedy joint action at the end."""
    agents = learners(env, plays, seed)
    for step in range(1, plays + 1):
        obs, _ = env.reset(seed=seed)
        actions = {a: int(q.act(np.array([obs[a]]), explore=True)[0]) for a, q in agents.items()}
        next_obs, rewards, terminated, truncated, _ = env.step(actions)
        for a, q in agents.items():
            t = Transition(
                np.array([obs[a]]),
                np.array([actions[a]]),
                np.array([rewards[a]]),
                np.array([next_obs[a]]),
                np.array([terminated[a]]),
                np.array([truncated[a]]),
            )
            q.observe(t, step)
    greedy = [int(agents[a].act(np.array([0]), explore=False)[0]) for a in env.possible_agents]
    return greedy[0], greedy[1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--plays", type=int, default=5000)
    args = p.parse_args()
    games = {
        "penalty game, k = 0": penalty_game(k=0),
        "penalty game, k = -100": penalty_game(k=-100),
        "climbing game": climbing_game(),
    }
    for title, env in games.items():
        ends = [play(env, args.plays, seed) for seed in range(args.seeds)]
        best = env.payoff.max()
        optimal = sum(env.payoff[a0, a1] == best for a0, a1 in ends)
        counts = Counter(f"({NAMES[a0]}, {NAMES[a1]}) = {env.payoff[a0, a1]:g}" for a0, a1 in ends)
        print(f"{title}: {optimal}/{args.seeds} seeds at an optimal joint action ({best:g})")
        for joint, n in counts.most_common():
            print(f"  {joint}: {n}")


if __name__ == "__main__":
    main()
