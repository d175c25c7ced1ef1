"""Planning (Sutton & Barto chapter 8): Dyna-Q, Dyna-Q+ and prioritized sweeping against
hand-computed values, and the chapter's mazes."""

from __future__ import annotations

from collections import deque

import gymnasium as gym
import numpy as np
import pytest

from rlrun.agents.tabular.config import DynaQConfig, DynaQPlusConfig, PrioritizedSweepingConfig
from rlrun.agents.tabular.dyna import DynaQ, DynaQPlus, PrioritizedSweeping, draw_pairs
from rlrun.errors import ConfigError
from rlrun.exploration.config import EpsilonGreedyConfig
from rlrun.transition import Spaces, Transition
from rlrun.validate import validate

from .conftest import compose_config, train

LR, GAMMA = 0.5, 0.9


def make(cls, cfg_cls, num_envs: int = 1, **cfg):
    spaces = Spaces(gym.spaces.Discrete(3), gym.spaces.Discrete(2), num_envs, total_timesteps=100)
    exploration = EpsilonGreedyConfig(name="epsilon_greedy", schedule="constant", start=0.1)
    return cls(cfg_cls(learning_rate=LR, gamma=GAMMA, **cfg), exploration, spaces, seed=0)


def tr(s, a, r, s2, terminated=False, truncated=False) -> Transition:
    return Transition(
        np.array([s]),
        np.array([a]),
        np.array([r], dtype=np.float64),
        np.array([s2]),
        np.array([terminated]),
        np.array([truncated]),
    )


class Draws:
    """A stand-in for the agent's generator: `integers` answers from a script and records the
    ranges it was asked for, so the draws are known and the ranges are pinned."""

    def __init__(self, *answers: list[int]) -> None:
        self.answers = deque(answers)
        self.ranges: list[list[int]] = []

    def integers(self, high, size=None):
        self.ranges.append(np.broadcast_to(high, (size,) if size else np.shape(high)).tolist())
        return np.array(self.answers.popleft())


def test_dyna_q_real_then_planning_updates():
    agent = make(DynaQ, DynaQConfig, planning_steps=2)
    agent.q[1] = [2.0, 4.0]
    agent.q[2] = [10.0, 10.0]  # state 2 is terminal: these values must never be bootstrapped
    agent.rng = draws = Draws([0, 0], [0, 0], [1, 0], [0, 0], [0, 0], [0, 1])

    agent.observe(tr(0, 1, 1.0, 1), step=1)
    # real: 0.5 * (1 + 0.9 * 4) = 2.3; two planned copies of it: 3.45, then 4.025
    assert agent.q[0, 1] == pytest.approx(4.025)

    agent.observe(tr(1, 0, 0.0, 2, terminated=True), step=2)
    # real, no bootstrap: 2 + 0.5 * (0 - 2) = 1; planned (1, 0): 0.5; planned (0, 1): the
    # target 1 + 0.9 * max(0.5, 4) = 4.6, so 4.025 + 0.5 * (4.6 - 4.025)
    assert agent.q[1, 0] == pytest.approx(0.5)
    assert agent.q[0, 1] == pytest.approx(4.3125)

    agent.observe(tr(0, 0, 0.0, 1, truncated=True), step=3)
    # a truncation bootstraps, real and planned: 0.5 * 0.9 * 4 = 1.8, then 1.8 + 0.5 * 1.8;
    # planned (0, 1): 4.3125 + 0.5 * (4.6 - 4.3125)
    assert agent.q[0, 0] == pytest.approx(2.7)
    assert agent.q[0, 1] == pytest.approx(4.45625)
    np.testing.assert_array_equal(agent.q[2], [10.0, 10.0])
    # states tried: [0], [0, 1], [0, 1]; actions tried there: 1 each, then 2 in state 0
    assert draws.ranges == [[1, 1], [1, 1], [2, 2], [1, 1], [2, 2], [2, 2]]
    np.testing.assert_array_equal(agent.model_next, [[1, 1], [2, 1], [2, 2]])
    np.testing.assert_array_equal(agent.model_terminated, [[0, 0], [1, 0], [0, 0]])
    np.testing.assert_array_equal(agent.model_reward, [[0, 1], [0, 0], [0, 0]])


