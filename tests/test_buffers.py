import gymnasium as gym
import numpy as np
import pytest
import torch

from rlrun.buffers import FrameReplayBuffer, ReplayBuffer
from rlrun.errors import ConfigError
from rlrun.transition import Transition


def make_buffer(capacity: int) -> ReplayBuffer:
    obs_space = gym.spaces.Box(-10, 10, shape=(2,), dtype=np.float32)
    return ReplayBuffer(capacity, obs_space, gym.spaces.Discrete(3), torch.device("cpu"))


def step(first: float, n: int = 2) -> Transition:
    """n envs; env i's observation is first + i, its next observation first + i + 0.5."""
    obs = np.stack([np.full(2, first + i, dtype=np.float32) for i in range(n)])
    return Transition(
        obs=obs,
        action=np.arange(n),
        reward=np.full(n, first),
        next_obs=obs + 0.5,
        terminated=np.array([True] + [False] * (n - 1)),
        truncated=np.array([False] * (n - 1) + [True]),
    )


def test_add_keeps_true_next_obs_and_termination_only():
    buf = make_buffer(8)
    buf.add(step(0.0), 0.99)
    assert len(buf) == 2
    batch = buf.get(np.array([0, 1]))
    # The final observation (0.5, 1.5) is stored, not a reset observation.
    np.testing.assert_array_equal(batch.next_obs.numpy(), [[0.5, 0.5], [1.5, 1.5]])
    # Env 0 terminated (no bootstrap); env 1 was truncated, which keeps bootstrapping.
    np.testing.assert_array_equal(batch.terminated.numpy(), [1.0, 0.0])
    np.testing.assert_array_equal(batch.actions.numpy(), [0, 1])


def test_wraps_around_overwriting_the_oldest():
    buf = make_buffer(5)
    for first in (0.0, 10.0, 20.0):  # 6 rows into 5 slots
        buf.add(step(first / 10), 0.99)
    assert len(buf) == 5 and buf.pos == 1
    # Slot 0 now holds the 6th row (env 1 of the third step); slot 1 still the 2nd row.
    np.testing.assert_array_equal(buf.obs[:, 0], [3.0, 1.0, 1.0, 2.0, 2.0])
    buf.add(step(5.0, n=3), 0.99)  # a write that itself wraps: slots 1, 2, 3
    np.testing.assert_array_equal(buf.obs[:, 0], [3.0, 5.0, 6.0, 7.0, 2.0])
    assert buf.pos == 4


def test_sample_stays_within_filled_rows():
    buf = make_buffer(100)
    buf.add(step(0.0, n=3), 0.99)
    idx = buf.sample_indices(1000, np.random.default_rng(0))
    assert idx.min() == 0 and idx.max() == 2


def test_transition_select():
    t = step(0.0, n=3).select(np.array([False, True, True]))
    np.testing.assert_array_equal(t.action, [1, 2])
    np.testing.assert_array_equal(t.truncated, [False, True])


def test_a_buffer_larger_than_the_machine_is_a_one_line_error():
    space = gym.spaces.Box(0, 255, (4, 84, 84), np.uint8)
    with pytest.raises(ConfigError) as err:
        ReplayBuffer(10**12, space, gym.spaces.Discrete(4), torch.device("cpu"))
    assert str(err.value).startswith(
        "agent.buffer_size: 1000000000000 transitions of (4, 84, 84) uint8 observations need "
        "about 56448000.0 GB, more than this machine can allocate; lower it, or set "
        "agent.optimize_memory_usage=true"
    )


def test_a_frame_buffer_too_large_counts_each_frame_once_and_suggests_no_switch_already_on():
    space = gym.spaces.Box(0, 255, (4, 84, 84), np.uint8)
    with pytest.raises(ConfigError) as err:
        FrameReplayBuffer(10**12, space, gym.spaces.Discrete(4), torch.device("cpu"), 1, 4)
    assert str(err.value) == (
        "agent.buffer_size: 1000000000000 transitions of (4, 84, 84) uint8 observations need "
        "about 7056000.0 GB, more than this machine can allocate; lower it"
    )
