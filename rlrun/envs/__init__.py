"""Environments: the vector-env builder every run uses (`vector.py`), the kinds of space the
capability checks know (`spaces.py`), and the envs rlrun ships, registered as rlrun/<Name>-v0."""

import os
import sys

import gymnasium as gym

# MuJoCo renders (videos, rlrun-eval GIFs) off-screen through EGL, which needs no display; it
# reads MUJOCO_GL when first imported, so it is set before any env is made. macOS has no EGL.
if sys.platform.startswith("linux"):
    os.environ.setdefault("MUJOCO_GL", "egl")

# Sutton & Barto's k-armed testbed (bandits.py): gym.make gives one problem, gym.make_vec (the
# testbed runner's) every copy its own, stepped together in numpy. 1000 steps: the book's runs.
# bsuite's DeepSea (deepsea.py): episodes end after N steps by themselves.
gym.register("rlrun/DeepSea-v0", entry_point="rlrun.envs.deepsea:DeepSea")
# One asset to trade (trading.py): episodes end by themselves after `episode_length` days.
gym.register("rlrun/Trading-v0", entry_point="rlrun.envs.trading:Trading")
gym.register(
    "rlrun/Bandit-v0",
    entry_point="rlrun.envs.bandits:BanditEnv",
    vector_entry_point="rlrun.envs.bandits:BanditTestbed",
    max_episode_steps=1000,
)

# Sutton & Barto's chapter 8 mazes (mazes.py). The book sets no time limit; 10,000 steps cuts a
# random walk through the Dyna maze short with probability 3e-6 (its mean is 869 steps; the
# mazes' first episodes are random walks), so it leaves the figures alone, while a greedy
# evaluation policy caught in a loop ends its episode within a few seconds.
MAZE_TIME_LIMIT = 10_000

# 2-D navigation among obstacles (navigation.py): at full speed the arena's diagonal takes 29
# steps; 200 leaves room for detours while a policy that hovers ends its episode in a second.
gym.register(
    "rlrun/Navigation-v0", entry_point="rlrun.envs.navigation:Navigation", max_episode_steps=200
)
# Sutton, Precup & Singh's four rooms (four_rooms.py): 1000 steps, the option-critic code's cap.
gym.register(
    "rlrun/FourRooms-v0", entry_point="rlrun.envs.four_rooms:FourRooms", max_episode_steps=1000
)
for _name in ("DynaMaze", "BlockingMaze", "ShortcutMaze"):
    gym.register(
        f"rlrun/{_name}-v0",
        entry_point=f"rlrun.envs.mazes:{_name}",
        max_episode_steps=MAZE_TIME_LIMIT,
    )