def test_planning_draws_a_state_uniformly_then_one_of_its_tried_actions():
    plannable = np.array([[True, False, False], [True, True, True], [False, False, False]])
    s, a = draw_pairs(plannable, 60_000, np.random.default_rng(0))
    pairs, counts = np.unique(np.stack([s, a]), axis=1, return_counts=True)
    assert pairs.T.tolist() == [[0, 0], [1, 0], [1, 1], [1, 2]]  # only tried pairs
    # uniform over pairs would be 1/4 each
    np.testing.assert_allclose(counts / len(s), [1 / 2, 1 / 6, 1 / 6, 1 / 6], atol=0.01)


def test_planning_updates_per_real_transition_with_several_envs(monkeypatch):
    agent = make(DynaQ, DynaQConfig, num_envs=2, planning_steps=3)
    learned = []
    real_learn = agent.learn
    monkeypatch.setattr(
        agent, "learn", lambda s, a, t: (learned.append(len(s)), real_learn(s, a, t))
    )
    t = Transition(
        np.array([0, 1]),
        np.array([1, 0]),
        np.zeros(2),
        np.array([1, 2]),
        np.zeros(2, bool),
        np.zeros(2, bool),
    )
    agent.observe(t, step=2)
    assert learned == [2] + [1] * 6  # both real transitions, then 3 planned per real one
    assert agent.tried.sum() == 2


def test_dyna_q_plus_plans_with_the_bonus_and_untried_actions():
    agent = make(DynaQPlus, DynaQPlusConfig, planning_steps=1, kappa=0.5)
    agent.rng = Draws([0], [1], [0], [1], [0], [0])

    agent.observe(tr(0, 0, 0.0, 1), step=1)
    # planned: untried (0, 1), back to 0 with reward 0, counted as tried at step 1: tau 0
    assert agent.q.tolist() == [[0, 0], [0, 0], [0, 0]]

    agent.observe(tr(1, 1, 0.0, 2), step=2)
    # planned (0, 1) again: tau = 2 - 1, reward 0.5 * sqrt(1); 0.5 * (0.5 + 0.9 * 0)
    assert agent.q[0, 1] == pytest.approx(0.25)

    agent.observe(tr(1, 0, 0.0, 0), step=3)
    # real, no bonus: 0.5 * 0.9 * max(0, 0.25); planned (0, 0), tried at step 1: tau = 2,
    # target 0.5 * sqrt(2) + 0.9 * max(0.1125, 0)
    assert agent.q[1, 0] == pytest.approx(0.1125)
    assert agent.q[0, 0] == pytest.approx(0.5 * (0.5 * np.sqrt(2) + 0.9 * 0.1125))
    # states tried: [0], [0, 1], [0, 1]; every action of a tried state may be drawn
    assert agent.rng.ranges == [[1], [2], [2], [2], [2], [2]]
    assert agent.real_steps == 3
    np.testing.assert_array_equal(agent.last_tried, [[1, 1], [3, 2], [1, 1]])


def test_prioritized_sweeping_queue_and_predecessors():
    agent = make(PrioritizedSweeping, PrioritizedSweepingConfig, planning_steps=1, theta=0.01)
    agent.q[2] = [10.0, 10.0]  # terminal

    agent.observe(tr(0, 0, 0.0, 1), step=1)  # |0 + 0.9 * 0 - 0| = 0: not queued, nothing learned
    assert not agent.priority.any() and not agent.q[:2].any()

    agent.observe(tr(1, 0, 1.0, 2, terminated=True), step=2)
    # P = |1 - 0| (no bootstrap); swept: Q(1, 0) = 0.5; its predecessor (0, 0) queued with
    # |0 + 0.9 * 0.5 - 0| = 0.45 (one update per real step: it waits)
    assert agent.q[1, 0] == pytest.approx(0.5)
    np.testing.assert_allclose(agent.priority, [[0.45, 0], [0, 0], [0, 0]])

    agent.observe(tr(1, 0, 1.0, 2, terminated=True), step=3)
    # (1, 0) queued with |1 - 0.5| = 0.5 > 0.45, swept first: 0.75; (0, 0) re-queued with
    # 0.9 * 0.75 = 0.675
    assert agent.q[1, 0] == pytest.approx(0.75)
    assert agent.q[0, 0] == 0.0
    np.testing.assert_allclose(agent.priority, [[0.675, 0], [0, 0], [0, 0]])

    agent.observe(tr(0, 1, 0.0, 0), step=4)  # a bump into a wall: P = 0, not queued
    # swept (0, 0): 0.5 * 0.675; predecessors of 0: the self-loop (0, 1), 0.9 * 0.3375
    assert agent.q[0, 0] == pytest.approx(0.3375)
    np.testing.assert_allclose(agent.priority, [[0, 0.30375], [0, 0], [0, 0]])
    np.testing.assert_array_equal(agent.q[2], [10.0, 10.0])


