"""2-D navigation among obstacles: a disc agent in a SIZE x SIZE arena steers to a goal past
`n_obstacles` random axis-aligned rectangles, seeing them only through lidar-like rays.

The layout (obstacles, start, goal) is a pure function of a layout seed. Each reset draws one
from the env's generator: `layouts="train"` draws even layout seeds, `layouts="held_out"` odd ones,
so an evaluation env built with `held_out` only meets layouts training never saw. `n_layouts`
limits either split to a pool of that many layouts (None: a stream of ~10^9). The first obstacle
is centred on the start-goal segment, so a straight line to the goal is always blocked; a layout is
kept only if a grid search finds a collision-free path (obstacles inflated by the agent's radius).

Observation (float32): `n_rays` ranges, cast in directions 2 pi k / n_rays of the frame from the
agent's centre against the obstacles and the arena walls, clipped to `max_range` and divided by
it; the goal vector (goal - agent) / SIZE (clipped to [-1, 1]); the last velocity / max speed,
both in the frame.
The frame: `frame="goal"` (default), the agent's own frame with its x-axis pointing at the goal,
so the goal vector is (distance / SIZE, 0) and "ahead" means "toward the goal" in every layout
(no rotation for the policy to learn); `frame="world"`, the arena's axes.

Actions, in the same frame: continuous, a velocity in [-1, 1]^2 (its norm clipped to 1, so speed
is the same in every direction) times `max_speed` arena units per step; discrete
(`continuous=False`), stop or one of 8 headings at full speed (action 1: toward the goal).

Reward: the goal bonus, the collision penalty and a time cost per step, plus potential-based
shaping F = gamma * Phi(s') - Phi(s) with Phi = -shaping * distance to the goal and Phi = 0 at
terminal states (Ng et al. 1999; Grzes 2017 for the episodic case), so the shaped and unshaped
rewards have the same optimal policies when `gamma` is the agent's. Reaching the goal and colliding
both terminate (info `is_success`, `collision`; also `path_length`, `layout_seed`); the
registered time limit truncates. Collisions are checked where a step ends, so a step may clip
an obstacle's corner unseen (never pass through one: see `max_speed`'s check).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

SIZE = 10.0
SPLITS = ("train", "held_out")
FRAMES = ("goal", "world")
GRID = 0.2  # cell side of the reachability check
MAX_TRIES = 1000  # layouts drawn before one seed's obstacles are called impossible
# Discrete actions: stop, then 8 headings counter-clockwise from east
HEADINGS = np.concatenate(
    [
        np.zeros((1, 2)),
        np.stack([np.cos(np.arange(8) * np.pi / 4), np.sin(np.arange(8) * np.pi / 4)], 1),
    ]
)
COLOURS = {
    "free": (245, 245, 245),
    "obstacle": (60, 60, 70),
    "ray": (250, 170, 60),
    "goal": (40, 170, 80),
    "agent": (40, 90, 220),
}


def rect_distance(point: np.ndarray, rects: np.ndarray) -> np.ndarray:
    """Euclidean distance from `point` [2] to each rectangle [n, 4] = (x0, y0, x1, y1); 0 inside."""
    gap = np.maximum(np.maximum(rects[:, :2] - point, point - rects[:, 2:]), 0.0)
    return np.hypot(gap[:, 0], gap[:, 1])


def cast_rays(
    origin: np.ndarray, directions: np.ndarray, rects: np.ndarray, size: float = SIZE
) -> np.ndarray:
    """Distance along each unit direction [k, 2] from `origin` to the first obstacle [n, 4] or the
    arena's walls [0, size]^2 (slab method, all rays against all rectangles at once)."""
    d = np.where(np.abs(directions) < 1e-12, 1e-12, directions)  # no 0/0 on axis-aligned rays
    inv = 1.0 / d  # [k, 2]
    # wall: the exit through the far slab of [0, size] on each axis
    wall = np.where(inv > 0, (size - origin) * inv, -origin * inv).min(axis=1)
    if len(rects) == 0:
        return wall
    t0 = (rects[None, :, :2] - origin) * inv[:, None, :]  # [k, n, 2]
    t1 = (rects[None, :, 2:] - origin) * inv[:, None, :]
    near = np.minimum(t0, t1).max(axis=2)
    far = np.maximum(t0, t1).min(axis=2)
    hit = (near <= far) & (far >= 0)
    t = np.where(hit, np.maximum(near, 0.0), np.inf).min(axis=1)
    return np.minimum(t, wall)


