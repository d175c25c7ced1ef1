"""Options (Sutton, Precup & Singh 1999) over a Discrete-state env, as arrays an agent indexes by
state: an option o is an initiation set I_o, a policy pi_o (deterministic here) and a termination
condition beta_o. Primitive actions are the options that last one step: I = all states,
pi(s) = a, beta = 1 everywhere.

`room_options` builds the hallway options of a gridworld made of rooms joined by one-cell
doorways: for each room and each of its doorways, an option that takes the agent from anywhere in
the room (or from the room's other doorways) to that doorway along a shortest path, and
terminates there or wherever else it leaves the room.
"""

from __future__ import annotations

from collections import deque
from typing import NamedTuple

import numpy as np

# Row, column moves of actions 0 up, 1 down, 2 left, 3 right (the mazes' order).
MOVES = np.array([[-1, 0], [1, 0], [0, -1], [0, 1]])


class OptionSet(NamedTuple):
    """policy[o, s]: the action o takes in state s; termination[o, s]: beta_o(s), the chance o
    ends on arriving in s; initiation[o, s]: s is in I_o, o may start there."""

    policy: np.ndarray  # int64 [options, states]
    termination: np.ndarray  # float64 [options, states]
    initiation: np.ndarray  # bool [options, states]
    names: tuple[str, ...]

    @property
    def n(self) -> int:
        return len(self.names)


def primitive_options(states: int, actions: int) -> OptionSet:
    return OptionSet(
        np.repeat(np.arange(actions)[:, None], states, axis=1),
        np.ones((actions, states)),
        np.ones((actions, states), dtype=bool),
        tuple(f"action_{a}" for a in range(actions)),
    )


def combined(*sets: OptionSet) -> OptionSet:
    """The options of every set, in order (e.g. primitive actions, then hallway options)."""
    return OptionSet(
        np.concatenate([s.policy for s in sets]),
        np.concatenate([s.termination for s in sets]),
        np.concatenate([s.initiation for s in sets]),
        sum((s.names for s in sets), ()),
    )


def doorways(free: np.ndarray) -> list[tuple[int, int]]:
    """Free cells with walls on two opposite sides and free cells on the other two."""
    out = []
    for r, c in zip(*np.nonzero(free), strict=True):
        up, down = free[r - 1, c], free[r + 1, c]
        left, right = free[r, c - 1], free[r, c + 1]
        if (up and down and not left and not right) or (left and right and not up and not down):
            out.append((int(r), int(c)))
    return out


def _neighbours(cell: tuple[int, int], cells: set[tuple[int, int]]) -> list[tuple[int, int]]:
    return [
        (cell[0] + dr, cell[1] + dc) for dr, dc in MOVES if (cell[0] + dr, cell[1] + dc) in cells
    ]


def rooms(free: np.ndarray, doors: list[tuple[int, int]]) -> list[set[tuple[int, int]]]:
    """The connected regions of free cells once the doorways are closed."""
    left = {(int(r), int(c)) for r, c in zip(*np.nonzero(free), strict=True)} - set(doors)
    out = []
    while left:
        seed = min(left)
        room, queue = {seed}, deque([seed])
        while queue:
            for n in _neighbours(queue.popleft(), left):
                if n not in room:
                    room.add(n)
                    queue.append(n)
        left -= room
        out.append(room)
    return out


def room_options(free: np.ndarray, state_of: dict[tuple[int, int], int]) -> OptionSet:
    """The hallway options of a grid of rooms; `state_of` maps a free cell to its state index.
    Each option's policy is the move that shortens the path to its doorway (ties: the first
    move in up, down, left, right order) as if moves were deterministic."""
    doors = doorways(free)
    states = len(state_of)
    policies, terminations, initiations, names = [], [], [], []
    for k, room in enumerate(rooms(free, doors)):
        room_doors = [d for d in doors if _neighbours(d, room)]
        for target in room_doors:
            inside = room | set(room_doors) - {target}
            dist = {target: 0}
            queue = deque([target])
            while queue:  # breadth-first from the doorway, through the room
                cell = queue.popleft()
                for n in _neighbours(cell, inside):
                    if n not in dist:
                        dist[n] = dist[cell] + 1
                        queue.append(n)
            policy = np.zeros(states, dtype=np.int64)
            termination = np.ones(states)
            initiation = np.zeros(states, dtype=bool)
            for cell in inside:
                s = state_of[cell]
                steps = [dist.get((cell[0] + dr, cell[1] + dc), np.inf) for dr, dc in MOVES]
                policy[s] = int(np.argmin(steps))
                termination[s] = 0.0
                initiation[s] = True
            policies.append(policy)
            terminations.append(termination)
            initiations.append(initiation)
            names.append(f"room_{k}_to_{target[0]}_{target[1]}")
    return OptionSet(
        np.stack(policies), np.stack(terminations), np.stack(initiations), tuple(names)
    )