def test_prioritized_sweeping_keeps_the_higher_priority_above_theta():
    agent = make(PrioritizedSweeping, PrioritizedSweepingConfig, theta=0.1)
    one = np.array([0])
    agent.push(one, one, np.array([0.5]))
    agent.push(one, one, np.array([0.2]))
    agent.push(one + 1, one, np.array([0.1]))  # not above theta
    assert agent.priority.tolist() == [[0.5, 0], [0, 0], [0, 0]]


def test_prioritized_sweeping_stops_when_the_queue_is_empty(monkeypatch):
    agent = make(PrioritizedSweeping, PrioritizedSweepingConfig, planning_steps=10)
    calls = []
    real_learn = agent.learn
    monkeypatch.setattr(agent, "learn", lambda s, a, t: (calls.append(1), real_learn(s, a, t)))
    agent.observe(tr(0, 0, 0.0, 1), step=1)
    agent.observe(tr(1, 0, 1.0, 2, terminated=True), step=2)
    assert len(calls) == 2  # (1, 0), then its predecessor (0, 0); then nothing is queued


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("agent.planning_steps=-1", "agent.planning_steps: must be >= 0, got -1"),
        ("agent.theta=-0.1", "agent.theta: must be >= 0, got -0.1"),
    ],
)
def test_bad_planning_values_are_one_line_errors(override, message):
    agent = "prioritized_sweeping" if "theta" in override else "dyna_q"
    with pytest.raises(ConfigError, match=message):
        validate(compose_config(f"agent={agent}", "env=dyna_maze", override))


def test_kappa_must_not_be_negative():
    with pytest.raises(ConfigError, match=r"agent\.kappa: must be >= 0, got -1"):
        validate(compose_config("agent=dyna_q_plus", "env=blocking_maze", "agent.kappa=-1"))


def test_defaults_are_the_books():
    rc = validate(compose_config("agent=dyna_q", "env=dyna_maze"))
    assert (rc.agent.learning_rate, rc.agent.gamma, rc.agent.planning_steps) == (0.1, 0.95, 5)
    assert (rc.exploration.name, rc.exploration.schedule, rc.exploration.start) == (
        "epsilon_greedy",
        "constant",
        0.1,
    )


# --- the mazes -----------------------------------------------------------------------------------


def shortest_path(env: gym.Env) -> int | None:
    """Breadth-first search over the env's own steps, from its start cell, walls as they are now."""
    maze = env.unwrapped
    counter = maze.steps_taken
    dist = {maze.start: 0}
    frontier = deque([maze.start])
    while frontier:
        cell = frontier.popleft()
        for action in range(env.action_space.n):
            maze.cell, maze.steps_taken = cell, counter  # stepping must not change the walls
            nxt, reward, terminated, _, _ = maze.step(action)
            if terminated:
                assert reward == 1.0 and nxt == maze.goal
                maze.steps_taken = counter
                return dist[cell] + 1
            assert reward == 0.0
            if int(nxt) not in dist:
                dist[int(nxt)] = dist[cell] + 1
                frontier.append(int(nxt))
    maze.steps_taken = counter
    return None


def cells(walls: np.ndarray) -> list[list[int]]:
    return np.argwhere(walls).tolist()


def test_dyna_maze_layout_and_its_14_step_path():
    env = gym.make("rlrun/DynaMaze-v0")
    obs, _ = env.reset(seed=0)
    maze = env.unwrapped
    assert (env.observation_space.n, env.action_space.n) == (54, 4)
    assert divmod(int(obs), 9) == (2, 0) and divmod(maze.goal, 9) == (0, 8)
    # chapter08/maze.py's obstacles
    assert cells(maze.current_walls()) == sorted(
        [[1, 2], [2, 2], [3, 2], [0, 7], [1, 7], [2, 7], [4, 5]]
    )
    assert shortest_path(env) == 14
    assert env.spec.max_episode_steps == 10_000