def reachable(start: np.ndarray, goal: np.ndarray, rects: np.ndarray, radius: float) -> bool:
    """Whether a path of free cells joins start and goal on a GRID lattice, a cell free when its
    centre clears every obstacle and wall by `radius` plus half its diagonal (conservative).
    Flood fill by repeated 4-neighbour dilation, one numpy step per ring."""
    n = round(SIZE / GRID)
    centres = (np.arange(n) + 0.5) * GRID
    x, y = np.meshgrid(centres, centres, indexing="ij")
    margin = radius + GRID * np.sqrt(0.5)
    gx = np.maximum(np.maximum(rects[:, 0, None, None] - x, x - rects[:, 2, None, None]), 0)
    gy = np.maximum(np.maximum(rects[:, 1, None, None] - y, y - rects[:, 3, None, None]), 0)
    free = (np.hypot(gx, gy) > margin).all(axis=0)
    free &= (np.minimum(x, SIZE - x) > margin) & (np.minimum(y, SIZE - y) > margin)
    s = tuple(np.clip((start / GRID).astype(int), 0, n - 1))
    g = tuple(np.clip((goal / GRID).astype(int), 0, n - 1))
    if not (free[s] and free[g]):
        return False
    seen = np.zeros_like(free)
    seen[s] = True
    while True:
        grown = seen.copy()
        grown[1:] |= seen[:-1]
        grown[:-1] |= seen[1:]
        grown[:, 1:] |= seen[:, :-1]
        grown[:, :-1] |= seen[:, 1:]
        grown &= free
        if grown[g]:
            return True
        if (grown == seen).all():
            return False
        seen = grown


