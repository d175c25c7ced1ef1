"""A 2-D grid pursuit game as a PettingZoo parallel env: the multi-agent grid of the guides.

Hunters (the learning agents, `hunter_0`, ...) chase randomly moving prey on a `size` x `size`
grid. Each step every hunter moves one cell (stay, up, down, left, right), in agent order; a move
off the grid or onto another hunter leaves it where it was. A prey is caught when at least
`catch` hunters stand on it or next to it (orthogonally): with `catch=2`, two hunters must corner
it together. Caught prey leave the grid; the rest then each move at random to a free cell.

Rewards: +1 for each prey caught, to every hunter (`shared_reward=true`, a common payoff) or to
the hunters that caught it; -`step_cost` to every hunter every step. The episode is terminated
when the last prey is caught and truncated after `max_steps` steps.

Each hunter observes, egocentrically, the (2 `view` + 1)^2 cells around it in three 0/1 planes
(off the grid, other hunters, prey), then its own row and column scaled to [0, 1]: a flat Box
for an MLP. Layouts are drawn from the generator `reset(seed=...)` seeds, so runs are repeatable.

    rlrun agent=ppo env=grid_hunt agent.share_parameters=true
    rlrun agent=dqn env=grid_hunt env.kwargs.catch=1
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from pettingzoo import ParallelEnv

# (row, column) steps of the actions: stay, up, down, left, right
MOVES = np.array([[0, 0], [-1, 0], [1, 0], [0, -1], [0, 1]])
CELL = 24  # pixels per cell when rendering
COLOURS = {"grid": (225, 225, 225), "hunter": (200, 40, 40), "prey": (40, 160, 60)}


def caught_by(hunters: np.ndarray, prey: np.ndarray) -> np.ndarray:
    """[prey, hunter] True where the hunter stands on the prey's cell or next to it."""
    return np.abs(prey[:, None, :] - hunters[None, :, :]).sum(axis=2) <= 1


