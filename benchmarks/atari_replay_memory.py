"""Peak memory of a 1M-transition Atari replay buffer that keeps each frame once.

    python benchmarks/atari_replay_memory.py                 # 1,000,000 transitions, 8 envs
    python benchmarks/atari_replay_memory.py --transitions 100000

Fills rlrun's FrameReplayBuffer (agent.optimize_memory_usage=true) with stacks of 4 84x84 uint8
frames as Atari's preprocessing makes them (episodes of random length, "reset" padding), samples
batches from the full ring, and reports the process's peak resident set (ru_maxrss) beside what
a buffer of whole observation pairs (SB3's default) would take.
"""

from __future__ import annotations

import argparse
import resource
import time

import gymnasium as gym
import numpy as np
import torch

from rlrun.buffers import FrameReplayBuffer
from rlrun.transition import Transition

STACK, SIDE = 4, 84


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--transitions", type=int, default=1_000_000)
    p.add_argument("--envs", type=int, default=8)
    a = p.parse_args()
    n = a.envs
    space = gym.spaces.Box(0, 255, (STACK, SIDE, SIDE), np.uint8)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    buf = FrameReplayBuffer(
        a.transitions, space, gym.spaces.Discrete(4), torch.device("cpu"), n, STACK
    )
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (n, SIDE, SIDE), dtype=np.uint8)
    obs = np.repeat(frame[:, None], STACK, axis=1)
    t0 = time.perf_counter()
    for _ in range(-(-a.transitions // n)):
        frame = (frame + 1).astype(np.uint8)  # a new frame per step
        next_obs = np.concatenate([obs[:, 1:], frame[:, None]], axis=1)
        ended = rng.random(n) < 1 / 500  # Breakout lives last a few hundred steps
        t = Transition(obs, rng.integers(0, 4, n), np.ones(n), next_obs, ended, np.zeros(n, bool))
        buf.add(t, 0.99)
        obs = np.where(
            ended[:, None, None, None], np.repeat(frame[:, None], STACK, axis=1), next_obs
        )
    fill_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(100):
        batch = buf.get(buf.sample_indices(32, rng))
    sample_ms = (time.perf_counter() - t0) * 10
    assert batch.obs.shape == (32, STACK, SIDE, SIDE)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    pairs = a.transitions * 2 * STACK * SIDE * SIDE
    print(f"transitions stored      {len(buf):,} ({n} envs), filled in {fill_s:.0f} s")
    print(f"buffer arrays           {buf.nbytes / 1e9:.2f} GB")
    before = f"(process before the buffer: {rss0 / 1e9:.2f} GB)"
    print(f"peak resident set       {peak / 1e9:.2f} GB {before}")
    ratio = f"{pairs / buf.nbytes:.1f}x"
    print(f"obs + next_obs stacks   {pairs / 1e9:.2f} GB (SB3's default layout), {ratio}")
    print(f"batch of 32             {sample_ms:.2f} ms to sample and rebuild")


if __name__ == "__main__":
    main()