class Navigation(gym.Env):
    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}  # noqa: RUF012

    def __init__(
        self,
        n_obstacles: int = 5,
        n_rays: int = 16,
        max_range: float = 5.0,
        continuous: bool = True,
        layouts: str = "train",
        n_layouts: int | None = None,
        frame: str = "goal",
        max_speed: float = 0.5,
        radius: float = 0.25,
        goal_radius: float = 0.5,
        min_start_goal: float = 6.0,
        obstacle_sides: tuple[float, float] = (1.0, 3.0),
        goal_bonus: float = 10.0,
        collision_penalty: float = 10.0,
        time_cost: float = 0.01,
        shaping: float = 1.0,
        gamma: float = 0.99,
        render_mode: str | None = None,
    ) -> None:
        if layouts not in SPLITS:
            raise ValueError(f"layouts must be one of {SPLITS}, got {layouts!r}")
        if frame not in FRAMES:
            raise ValueError(f"frame must be one of {FRAMES}, got {frame!r}")
        if n_layouts is not None and n_layouts < 1:
            raise ValueError(f"n_layouts must be at least 1 or None, got {n_layouts}")
        if n_obstacles < 0 or n_rays < 1:
            raise ValueError(f"need n_obstacles >= 0 and n_rays >= 1, got {n_obstacles}, {n_rays}")
        # a step shorter than the thinnest obstacle plus the agent's diameter cannot pass through it
        if max_speed >= min(obstacle_sides) + 2 * radius:
            raise ValueError("max_speed must be below the smallest obstacle side + 2 * radius")
        self.n_obstacles = n_obstacles
        self.max_range = max_range
        self.continuous = continuous
        self.split = SPLITS.index(layouts)
        self.n_layouts = n_layouts
        self.goal_frame = frame == "goal"
        self.max_speed = max_speed
        self.radius = radius
        self.goal_radius = goal_radius
        self.min_start_goal = min_start_goal
        self.obstacle_sides = tuple(obstacle_sides)
        self.goal_bonus = goal_bonus
        self.collision_penalty = collision_penalty
        self.time_cost = time_cost
        self.shaping = shaping
        self.gamma = gamma
        self.render_mode = render_mode
        angles = 2 * np.pi * np.arange(n_rays) / n_rays
        self.directions = np.stack([np.cos(angles), np.sin(angles)], axis=1)
        self.observation_space = gym.spaces.Box(
            np.r_[np.zeros(n_rays), -np.ones(4)].astype(np.float32),
            np.ones(n_rays + 4, np.float32),
        )
        self.action_space: gym.Space = (
            gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
            if continuous
            else gym.spaces.Discrete(len(HEADINGS))
        )
        self.obstacles = np.zeros((0, 4))
        self.start = self.goal = self.pos = self.velocity = np.zeros(2)
        self.layout_seed = -1
        self.path_length = 0.0

    # -- layouts ----------------------------------------------------------------------------

    def layout(self, layout_seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(obstacles [n, 4], start, goal) of one layout seed: the same seed, the same layout."""
        rng = np.random.default_rng(layout_seed)
        lo, hi = self.obstacle_sides
        clear = self.radius + 0.3  # start and goal a little way off any obstacle
        for _ in range(MAX_TRIES):
            start, goal = rng.uniform(1.0, SIZE - 1.0, (2, 2))
            if np.linalg.norm(goal - start) < self.min_start_goal:
                continue
            sides = rng.uniform(lo, hi, (self.n_obstacles, 2))
            centres = rng.uniform(0.0, SIZE, (self.n_obstacles, 2))
            if self.n_obstacles:  # the first one blocks the straight line
                centres[0] = start + rng.uniform(0.35, 0.65) * (goal - start)
            rects = np.concatenate([centres - sides / 2, centres + sides / 2], axis=1)
            rects = np.clip(rects, 0.0, SIZE)
            if (rect_distance(start, rects) < clear).any() or (
                rect_distance(goal, rects) < clear + self.goal_radius
            ).any():
                continue
            if reachable(start, goal, rects, self.radius):
                return rects, start, goal
        raise ValueError(
            f"no layout with {self.n_obstacles} obstacles of sides {self.obstacle_sides} joins a "
            f"start and a goal {self.min_start_goal} apart in {MAX_TRIES} tries: ask for fewer"
        )

    def draw_layout_seed(self) -> int:
        high = self.n_layouts if self.n_layouts is not None else 2**30
        return 2 * int(self.np_random.integers(high)) + self.split

    # -- the MDP ----------------------------------------------------------------------------

    def potential(self, pos: np.ndarray) -> float:
        return -self.shaping * float(np.linalg.norm(self.goal - pos))

    def rotation(self) -> np.ndarray:
        """The frame's axes as columns in world coordinates: world = rotation @ frame."""
        if not self.goal_frame:
            return np.eye(2)
        dx, dy = self.goal - self.pos
        c, s = np.cos(np.arctan2(dy, dx)), np.sin(np.arctan2(dy, dx))
        return np.array([[c, -s], [s, c]])

    def ranges(self) -> np.ndarray:
        return cast_rays(self.pos, self.directions @ self.rotation().T, self.obstacles)

    def _obs(self) -> np.ndarray:
        to_frame = self.rotation().T
        return np.concatenate(
            [
                np.minimum(self.ranges(), self.max_range) / self.max_range,
                np.clip(to_frame @ (self.goal - self.pos) / SIZE, -1.0, 1.0),
                to_frame @ self.velocity / self.max_speed,
            ]
        ).astype(np.float32)

    def _info(self, success: bool = False, collision: bool = False) -> dict[str, Any]:
        return {
            "is_success": success,
            "collision": collision,
            "path_length": self.path_length,
            "layout_seed": self.layout_seed,
        }

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """A new layout from the split; `options` may fix one: {"layout_seed": int} or
        {"obstacles": [[x0, y0, x1, y1], ...], "start": [x, y], "goal": [x, y]} (hand-placed)."""
        super().reset(seed=seed)
        options = options or {}
        if "obstacles" in options:
            self.layout_seed = -1
            self.obstacles = np.asarray(options["obstacles"], dtype=np.float64).reshape(-1, 4)
            self.start = np.asarray(options["start"], dtype=np.float64)
            self.goal = np.asarray(options["goal"], dtype=np.float64)
        else:
            self.layout_seed = int(options.get("layout_seed", self.draw_layout_seed()))
            self.obstacles, self.start, self.goal = self.layout(self.layout_seed)
        self.pos = self.start.copy()
        self.velocity = np.zeros(2)
        self.path_length = 0.0
        return self._obs(), self._info()

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self.continuous:
            a = np.clip(np.asarray(action, dtype=np.float64).reshape(2), -1.0, 1.0)
            a = a / max(1.0, float(np.linalg.norm(a)))
        else:
            a = HEADINGS[int(action)]
        before = self.potential(self.pos)
        self.velocity = self.rotation() @ a * self.max_speed
        self.pos = self.pos + self.velocity
        self.path_length += float(np.linalg.norm(self.velocity))
        # the disc touches a wall or an obstacle: checked at the step's end (max_speed is below
        # the thinnest obstacle plus the disc's diameter, so no step jumps through one)
        collision = bool(
            (self.pos < self.radius).any()
            or (self.pos > SIZE - self.radius).any()
            or (rect_distance(self.pos, self.obstacles) < self.radius).any()
        )
        success = not collision and float(np.linalg.norm(self.goal - self.pos)) <= self.goal_radius
        terminated = success or collision
        after = 0.0 if terminated else self.potential(self.pos)  # Phi(terminal) = 0
        reward = self.gamma * after - before - self.time_cost
        if success:
            reward += self.goal_bonus
        if collision:
            reward -= self.collision_penalty
            self.pos = np.clip(self.pos, 0.0, SIZE)  # rays are cast from inside the arena
        return self._obs(), float(reward), terminated, False, self._info(success, collision)

    # -- rendering --------------------------------------------------------------------------

    def render(self) -> np.ndarray | None:
        """An RGB image, 20 pixels per arena unit, y up: obstacles, the rays, goal and agent."""
        if self.render_mode != "rgb_array":
            return None
        scale = 20
        n = int(SIZE * scale)
        image = np.empty((n, n, 3), dtype=np.uint8)
        image[:] = COLOURS["free"]
        for x0, y0, x1, y1 in np.round(self.obstacles * scale).astype(int):
            image[y0:y1, x0:x1] = COLOURS["obstacle"]
        ranges = np.minimum(self.ranges(), self.max_range)
        directions = self.directions @ self.rotation().T
        t = np.linspace(0.0, 1.0, 2 * int(self.max_range * scale))
        points = self.pos + (ranges[:, None, None] * t[None, :, None]) * directions[:, None]
        px = np.clip((points * scale).astype(int), 0, n - 1).reshape(-1, 2)
        image[px[:, 1], px[:, 0]] = COLOURS["ray"]
        centres = (np.arange(n) + 0.5) / scale
        x, y = np.meshgrid(centres, centres)  # image rows are y
        for where, r, colour in (
            (self.goal, self.goal_radius, "goal"),
            (self.pos, self.radius, "agent"),
        ):
            image[np.hypot(x - where[0], y - where[1]) <= r] = COLOURS[colour]
        return image[::-1].copy()  # row 0 at the top: y grows upward