def test_moves_walls_and_edges():
    env = gym.make("rlrun/DynaMaze-v0")
    env.reset(seed=0)  # at (2, 0): left is the edge, up is free, right is free, then a wall
    assert env.step(2)[0] == 18  # off the grid: stays
    assert env.step(3)[0] == 19
    assert env.step(3)[0] == 19  # (2, 2) is a wall
    assert env.step(0)[0] == 10
    assert env.step(1)[0] == 19


@pytest.mark.parametrize(
    ("env_id", "before", "after", "walls_after"),
    [  # chapter08/maze.py: the blocking maze's row-3 walls 0..7, then 1..8; the shortcut's
        # 1..8, then 1..7
        ("rlrun/BlockingMaze-v0", 10, 16, [[3, c] for c in range(1, 9)]),
        ("rlrun/ShortcutMaze-v0", 16, 10, [[3, c] for c in range(1, 8)]),
    ],
)
def test_changing_mazes_change_after_change_at_steps_across_episodes(
    env_id, before, after, walls_after
):
    env = gym.make(env_id, change_at=3)
    maze = env.unwrapped
    obs, _ = env.reset(seed=0)
    assert divmod(int(obs), 9) == (5, 3) and divmod(maze.goal, 9) == (0, 8)
    env.step(2)
    env.step(2)
    assert shortest_path(env) == before  # 2 steps taken
    env.reset()  # the count goes on over episodes
    env.step(2)
    assert maze.steps_taken == 3
    assert shortest_path(env) == after
    assert cells(maze.current_walls()) == walls_after


def test_changing_mazes_default_to_the_books_change_steps():
    assert gym.make("rlrun/BlockingMaze-v0").unwrapped.change_at == 1000
    assert gym.make("rlrun/ShortcutMaze-v0").unwrapped.change_at == 3000


def test_a_bad_change_step_is_a_config_error():
    from rlrun.envs.vector import make_env

    rc = validate(compose_config("agent=dyna_q", "env=blocking_maze", "env.kwargs.change_at=-5"))
    with pytest.raises(ConfigError, match=r"env\.kwargs: rlrun/BlockingMaze-v0 rejected"):
        make_env(rc.env)


def test_mazes_render_rgb_frames():
    env = gym.make("rlrun/DynaMaze-v0", render_mode="rgb_array")
    env.reset(seed=0)
    frame = env.render()
    assert frame.shape == (6 * 16, 9 * 16, 3) and frame.dtype == np.uint8
    assert (frame[2 * 16, 0] != frame[0, 0]).any()  # the agent's cell stands out


# --- through the real config path -----------------------------------------------------------------


def test_dyna_q_without_planning_is_q_learning(tmp_path):
    common = ["env=dyna_maze", "total_timesteps=2000", "eval.episodes=1", "eval.num_envs=1"]
    common += ["exploration=epsilon_greedy", "exploration.schedule=constant"]
    common += ["exploration.start=0.1", "agent.gamma=0.95"]
    dyna = train(tmp_path / "d", "agent=dyna_q", "agent.planning_steps=0", *common).agent
    q = train(tmp_path / "q", "agent=qlearning", *common).agent
    np.testing.assert_array_equal(dyna.q, q.q)
    assert dyna.q.any()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dyna_q_finds_the_14_step_path_of_the_dyna_maze(tmp_path, seed):
    # 3000 steps: a first episode's random walk can take 1000+. Some seeds (4 of 0-5) keep a
    # 16-step path: epsilon 0.1 never tried one move of the 14-step route, which Q = 0 hides.
    trainer = train(
        tmp_path,
        "agent=dyna_q",
        "env=dyna_maze",
        f"seed={seed}",
        "agent.planning_steps=50",
        "total_timesteps=3000",
        "eval.every_steps=null",
        "eval.episodes=1",
        "eval.num_envs=1",
    )
    ev = trainer.result.final_eval
    assert (ev.success_rate, ev.mean_length, ev.mean_return) == (1.0, 14.0, 1.0)
