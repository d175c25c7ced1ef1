"""The gridworld mazes of Sutton & Barto (2nd ed.), chapter 8: the Dyna maze (Example 8.1,
figure 8.2), the blocking maze (Example 8.2, figure 8.4) and the shortcut maze (Example 8.3,
figure 8.5), with the layouts of the public reproduction (ShangtongZhang/reinforcement-learning-
an-introduction, chapter08/maze.py).

6 x 9 cells; the observation is the cell index row * 9 + column; actions 0 up, 1 down, 2 left,
3 right. A move into a wall or off the grid leaves the agent where it is. Reaching the goal gives
reward 1 and terminates the episode; every other step gives 0.

The blocking and shortcut mazes swap their walls once `change_at` steps have been taken, counted
by the env itself over all its episodes (`steps_taken`, saved in checkpoints), so with one env the
change comes at that global env step. With several vector envs each copy counts its own steps, and
an evaluation env counts only the evaluation's. The change comes at that step, not at the next
episode start as in the reproduction (which waits for the episode under way to end, a difference
of one episode of about 16 steps); an agent standing in a cell that becomes a wall (the blocking
maze's right-hand gap) steps out of it as from any other cell.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

# Row, column moves of actions 0 up, 1 down, 2 left, 3 right (the reproduction's order).
MOVES = np.array([[-1, 0], [1, 0], [0, -1], [0, 1]])

# '#' wall, 'S' start, 'G' goal.
DYNA_MAZE = (
    ".......#G",
    "..#....#.",
    "S.#....#.",
    "..#......",
    ".....#...",
    ".........",
)
GAP_RIGHT = (  # the blocking maze before its change
    "........G",
    ".........",
    ".........",
    "########.",
    ".........",
    "...S.....",
)
GAP_LEFT = (  # the blocking maze after its change, the shortcut maze before
    "........G",
    ".........",
    ".........",
    ".########",
    ".........",
    "...S.....",
)
GAP_BOTH = (  # the shortcut maze after its change
    "........G",
    ".........",
    ".........",
    ".#######.",
    ".........",
    "...S.....",
)

CELL_PIXELS = 16
COLOURS = {
    "free": (255, 255, 255),
    "wall": (60, 60, 60),
    "goal": (60, 170, 60),
    "agent": (40, 90, 220),
}


def parse(layout: tuple[str, ...]) -> tuple[np.ndarray, int, int]:
    """(walls as a bool grid, start cell, goal cell) of a text layout."""
    grid = np.array([list(row) for row in layout])
    (start,) = np.flatnonzero(grid == "S")
    (goal,) = np.flatnonzero(grid == "G")
    return grid == "#", int(start), int(goal)


def move(walls: np.ndarray, cell: int, action: int) -> int:
    """The cell one step from `cell`: off the grid or into a wall, the agent stays put."""
    height, width = walls.shape
    row, col = divmod(cell, width)
    r, c = row + MOVES[action, 0], col + MOVES[action, 1]
    if not (0 <= r < height and 0 <= c < width) or walls[r, c]:
        return cell
    return int(r * width + c)


class Maze(gym.Env[np.int64, np.int64]):
    """A gridworld whose walls are `layout`'s, and `changed`'s once `change_at` steps are taken
    (counted across episodes); start and goal are the first layout's.

    Each env counts its own steps: a run's evaluation env changes after ITS OWN change_at steps
    (a periodic evaluation before then runs the first layout, whatever the training env shows),
    and it is not in checkpoints. The figures measure training's cumulative reward, as the book.
    """

    # a class attribute, as gym.make reads it; gym.Env types it as an instance variable
    metadata = {"render_modes": ["rgb_array"], "render_fps": 8}  # noqa: RUF012

    def __init__(
        self,
        layout: tuple[str, ...] = DYNA_MAZE,
        changed: tuple[str, ...] | None = None,
        change_at: int | None = None,
        render_mode: str | None = None,
    ) -> None:
        if change_at is not None and (not isinstance(change_at, int) or change_at < 0):
            raise ValueError(f"change_at must be a whole number of steps >= 0, got {change_at!r}")
        self.walls, self.start, self.goal = parse(layout)
        self.changed_walls = self.walls if changed is None else parse(changed)[0]
        self.change_at = change_at
        self.render_mode = render_mode
        self.observation_space = gym.spaces.Discrete(self.walls.size)
        self.action_space = gym.spaces.Discrete(len(MOVES))
        self.cell = self.start
        self.steps_taken = 0  # over all episodes: when the walls change

    def current_walls(self) -> np.ndarray:
        changed = self.change_at is not None and self.steps_taken >= self.change_at
        return self.changed_walls if changed else self.walls

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.int64, dict[str, Any]]:
        super().reset(seed=seed)  # the mazes are deterministic: the seed changes nothing
        self.cell = self.start
        return np.int64(self.cell), {}

    def step(self, action: Any) -> tuple[np.int64, float, bool, bool, dict[str, Any]]:
        self.cell = move(self.current_walls(), self.cell, int(action))
        self.steps_taken += 1
        at_goal = self.cell == self.goal
        return np.int64(self.cell), float(at_goal), at_goal, False, {}

    def render(self) -> np.ndarray | None:
        """An RGB image, CELL_PIXELS per cell: walls dark, the goal green, the agent blue."""
        if self.render_mode != "rgb_array":
            return None
        walls = self.current_walls()
        image = np.empty((*walls.shape, 3), dtype=np.uint8)
        image[:] = COLOURS["free"]
        image[walls] = COLOURS["wall"]
        width = walls.shape[1]
        image[divmod(self.goal, width)] = COLOURS["goal"]
        image[divmod(self.cell, width)] = COLOURS["agent"]
        return np.kron(image, np.ones((CELL_PIXELS, CELL_PIXELS, 1), dtype=np.uint8))


class DynaMaze(Maze):
    """Example 8.1: 14 steps from S to G along the shortest path."""

    def __init__(self, render_mode: str | None = None) -> None:
        super().__init__(DYNA_MAZE, render_mode=render_mode)


class BlockingMaze(Maze):
    """Example 8.2: after `change_at` steps (the book's 1000) the short path on the right is
    blocked and a longer one opens on the left."""

    def __init__(self, change_at: int = 1000, render_mode: str | None = None) -> None:
        super().__init__(GAP_RIGHT, GAP_LEFT, change_at, render_mode)


class ShortcutMaze(Maze):
    """Example 8.3: after `change_at` steps (the book's 3000) a shorter path opens on the right,
    and the long one on the left stays open."""

    def __init__(self, change_at: int = 3000, render_mode: str | None = None) -> None:
        super().__init__(GAP_LEFT, GAP_BOTH, change_at, render_mode)