class GridHunt(ParallelEnv):
    metadata: ClassVar[dict[str, Any]] = {
        "name": "grid_hunt_v0",
        "render_modes": ["rgb_array"],
        "render_fps": 5,
        "is_parallelizable": True,
    }

    def __init__(
        self,
        size: int = 7,
        hunters: int = 2,
        prey: int = 2,
        view: int = 3,
        catch: int = 2,
        max_steps: int = 50,
        step_cost: float = 0.01,
        shared_reward: bool = True,
        render_mode: str | None = None,
    ) -> None:
        if size < 2 or hunters < 1 or prey < 1 or hunters + prey > size * size:
            raise ValueError(
                f"need size >= 2, hunters >= 1, prey >= 1 and hunters + prey <= size^2 cells; "
                f"got size={size}, hunters={hunters}, prey={prey}"
            )
        if not 1 <= catch <= min(hunters, 5):
            raise ValueError(f"catch must be in 1..{min(hunters, 5)} hunters, got {catch}")
        if view < 1 or max_steps < 1:
            raise ValueError(f"view and max_steps must be >= 1, got {view} and {max_steps}")
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.size, self.n_prey, self.view, self.catch = size, prey, view, catch
        self.max_steps, self.step_cost, self.shared_reward = max_steps, step_cost, shared_reward
        self.render_mode = render_mode
        self.possible_agents = [f"hunter_{i}" for i in range(hunters)]
        self.agents: list[str] = []
        side = 2 * view + 1
        self._observations = gym.spaces.Box(0.0, 1.0, (3 * side * side + 2,), np.float32)
        self._actions = gym.spaces.Discrete(len(MOVES))
        self._rng = np.random.default_rng()
        self.hunters = np.zeros((hunters, 2), dtype=np.int64)
        self.prey = np.zeros((0, 2), dtype=np.int64)
        self._steps = 0

    def observation_space(self, agent: str) -> gym.spaces.Box:
        return self._observations

    def action_space(self, agent: str) -> gym.spaces.Discrete:
        return self._actions

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, dict[str, Any]]]:
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        n = len(self.possible_agents)
        cells = self._rng.choice(self.size * self.size, n + self.n_prey, replace=False)
        where = np.stack(np.divmod(cells, self.size), axis=1)
        self.hunters, self.prey = where[:n].copy(), where[n:].copy()
        self.agents = list(self.possible_agents)
        self._steps = 0
        return self._observe(), {a: {} for a in self.agents}

    def step(
        self, actions: dict[str, int]
    ) -> tuple[
        dict[str, np.ndarray],
        dict[str, float],
        dict[str, bool],
        dict[str, bool],
        dict[str, dict[str, Any]],
    ]:
        for k, agent in enumerate(self.possible_agents):
            self._move_hunter(k, MOVES[int(actions[agent])])
        near = caught_by(self.hunters, self.prey)
        caught = near.sum(axis=1) >= self.catch
        if self.shared_reward:
            gains = np.full(len(self.hunters), float(caught.sum()))
        else:
            gains = near[caught].sum(axis=0).astype(np.float64)
        self.prey = self.prey[~caught]
        self._move_prey()
        self._steps += 1
        over, timeout = len(self.prey) == 0, self._steps >= self.max_steps
        agents = self.agents
        obs = self._observe()
        self.agents = [] if over or timeout else agents
        return (
            obs,
            {a: float(gains[k]) - self.step_cost for k, a in enumerate(agents)},
            dict.fromkeys(agents, over),
            dict.fromkeys(agents, timeout and not over),
            {a: {} for a in agents},
        )

    def _inside(self, cell: np.ndarray) -> bool:
        return bool((cell >= 0).all() and (cell < self.size).all())

    def _move_hunter(self, k: int, move: np.ndarray) -> None:
        target = self.hunters[k] + move
        others = np.delete(self.hunters, k, axis=0)
        if self._inside(target) and not (others == target).all(axis=1).any():
            self.hunters[k] = target

    def _move_prey(self) -> None:
        for i in range(len(self.prey)):
            target = self.prey[i] + MOVES[self._rng.integers(len(MOVES))]
            taken = np.concatenate([self.hunters, np.delete(self.prey, i, axis=0)])
            if self._inside(target) and not (taken == target).all(axis=1).any():
                self.prey[i] = target

    def _observe(self) -> dict[str, np.ndarray]:
        v = pad = self.view
        planes = np.zeros((3, self.size + 2 * pad, self.size + 2 * pad), dtype=np.float32)
        planes[0] = 1.0
        planes[0, pad:-pad, pad:-pad] = 0.0  # off the grid
        planes[2, self.prey[:, 0] + pad, self.prey[:, 1] + pad] = 1.0
        obs = {}
        for k, agent in enumerate(self.possible_agents):
            others = np.delete(self.hunters, k, axis=0)
            hunters = np.zeros_like(planes[1])
            hunters[others[:, 0] + pad, others[:, 1] + pad] = 1.0
            planes[1] = hunters
            r, c = self.hunters[k] + pad
            window = planes[:, r - v : r + v + 1, c - v : c + v + 1]
            position = self.hunters[k] / (self.size - 1)
            obs[agent] = np.concatenate([window.ravel(), position]).astype(np.float32)
        return obs

    def render(self) -> np.ndarray | None:
        """The grid as an RGB image (rows x cols of CELL pixels): hunters red, prey green."""
        if self.render_mode != "rgb_array":
            return None
        side = self.size * CELL
        image = np.full((side, side, 3), 255, dtype=np.uint8)
        image[::CELL], image[:, ::CELL] = COLOURS["grid"], COLOURS["grid"]
        inset = CELL // 6
        for kind, cells in (("prey", self.prey), ("hunter", self.hunters)):
            for r, c in cells:
                y, x = r * CELL + inset, c * CELL + inset
                image[y : y + CELL - 2 * inset, x : x + CELL - 2 * inset] = COLOURS[kind]
        return image

    def close(self) -> None:
        pass
