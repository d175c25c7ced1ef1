"""The four-rooms gridworld of Sutton, Precup & Singh (1999), with its hallway options.

11 x 11 free cells inside a wall, in four rooms joined by four one-cell hallways (104 states;
the layout of the option-critic code, Bacon et al. 2017). The observation is the index of the
agent's free cell in row-major order; actions 0 up, 1 down, 2 left, 3 right move the agent in
the intended direction with probability 2/3 and in each of the other three with 1/9 (`slip`,
1/3, split evenly); a move into a wall leaves it where it is. Reaching the goal (the east
hallway by default, G1 of the paper's figure) gives reward 1 and ends the episode; every other
step gives 0. Each episode starts in a uniformly random free cell other than the goal. With
`goal_moves_to=[row, col]` and `goal_moves_after=N`, the goal moves there once N episodes have
begun (Bacon et al. 2017's test of how fast learned options adapt).

`hallway_options()` gives the paper's eight hallway options: two per room, each taking the
agent from anywhere in its room to one of the room's hallways (`agent.options` of the options
agents, rlrun/agents/hierarchical/).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from rlrun.envs.options import MOVES, OptionSet, room_options

LAYOUT = (
    "wwwwwwwwwwwww",
    "w     w     w",
    "w     w     w",
    "w           w",
    "w     w     w",
    "w     w     w",
    "ww wwww     w",
    "w     www www",
    "w     w     w",
    "w     w     w",
    "w           w",
    "w     w     w",
    "wwwwwwwwwwwww",
)
EAST_HALLWAY = (7, 9)
CELL_PIXELS = 16
COLOURS = {"wall": (60, 60, 60), "goal": (60, 170, 60), "agent": (40, 90, 220)}


def free_cells() -> np.ndarray:
    return np.array([[ch != "w" for ch in row] for row in LAYOUT])


def state_index() -> dict[tuple[int, int], int]:
    """Free cell (row, col) -> state, row-major."""
    rows, cols = np.nonzero(free_cells())
    return {(int(r), int(c)): s for s, (r, c) in enumerate(zip(rows, cols, strict=True))}


def hallway_options() -> OptionSet:
    return room_options(free_cells(), state_index())


class FourRooms(gym.Env):
    metadata = {"render_modes": ["rgb_array"], "render_fps": 8}  # noqa: RUF012

    def __init__(
        self,
        goal: tuple[int, int] | list[int] = EAST_HALLWAY,
        slip: float = 1 / 3,
        render_mode: str | None = None,
        goal_moves_to: tuple[int, int] | list[int] | None = None,
        goal_moves_after: int | None = None,
    ) -> None:
        self.free = free_cells()
        self.state_of = state_index()
        self.cells = np.array(list(self.state_of))  # state -> (row, col)
        if not 0.0 <= slip <= 1.0:
            raise ValueError(f"slip is a probability, got {slip}")
        if (goal_moves_to is None) != (goal_moves_after is None):
            raise ValueError("give goal_moves_to and goal_moves_after together, or neither")
        self.goal = self.cell_state(goal, "goal")
        # Bacon et al. (2017): after so many episodes the goal moves (to the lower right room)
        self.next_goal = (
            None if goal_moves_to is None else self.cell_state(goal_moves_to, "goal_moves_to")
        )
        self.goal_moves_after = goal_moves_after
        self.episodes = 0  # begun in this copy of the env
        self.slip = slip
        self.render_mode = render_mode
        self.observation_space = gym.spaces.Discrete(len(self.cells))
        self.action_space = gym.spaces.Discrete(len(MOVES))
        self.state = 0

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[int, dict[str, Any]]:
        super().reset(seed=seed)
        if self.next_goal is not None and self.episodes == self.goal_moves_after:
            self.goal = self.next_goal
        self.episodes += 1
        starts = np.delete(np.arange(len(self.cells)), self.goal)
        self.state = int(self.np_random.choice(starts))
        return self.state, {}

    def cell_state(self, cell: tuple[int, int] | list[int], name: str) -> int:
        rc = (int(cell[0]), int(cell[1]))
        if rc not in self.state_of:
            raise ValueError(f"{name} {list(rc)} is a wall or off the grid; e.g. [7, 9]")
        return self.state_of[rc]

    def step(self, action: int) -> tuple[int, float, bool, bool, dict[str, Any]]:
        action = int(action)
        if self.np_random.random() < self.slip:  # one of the other three directions
            action = int(self.np_random.choice([a for a in range(len(MOVES)) if a != action]))
        r, c = self.cells[self.state] + MOVES[action]
        if self.free[r, c]:
            self.state = self.state_of[(int(r), int(c))]
        at_goal = self.state == self.goal
        return self.state, float(at_goal), at_goal, False, {}

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array":
            return None
        image = np.full((*self.free.shape, 3), 255, dtype=np.uint8)
        image[~self.free] = COLOURS["wall"]
        image[tuple(self.cells[self.goal])] = COLOURS["goal"]
        image[tuple(self.cells[self.state])] = COLOURS["agent"]
        return np.kron(image, np.ones((CELL_PIXELS, CELL_PIXELS, 1), dtype=np.uint8))
