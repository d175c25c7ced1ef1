"""rlrun side by side with Stable-Baselines3 at identical hyperparameters, in one run.

    python benchmarks/bench.py dqn-cartpole --seeds 0 1 2
    python benchmarks/bench.py qlearning-frozenlake --seeds 0 1 2
    python benchmarks/bench.py dqn-sps --seeds 0 1 2
    python benchmarks/bench.py sac-pendulum --seeds 0 1 2 --impls rlrun

Every run is a fresh subprocess (rlrun's own CLI; SB3 through this file's internal `_sb3` mode),
timed from spawn to exit, the implementations (IMPLS) taking turns. A benchmark is one entry of
SPECS; the first of its implementations is the one under test, the others its baselines.
Results: a markdown table on stdout and in benchmarks/results/<name>-<time>.md, raw numbers
beside it in .json, rlrun run dirs and SB3 logs under benchmarks/results/<name>-<time>/.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
INF = float("inf")


@dataclass(frozen=True)
class Impl:
    """One implementation under test."""

    kind: str  # "rlrun" (its CLI) or "sb3" (this file's `_sb3` mode)
    # torch threads: for SB3, torch.set_num_threads(n) in the child, None: torch's default
    # (what an SB3 user gets out of the box); rlrun always runs with its own torch_threads
    threads: int | None
    about: str
    # rlrun: Hydra overrides added to the spec's (a variant of rlrun as its own implementation)
    overrides: tuple[str, ...] = ()
    # rlrun: run the checkout named by $RLRUN_PINNED instead, first on PYTHONPATH (an older
    # commit side by side with the tree under test: README "Pinning a commit")
    pinned: bool = False


# Table order is the run order for the first seed; it rotates by one each seed (see bench()).
IMPLS: dict[str, Impl] = {
    "rlrun": Impl("rlrun", None, "rlrun, its own default torch_threads=1"),
    "sb3": Impl("sb3", 1, "Stable-Baselines3, torch.set_num_threads(1) as rlrun"),
    "sb3-default-threads": Impl(
        "sb3", None, "Stable-Baselines3 out of the box: torch's default thread count"
    ),
    "rlrun-rainbow": Impl(
        "rlrun",
        None,
        "rlrun DQN with dueling heads, 3-step returns and prioritized replay",
        ("agent.dueling=true", "agent.n_step=3", "agent.prioritized_replay=true"),
    ),
    "rlrun-pinned": Impl(
        "rlrun", None, "rlrun at the commit checked out in $RLRUN_PINNED", pinned=True
    ),
}


@dataclass(frozen=True)
class Spec:
    """One benchmark: rlrun's Hydra overrides and, when there is one, the SB3 equivalent."""

    # rlrun overrides; the tuned preset (conf/hyperparams/) comes in through agent= and env=
    rlrun: tuple[str, ...]
    # "solved" when an evaluation reaches this: on any evaluation within the budget ("any")
    # or on the final one ("final"); "mean-final": a seed is solved by its final evaluation,
    # the target by the mean final evaluation over the seeds
    threshold: float
    solve_on: str = "any"
    # env-step budget for both; None: rlrun's preset decides (rlrun-only specs)
    total_timesteps: int | None = None
    # None: no evaluation during training (pure throughput), one after the clock stops
    eval_every: int | None = 5_000
    eval_episodes: int = 10
    # SB3: class name in stable_baselines3 (None: rlrun only), env id, constructor kwargs
    # ("lin_<x>": a linear schedule from x to 0, as RL Zoo writes it), vector envs
    sb3_algo: str | None = None
    sb3_env: str = ""
    sb3_kwargs: dict[str, Any] = field(default_factory=dict)
    sb3_n_envs: int = 1
    sb3_policy: str = "MlpPolicy"  # sb3-contrib's ARS: "LinearPolicy" too
    # SB3 wraps its envs in VecNormalize(norm_obs=True, norm_reward=False) (RL Zoo's
    # `normalize`), the eval env synchronised with it; rlrun: agent.normalize_obs=true
    sb3_normalize_obs: bool = False
    sb3_normalize_reward: bool = False  # VecNormalize's norm_reward (rlrun: agent.normalize_reward)
    sb3_env_kwargs: dict[str, Any] = field(default_factory=dict)  # gym.make's, for both envs
    # SB3's make_atari_env (AtariWrapper) and VecFrameStack(4), as the RL Zoo's atari entries
    sb3_atari: bool = False
    # settings rlrun chooses differently on purpose (its preset says why): not compared
    unmatched: tuple[str, ...] = ()
    # sb3-contrib TRPO averages a Gaussian's KL over the d Box action dims where rlrun sums them
    # (conf/agent/trpo.yaml), so the same step is its target_kl and cg_damping times d in rlrun
    sb3_kl_action_dims: int = 1
    # implementations (IMPLS keys), the first is the one under test; None: rlrun and, with
    # sb3_algo, both SB3 thread settings
    impls: tuple[str, ...] | None = None
    # acceptance, median under test vs median baseline, against each baseline: SPS ratio at
    # least this; time / env steps to solve baseline / under test at least this. Without
    # target_sps_ratio, also: solved on every seed (or mean final eval, "mean-final")
    target_sps_ratio: float | None = None
    target_solve_s_ratio: float | None = None
    target_solve_steps_ratio: float | None = None
    # acceptance: the mean final eval under test at least each baseline's ("same or better
    # return at the same budget"), beside the ratio targets
    target_return_vs_baseline: bool = False


# RL Zoo hyperparams/dqn.yml, CartPole-v1 (= conf/hyperparams/dqn_cartpole.yaml); SB3 defaults
# that rlrun must match too are spelled out, so check_preset covers them.
DQN_CARTPOLE_ZOO: dict[str, Any] = {
    "learning_rate": 2.3e-3,
    "batch_size": 64,
    "buffer_size": 100_000,
    "learning_starts": 1000,
    "gamma": 0.99,
    "target_update_interval": 10,
    "train_freq": 256,
    "gradient_steps": 128,
    "exploration_fraction": 0.16,
    "exploration_initial_eps": 1.0,
    "exploration_final_eps": 0.04,
    "tau": 1.0,
    "max_grad_norm": 10.0,
    "policy_kwargs": {"net_arch": [256, 256]},
}
DQN_CARTPOLE = {
    # rlrun's preset adds Double DQN (tuned there); SB3's DQN has none: off for the comparison
    "rlrun": ("agent=dqn", "env=cartpole", "agent.double_q=false"),
    "threshold": 475,
    "total_timesteps": 50_000,
    "sb3_algo": "DQN",
    "sb3_env": "CartPole-v1",
    "sb3_kwargs": DQN_CARTPOLE_ZOO,
}

# RL Zoo hyperparams/dqn.yml, MountainCar-v0 (= conf/hyperparams/dqn_mountaincar.yaml)
DQN_MOUNTAINCAR_ZOO: dict[str, Any] = DQN_CARTPOLE_ZOO | {
    "learning_rate": 4e-3,
    "batch_size": 128,
    "buffer_size": 10_000,
    "gamma": 0.98,
    "target_update_interval": 600,
    "train_freq": 16,
    "gradient_steps": 8,
    "exploration_fraction": 0.2,
    "exploration_final_eps": 0.07,
}

# RL Zoo hyperparams/dqn.yml, LunarLander-v2 (= conf/hyperparams/dqn_lunarlander.yaml, on v3);
# the Zoo's gradient_steps -1 (one per env step collected) is 4 with train_freq 4
DQN_LUNARLANDER_ZOO: dict[str, Any] = DQN_CARTPOLE_ZOO | {
    "learning_rate": 6.3e-4,
    "batch_size": 128,
    "buffer_size": 50_000,
    "learning_starts": 0,
    "target_update_interval": 250,
    "train_freq": 4,
    "gradient_steps": 4,
    "exploration_fraction": 0.12,
    "exploration_final_eps": 0.1,
}

# RL Zoo hyperparams/ppo.yml, CartPole-v1 (= conf/hyperparams/ppo_cartpole.yaml), 8 envs; SB3
# PPO defaults spelled out as above (net_arch: SB3's pi/vf [64, 64], rlrun's unshared [64, 64]).
PPO_CARTPOLE_ZOO: dict[str, Any] = {
    "n_steps": 32,
    "batch_size": 256,
    "gae_lambda": 0.8,
    "gamma": 0.98,
    "n_epochs": 20,
    "ent_coef": 0.0,
    "learning_rate": "lin_1e-3",
    "clip_range": "lin_0.2",
    "clip_range_vf": None,
    "vf_coef": 0.5,
    "max_grad_norm": 0.5,
    "normalize_advantage": True,
    "target_kl": None,
}
PPO_CARTPOLE = {
    "rlrun": ("agent=ppo", "env=cartpole"),
    "threshold": 475,
    "total_timesteps": 100_000,
    "eval_every": 2_500,
    "sb3_algo": "PPO",
    "sb3_env": "CartPole-v1",
    "sb3_kwargs": PPO_CARTPOLE_ZOO,
    "sb3_n_envs": 8,
}
# RL Zoo hyperparams/sac.yml, Pendulum-v1 (= conf/hyperparams/sac_pendulum.yaml): lr 1e-3, the
# rest SB3's SAC defaults, spelled out.
SAC_PENDULUM_ZOO: dict[str, Any] = {
    "learning_rate": 1e-3,
    "buffer_size": 1_000_000,
    "learning_starts": 100,
    "batch_size": 256,
    "tau": 0.005,
    "gamma": 0.99,
    "train_freq": 1,
    "gradient_steps": 1,
    "ent_coef": "auto",
    "target_update_interval": 1,
    "policy_kwargs": {"net_arch": [256, 256]},
}
SAC_PENDULUM = {
    "rlrun": ("agent=sac", "env=pendulum"),
    "threshold": -200,
    "total_timesteps": 20_000,
    "eval_every": 2_000,
    "sb3_algo": "SAC",
    "sb3_env": "Pendulum-v1",
    "sb3_kwargs": SAC_PENDULUM_ZOO,
}
# RL Zoo hyperparams/a2c.yml, CartPole-v1 (= conf/hyperparams/a2c_cartpole.yaml): 8 envs,
# ent_coef 0, SB3 A2C defaults otherwise (RMSprop), spelled out.
A2C_CARTPOLE_ZOO: dict[str, Any] = {
    "learning_rate": 7e-4,
    "n_steps": 5,
    "gamma": 0.99,
    "gae_lambda": 1.0,
    "ent_coef": 0.0,
    "vf_coef": 0.5,
    "max_grad_norm": 0.5,
    "normalize_advantage": False,
}
# RL Zoo hyperparams/a2c.yml, LunarLander-v2 (= conf/hyperparams/a2c_lunarlander.yaml, on v3),
# 8 envs; SB3 A2C's defaults spelled out as above.
A2C_LUNARLANDER_ZOO: dict[str, Any] = A2C_CARTPOLE_ZOO | {
    "learning_rate": "lin_0.00083",
    "gamma": 0.995,
    "ent_coef": 1e-5,
}
# RL Zoo hyperparams/trpo.yml, CartPole-v1 (= conf/hyperparams/trpo_cartpole.yaml), 2 envs;
# sb3-contrib TRPO's defaults spelled out as above.
TRPO_CARTPOLE_ZOO: dict[str, Any] = {
    "n_steps": 512,
    "batch_size": 512,
    "cg_damping": 1e-3,
    "gae_lambda": 0.98,
    "gamma": 0.99,
    "learning_rate": 1e-3,
    "n_critic_updates": 20,
    "cg_max_steps": 15,
    "line_search_shrinking_factor": 0.8,
    "line_search_max_iter": 10,
    "target_kl": 0.01,
    "normalize_advantage": True,
}
# RL Zoo hyperparams/trpo.yml, LunarLanderContinuous (= conf/hyperparams/
# trpo_lunarlander_continuous.yaml): 2 envs, VecNormalize on observations and rewards;
# sb3-contrib TRPO's defaults spelled out.
TRPO_LUNARLANDER_CONTINUOUS_ZOO: dict[str, Any] = TRPO_CARTPOLE_ZOO | {
    "n_steps": 1024,
    "batch_size": 128,
    "cg_damping": 0.1,
    "gae_lambda": 0.95,
}
# RL Zoo hyperparams/trpo.yml, MountainCarContinuous (= conf/hyperparams/
# trpo_mountaincar_continuous.yaml): 2 envs, VecNormalize on both, gSDE resampled every 4 steps;
# sb3-contrib TRPO's defaults spelled out.
TRPO_MOUNTAINCAR_CONTINUOUS_ZOO: dict[str, Any] = TRPO_LUNARLANDER_CONTINUOUS_ZOO | {
    "n_steps": 2048,
    "n_critic_updates": 10,
    "use_sde": True,
    "sde_sample_freq": 4,
}
# What the TRPO specs with the Zoo's `normalize` share: sb3-contrib, 2 envs, VecNormalize on
# observations and rewards, judged on the mean final eval against sb3-contrib's.
TRPO_NORMALIZED_VS_SB3_CONTRIB: dict[str, Any] = {
    "solve_on": "mean-final",
    "sb3_algo": "sb3_contrib.TRPO",
    "sb3_n_envs": 2,
    "sb3_normalize_obs": True,
    "sb3_normalize_reward": True,
    "impls": ("rlrun", "sb3"),
    "target_return_vs_baseline": True,
}
# RL Zoo hyperparams/ars.yml, Pendulum-v1 (= conf/hyperparams/ars_pendulum.yaml): its
# `pendulum-params`, which MountainCarContinuous, Acrobot and LunarLander build on.
ARS_PENDULUM_ZOO: dict[str, Any] = {
    "learning_rate": 0.018,
    "n_delta": 4,
    "n_top": 1,
    "delta_std": 0.1,
    "zero_policy": False,
    "alive_bonus_offset": 0,
    "policy_kwargs": {"net_arch": [16]},
}
# What both ARS specs share: sb3-contrib with the Zoo's VecNormalize, judged on the mean final
# eval; n_envs differs on purpose (the presets say why).
ARS_VS_SB3_CONTRIB: dict[str, Any] = {
    "solve_on": "mean-final",
    "sb3_algo": "sb3_contrib.ARS",
    "sb3_normalize_obs": True,
    "impls": ("rlrun", "sb3"),  # ARS does no backprop: torch's thread count hardly matters
    "unmatched": ("n_envs",),
    "target_sps_ratio": 1.5,
    "target_return_vs_baseline": True,
}
# RL Zoo hyperparams/ppo.yml, atari (= conf/hyperparams/ppo_atari.yaml), SB3's defaults
# spelled out.
PPO_ATARI_ZOO: dict[str, Any] = {
    "n_steps": 128,
    "n_epochs": 4,
    "batch_size": 256,
    "learning_rate": "lin_2.5e-4",
    "clip_range": "lin_0.1",
    "vf_coef": 0.5,
    "ent_coef": 0.01,
    "gamma": 0.99,
    "gae_lambda": 0.95,
    "max_grad_norm": 0.5,
}
# RL Zoo hyperparams/dqn.yml, atari (= conf/hyperparams/dqn_atari.yaml), except the warm-up:
# the Zoo's 100k would leave 20k steps without a gradient step (both sides get 1k).
DQN_ATARI_SPS: dict[str, Any] = {
    "buffer_size": 100_000,
    "learning_rate": 1e-4,
    "batch_size": 32,
    "learning_starts": 1000,
    "target_update_interval": 1000,
    "train_freq": 4,
    "gradient_steps": 1,
    "exploration_fraction": 0.1,
    "exploration_final_eps": 0.01,
    "gamma": 0.99,
    "max_grad_norm": 10.0,
}
# Throughput on pixels and physics: 20k (Atari) or 4k (MuJoCo) env steps, no evaluation during
# training, rlrun against SB3 with one torch thread.
PIXELS_SPS: dict[str, Any] = {"eval_every": None, "eval_episodes": 2, "impls": ("rlrun", "sb3")}
# RL Zoo hyperparams/sac.yml, HalfCheetah-v4 (= conf/hyperparams/sac_halfcheetah.yaml: SB3's
# SAC defaults), warm-up 1k on both sides instead of 10k, so 3k of the 4k steps train.
SAC_HALFCHEETAH_SPS: dict[str, Any] = SAC_PENDULUM_ZOO | {
    "learning_rate": 3e-4,
    "learning_starts": 1000,
}

# rlrun only: its presets (conf/hyperparams/<agent>_<env>.yaml) decide the budget.
PENDULUM_RLRUN = {"threshold": -200, "total_timesteps": 20_000, "eval_every": 2_000}

SPECS: dict[str, Spec] = {
    "dqn-cartpole": Spec(**DQN_CARTPOLE),
    "dqn-sps": Spec(**DQN_CARTPOLE, eval_every=None, target_sps_ratio=2.0),
    "qlearning-frozenlake": Spec(
        ("agent=qlearning", "env=frozenlake"), 0.70, "final", None, 20_000, 1000
    ),
    "ppo-cartpole": Spec(**PPO_CARTPOLE, target_solve_s_ratio=3.0),
    "ppo-sps": Spec(**PPO_CARTPOLE | {"eval_every": None}, target_sps_ratio=3.0),
    "sac-pendulum": Spec(**SAC_PENDULUM),
    # throughput only: a short budget (SB3 SAC runs ~60 steps/s), no evaluation during training
    "sac-sps": Spec(
        **SAC_PENDULUM | {"total_timesteps": 3_000, "eval_every": None},
        target_sps_ratio=1.5,
    ),
    "td3-pendulum": Spec(("agent=td3", "env=pendulum"), **PENDULUM_RLRUN),
    "ddpg-pendulum": Spec(("agent=ddpg", "env=pendulum"), **PENDULUM_RLRUN),
    "a2c-cartpole": Spec(
        ("agent=a2c", "env=cartpole"),
        475,
        total_timesteps=500_000,
        eval_every=25_000,
        sb3_algo="A2C",
        sb3_env="CartPole-v1",
        sb3_kwargs=A2C_CARTPOLE_ZOO,
        sb3_n_envs=8,
    ),
    # the Zoo's benchmark.md has 154.4 +- 79.2 at 100k (LunarLander-v2); rlrun's preset scored
    # 88.1, 171.0, 58.1 on seeds 0-2 (benchmarks/README.md): SB3 beside it at the same settings
    "dqn-lunarlander": Spec(
        ("agent=dqn", "env=lunarlander"),
        75,
        "final",
        total_timesteps=100_000,
        eval_every=5_000,
        sb3_algo="DQN",
        sb3_env="LunarLander-v3",
        sb3_kwargs=DQN_LUNARLANDER_ZOO,
    ),
    # the Zoo's benchmark.md has -100.8 +- 9.9 at 120k; rlrun's preset scored -138.0, -102.2,
    # -121.0 on seeds 0-2 (benchmarks/README.md): SB3 beside it at the same settings
    "dqn-mountaincar": Spec(
        ("agent=dqn", "env=mountaincar"),
        -110,
        "final",
        total_timesteps=120_000,
        eval_every=10_000,
        sb3_algo="DQN",
        sb3_env="MountainCar-v0",
        sb3_kwargs=DQN_MOUNTAINCAR_ZOO,
    ),
    # the Zoo's benchmark.md has 155.8 +- 80.4 at 200k (LunarLander-v2); rlrun's preset scored
    # below it on 3/3 seeds (benchmarks/README.md): SB3 beside it at the same settings
    "a2c-lunarlander": Spec(
        ("agent=a2c", "env=lunarlander"),
        200,
        "final",
        total_timesteps=200_000,
        eval_every=20_000,
        sb3_algo="A2C",
        sb3_env="LunarLander-v3",
        sb3_kwargs=A2C_LUNARLANDER_ZOO,
        sb3_n_envs=8,
    ),
    "reinforce-cartpole": Spec(
        ("agent=reinforce", "env=cartpole"), 195, "mean-final", eval_every=20_000
    ),
    # rlrun DQN with the Rainbow pieces rlrun has vs plain rlrun DQN, same preset
    "dqn-rainbow-cartpole": Spec(
        ("agent=dqn", "env=cartpole"),
        475,
        total_timesteps=50_000,
        eval_every=2_500,
        impls=("rlrun-rainbow", "rlrun"),
        target_solve_steps_ratio=1.0,
    ),
    "ppo-lunarlander": Spec(("agent=ppo", "env=lunarlander"), 200, eval_every=50_000),
    # sb3-contrib's ARS at the Zoo's tuned settings and budget; the Zoo runs 1 env, which
    # scores the 2 n_delta candidates one after another, rlrun's 2 n_delta envs side by side
    "ars-pendulum": Spec(
        ("agent=ars", "env=pendulum"),
        -200,
        total_timesteps=2_000_000,
        eval_every=100_000,
        sb3_env="Pendulum-v1",
        sb3_kwargs=ARS_PENDULUM_ZOO,
        **ARS_VS_SB3_CONTRIB,
    ),
    "ars-mountaincar-continuous": Spec(
        ("agent=ars", "env=mountaincar_continuous"),
        90,
        total_timesteps=500_000,
        eval_every=25_000,
        sb3_env="MountainCarContinuous-v0",
        sb3_kwargs=ARS_PENDULUM_ZOO | {"delta_std": 0.2},
        **ARS_VS_SB3_CONTRIB,
    ),
    "trpo-cartpole": Spec(
        ("agent=trpo", "env=cartpole"),
        475,
        total_timesteps=100_000,
        eval_every=5_000,
        sb3_algo="sb3_contrib.TRPO",
        sb3_env="CartPole-v1",
        sb3_kwargs=TRPO_CARTPOLE_ZOO,
        sb3_n_envs=2,
    ),
    # at the 200k of the Zoo's benchmark.md (262.4 +- 21.4), twice its hyperparams file's 1e5
    "trpo-lunarlander-continuous": Spec(
        ("agent=trpo", "env=lunarlander_continuous"),
        200,
        total_timesteps=200_000,
        eval_every=10_000,
        sb3_env="LunarLander-v3",
        sb3_env_kwargs={"continuous": True},
        sb3_kwargs=TRPO_LUNARLANDER_CONTINUOUS_ZOO,
        sb3_kl_action_dims=2,
        **TRPO_NORMALIZED_VS_SB3_CONTRIB,
    ),
    # at the Zoo's 50k (benchmark.md 92.5 +- 0.4): does every seed find the goal?
    "trpo-mountaincar-continuous": Spec(
        ("agent=trpo", "env=mountaincar_continuous"),
        90,
        total_timesteps=50_000,
        eval_every=5_000,
        sb3_env="MountainCarContinuous-v0",
        sb3_kwargs=TRPO_MOUNTAINCAR_CONTINUOUS_ZOO,
        **TRPO_NORMALIZED_VS_SB3_CONTRIB,
    ),
    "ppo-breakout-sps": Spec(
        ("agent=ppo", "env=breakout"),
        0,
        total_timesteps=20_000,
        sb3_algo="PPO",
        sb3_env="BreakoutNoFrameskip-v4",
        sb3_kwargs=PPO_ATARI_ZOO,
        sb3_n_envs=8,
        sb3_policy="CnnPolicy",
        sb3_atari=True,
        target_sps_ratio=1.5,
        **PIXELS_SPS,
    ),
    "dqn-breakout-sps": Spec(
        ("agent=dqn", "env=breakout", "agent.learning_starts=1000"),
        0,
        total_timesteps=20_000,
        sb3_algo="DQN",
        sb3_env="BreakoutNoFrameskip-v4",
        sb3_kwargs=DQN_ATARI_SPS,
        sb3_policy="CnnPolicy",
        sb3_atari=True,
        target_sps_ratio=1.5,
        **PIXELS_SPS,
    ),
    "sac-halfcheetah-sps": Spec(
        ("agent=sac", "env=halfcheetah", "agent.learning_starts=1000"),
        0,
        total_timesteps=4_000,
        sb3_algo="SAC",
        sb3_env="HalfCheetah-v5",
        sb3_kwargs=SAC_HALFCHEETAH_SPS,
        target_sps_ratio=1.2,
        **PIXELS_SPS,
    ),
}
# SB3 keyword -> rlrun config key, where the name differs (others are agent.<same name>).
SB3_TO_RLRUN = {
    "exploration_fraction": "exploration.fraction",
    "exploration_initial_eps": "exploration.start",
    "exploration_final_eps": "exploration.end",
    "net_arch": "agent.net_arch",
}
# sb3-contrib's ARS policy names -> rlrun's agent.policy.
SB3_POLICIES = {"LinearPolicy": "linear", "MlpPolicy": "mlp"}
# SB3 keyword given as "lin_<x>" -> the rlrun key that must then be "linear".
SB3_SCHEDULES = {
    "learning_rate": "agent.lr_schedule",
    "clip_range": "agent.clip_range_schedule",
}


def linear(value: Any) -> float | None:
    """x for an RL Zoo style "lin_<x>" (linear schedule from x to 0), else None."""
    if isinstance(value, str) and value.startswith("lin_"):
        return float(value.removeprefix("lin_"))
    return None


def spec_impls(spec: Spec, only: list[str] | None) -> list[str]:
    """The spec's implementations in run order (the first is the one under test), filtered
    to `only` (--impls) when given."""
    names = spec.impls or (("rlrun", "sb3", "sb3-default-threads") if spec.sb3_algo else ("rlrun",))
    if only and "rlrun-pinned" in only:  # any spec, on request: --impls rlrun rlrun-pinned
        names = (*names, "rlrun-pinned")
    if only:
        unknown = set(only) - set(names)
        if unknown:
            sys.exit(f"bench: {sorted(unknown)} not among {list(names)}")
        names = tuple(n for n in names if n in only)
    return list(names)


def eval_overrides(spec: Spec, steps: int | None) -> list[str]:
    out = [f"eval.episodes={spec.eval_episodes}"]
    if steps is not None:
        out.append(f"total_timesteps={steps}")
    # eval.every_steps >= total_timesteps: rlrun evaluates only after the clock stops.
    out.append(f"eval.every_steps={spec.eval_every or steps}")
    return out


KL_SCALED = ("target_kl", "cg_damping")  # Spec.sb3_kl_action_dims


def check_preset(spec: Spec, steps: int | None) -> dict[str, Any]:
    """Compose rlrun's config (`--cfg job`, no torch) and check it against the SB3 kwargs."""
    from omegaconf import OmegaConf

    from rlrun.validate import validate

    cmd = [*rlrun_cmd(), *spec.rlrun, *eval_overrides(spec, steps), "--cfg", "job"]
    text = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rc = validate(OmegaConf.create(text))
    kwargs = {**spec.sb3_kwargs, **spec.sb3_kwargs.get("policy_kwargs", {})}
    kwargs.pop("policy_kwargs", None)
    kwargs["n_envs"] = spec.sb3_n_envs
    if spec.sb3_normalize_obs:
        kwargs["normalize_obs"] = True
    if spec.sb3_normalize_reward:
        kwargs["normalize_reward"] = True
    if hasattr(rc.agent, "policy"):  # the searches' policy class
        kwargs["policy"] = SB3_POLICIES[spec.sb3_policy]
    for key in spec.unmatched:
        kwargs.pop(key)
    mismatches = []

    def get(key: str) -> Any:
        obj: Any = rc
        for part in key.split("."):
            obj = getattr(obj, part, "<missing>")
        return obj

    for key, want in kwargs.items():
        rl_key = SB3_TO_RLRUN.get(key, "env.num_envs" if key == "n_envs" else f"agent.{key}")
        start = linear(want)
        if start is not None:
            want, schedule = start, get(SB3_SCHEDULES[key])
            if schedule != "linear":
                mismatches.append(f"{key} schedule: SB3 linear vs rlrun {schedule!r}")
        if key in KL_SCALED:
            want = want * spec.sb3_kl_action_dims
        if get(rl_key) != want:
            mismatches.append(f"{key}: SB3 {want!r} vs rlrun {get(rl_key)!r}")
    return {"rlrun_config": text, "mismatches": mismatches}


def rlrun_cmd() -> list[str]:
    # The console script beside this interpreter, not a pyenv shim (which adds start-up time).
    script = Path(sys.executable).with_name("rlrun")
    return [str(script)] if script.exists() else [sys.executable, "-m", "rlrun"]


# --timeout: seconds a run may take before it is killed (and counts as failed); None: no limit
TIMEOUT: list[float | None] = [None]


def timed(
    cmd: list[str], log: Path, env: dict[str, str] | None = None
) -> tuple[dict[str, float], int | str]:
    """Run `cmd` to the end; ({spawn: epoch seconds, process_wall_s, process_cpu_s (user +
    system, all threads)}, exit code or "timed out after <s> s")."""

    def cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    cpu0, spawn, t0 = cpu(), time.time(), time.perf_counter()
    code: int | str
    with log.open("w") as f:
        try:
            code = subprocess.run(
                cmd, check=False, stdout=f, stderr=subprocess.STDOUT, timeout=TIMEOUT[0], env=env
            ).returncode
        except subprocess.TimeoutExpired:  # the child is killed
            code = f"timed out after {TIMEOUT[0]} s"
    wall = time.perf_counter() - t0
    row = {"spawn": spawn, "process_wall_s": wall, "process_cpu_s": cpu() - cpu0}
    return row, code


def run_rlrun(
    name: str, impl: Impl, label: str, seed: int, steps: int | None, out: Path
) -> dict[str, Any]:
    """rlrun through its CLI; `impl.threads` is unused: rlrun keeps its own torch_threads."""
    from omegaconf import OmegaConf

    spec = SPECS[name]
    run_dir = out / f"{label}-seed{seed}"
    cmd = [*rlrun_cmd(), *spec.rlrun, *impl.overrides, f"seed={seed}"]
    cmd.append("logger.progress=false")
    cmd += [*eval_overrides(spec, steps), f"hydra.run.dir={run_dir}"]
    run_dir.mkdir(parents=True, exist_ok=True)
    proc, code = timed(cmd, out / f"{label}-seed{seed}.log", pinned_env() if impl.pinned else None)
    spawn, wall = proc["spawn"], proc["process_wall_s"]
    path = run_dir / "summary.json"
    summary = json.loads(path.read_text()) if path.exists() else {"status": "missing"}
    if code or summary["status"] != "completed":
        return {"error": summary.get("error", f"exit code {code}"), "cmd": cmd}
    # The absolute time of each evaluation is in the TensorBoard events (wall_time of
    # eval/mean_return); summary.json has it only relative to the start of training.
    evals = [tuple(e) for e in summary["evaluations"]]
    try:
        from tensorboard.backend.event_processing.event_accumulator import (
            EventAccumulator,
        )

        events = EventAccumulator(str(run_dir)).Reload().Scalars("eval/mean_return")
        train_start = events[-1].wall_time - evals[-1][1]
        method = "TensorBoard eval/mean_return wall_time"
    except (ImportError, KeyError, IndexError):
        # An upper bound: it also counts the teardown after the last evaluation.
        train_start = spawn + wall - evals[-1][1]
        method = "process end - last evaluation (upper bound)"
    final = summary["final_eval"]
    config = OmegaConf.load(run_dir / ".hydra" / "config.yaml")
    return {
        "cmd": cmd,
        **proc,
        "torch_threads": config.get("torch_threads"),
        "train_start": train_start,
        "timing": method,
        "steps": summary["steps"],
        "sps": summary["sps"],
        "evaluations": evals,
        "final_eval": final["mean_return"],
        "success_rate": final["success_rate"],
        "run_dir": str(run_dir),
    }


def pinned_env() -> dict[str, str]:
    pinned = os.environ.get("RLRUN_PINNED")
    if not pinned or not (Path(pinned) / "rlrun").is_dir():
        sys.exit("bench: rlrun-pinned needs RLRUN_PINNED=<a checkout of rlrun> (README: Pinning)")
    path = os.pathsep.join(p for p in (pinned, os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path}


def run_sb3(
    name: str, impl: Impl, label: str, seed: int, steps: int | None, out: Path
) -> dict[str, Any]:
    result, log = out / f"{label}-seed{seed}.json", out / f"{label}-seed{seed}.log"
    cmd = [sys.executable, __file__, "_sb3", name, "--seed", str(seed)]
    cmd += ["--steps", str(steps or 0), "--out", str(result)]
    if impl.threads is not None:
        cmd += ["--threads", str(impl.threads)]
    proc, code = timed(cmd, log)
    if code:
        return {"error": f"exit code {code}, see {log}", "cmd": cmd, **proc}
    return {**json.loads(result.read_text()), "cmd": cmd, **proc}


RUNNERS = {"rlrun": run_rlrun, "sb3": run_sb3}


def sb3_child(name: str, seed: int, steps: int, out: Path, threads: int | None) -> None:
    """Internal mode: train SB3 with the spec's kwargs and `threads` torch threads (None:
    torch's default); write JSON."""
    import torch

    if threads is not None:
        torch.set_num_threads(threads)
    import stable_baselines3
    from stable_baselines3.common.callbacks import BaseCallback, EvalCallback
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.evaluation import evaluate_policy
    from stable_baselines3.common.vec_env import VecNormalize, sync_envs_normalization

    spec = SPECS[name]
    env_kwargs = spec.sb3_env_kwargs
    env: Any = spec.sb3_env  # one env: SB3 wraps it itself
    if spec.sb3_atari:
        import ale_py
        import gymnasium
        from stable_baselines3.common.env_util import make_atari_env
        from stable_baselines3.common.vec_env import VecFrameStack

        gymnasium.register_envs(ale_py)
        env = VecFrameStack(make_atari_env(spec.sb3_env, spec.sb3_n_envs, seed=seed), 4)
        eval_env = VecFrameStack(make_atari_env(spec.sb3_env, 1, seed=seed + 10_000), 4)
    else:
        eval_env = make_vec_env(spec.sb3_env, n_envs=1, seed=seed + 10_000, env_kwargs=env_kwargs)
    if not spec.sb3_atari and (spec.sb3_n_envs > 1 or spec.sb3_normalize_obs or env_kwargs):
        env = make_vec_env(spec.sb3_env, n_envs=spec.sb3_n_envs, seed=seed, env_kwargs=env_kwargs)
    if spec.sb3_normalize_obs:  # as RL Zoo: the eval env's statistics follow the training env's
        env = VecNormalize(env, norm_obs=True, norm_reward=spec.sb3_normalize_reward)
        eval_env = VecNormalize(eval_env, training=False, norm_obs=True, norm_reward=False)
    kwargs = dict(spec.sb3_kwargs)
    for key, value in kwargs.items():
        start = linear(value)
        if start is not None:  # SB3 calls it with the remaining progress, 1 -> 0
            kwargs[key] = lambda progress, start=start: progress * start
    package, _, algo = spec.sb3_algo.rpartition(".")  # "sb3_contrib.TRPO": another package
    module = importlib.import_module(package) if package else stable_baselines3
    model = getattr(module, algo)(spec.sb3_policy, env, seed=seed, device="cpu", **kwargs)
    evals: list[tuple[int, float, float]] = []

    class Record(BaseCallback):
        def _on_step(self) -> bool:
            secs = time.perf_counter() - t0
            evals.append((self.model.num_timesteps, secs, self.parent.last_mean_reward))
            return True

    callback = None
    if spec.eval_every is not None:
        callback = EvalCallback(
            eval_env,
            callback_after_eval=Record(),
            eval_freq=max(spec.eval_every // spec.sb3_n_envs, 1),  # in vector steps
            n_eval_episodes=spec.eval_episodes,
            deterministic=True,
            verbose=0,
        )
    train_start, t0 = time.time(), time.perf_counter()
    model.learn(total_timesteps=steps, callback=callback)
    train_s = time.perf_counter() - t0
    if not evals or evals[-1][0] != model.num_timesteps:  # as rlrun: after the clock
        if spec.sb3_normalize_obs:
            sync_envs_normalization(model.get_env(), eval_env)
        mean, _ = evaluate_policy(model, eval_env, spec.eval_episodes, deterministic=True)
        evals.append((model.num_timesteps, time.perf_counter() - t0, float(mean)))
    row = {
        "torch_threads": torch.get_num_threads(),
        "train_start": train_start,
        "timing": "time.time() in the child",
        "steps": model.num_timesteps,
        "sps": model.num_timesteps / train_s,
        "evaluations": evals,
        "final_eval": evals[-1][2],
        "success_rate": None,
    }
    out.write_text(json.dumps(row, indent=1))


def metrics(row: dict[str, Any], spec: Spec) -> dict[str, Any]:
    """Best eval and the first evaluation >= threshold (env step, seconds from process start)."""
    if "error" in row:
        return row
    hits = [(s, sec) for s, sec, v in row["evaluations"] if v >= spec.threshold]
    startup = row["train_start"] - row["spawn"]
    final_ok = row["final_eval"] >= spec.threshold
    return {
        **row,
        "startup_s": startup,
        "best_eval": max(v for *_, v in row["evaluations"]),
        "solve_step": hits[0][0] if hits else None,
        "solve_s": startup + hits[0][1] if hits else None,
        "final_ok": final_ok,
        "solved": final_ok if spec.solve_on == "final" else bool(hits),
    }


def summarize(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Medians over seeds; an unsolved seed counts as never solving (inf), a failed run as
    not solved."""
    ok = [r for r in rows if "error" not in r]

    def med(key: str) -> float:
        values = [INF if r[key] is None else r[key] for r in ok]
        return statistics.median(values) if values else float("nan")

    keys = ("sps", "solve_step", "solve_s", "process_wall_s", "process_cpu_s")
    keys += ("startup_s",)
    final = sum(r["final_ok"] for r in ok)
    return {
        "solved": sum(r["solved"] for r in ok),
        "final": final,
        "runs": len(rows),
    } | {k: med(k) for k in keys}


def times(x: float) -> str:
    """A ratio for the report; nan is inf/inf (neither solved), inf: only the one under test
    solved, 0: only the baseline."""
    if math.isnan(x):
        return "– (neither solved)"
    if x == 0:
        return "0 (only the baseline solved)"
    return "inf (baseline unsolved)" if math.isinf(x) else f"{x:.2f}x"


def report(name: str, spec: Spec, names: list[str], rows: list[dict[str, Any]], meta: dict) -> str:
    t = spec.threshold
    lines = [f"# {name}", "", *(f"- {k}: {v}" for k, v in meta.items()), ""]
    lines.append(
        f"| impl | seed | torch threads | load 1-min before | final eval | best eval "
        f"| steps to {t} | s to {t} (from process start) | train SPS | process wall s "
        "| process CPU s |\n" + "|---" * 11 + "|"
    )
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['impl']} | {r['seed']} | error: {r['error']} |")
            continue
        step = "–" if r["solve_step"] is None else f"{r['solve_step']:,}"
        secs = "–" if r["solve_s"] is None else f"{r['solve_s']:.1f}"
        lines.append(
            f"| {r['impl']} | {r['seed']} | {r['torch_threads']} | {r['load1']:.2f} "
            f"| {r['final_eval']:.3f} | {r['best_eval']:.3f} | {step} | {secs} "
            f"| {r['sps']:,.0f} | {r['process_wall_s']:.1f} | {r['process_cpu_s']:.1f} |"
        )
    lines.append("")
    med = {i: summarize([r for r in rows if r["impl"] == i]) for i in names}
    for impl, m in med.items():
        if m["runs"]:
            lines.append(
                f"- {impl}: solved {m['solved']}/{m['runs']} ({spec.solve_on} eval >= {t}), "
                f"final eval >= {t} {m['final']}/{m['runs']}; "
                f"median: SPS {m['sps']:,.0f}, steps to solve {m['solve_step']:,.0f}, "
                f"s to solve {m['solve_s']:.1f}, process wall {m['process_wall_s']:.1f} s "
                f"(CPU {m['process_cpu_s']:.1f} s), start-up (process start -> training "
                f"start) {m['startup_s']:.1f} s"
            )
    subject = names[0]
    r = med[subject]
    baselines = [i for i, m in med.items() if i != subject and m["runs"]]
    if baselines:
        lines += [
            "",
            f"Ratios, median {subject} vs median baseline (> 1: {subject} better):",
            "",
            (
                f"| {subject} vs | train SPS ({subject} / baseline) "
                f"| s to solve (baseline / {subject}) "
                f"| steps to solve (baseline / {subject}) "
                f"| process wall s (baseline / {subject}) |"
            ),
            "|---|---|---|---|---|",
        ]
        for b in baselines:
            s = med[b]
            lines.append(
                f"| {b} | {times(r['sps'] / s['sps'])} | {times(s['solve_s'] / r['solve_s'])} "
                f"| {times(s['solve_step'] / r['solve_step'])} "
                f"| {times(s['process_wall_s'] / r['process_wall_s'])} |"
            )
        lines.append("")
    ratio_targets = (
        ("SPS", spec.target_sps_ratio, lambda b: r["sps"] / med[b]["sps"]),
        (
            "s to solve",
            spec.target_solve_s_ratio,
            lambda b: med[b]["solve_s"] / r["solve_s"],
        ),
        (
            "steps to solve",
            spec.target_solve_steps_ratio,
            lambda b: med[b]["solve_step"] / r["solve_step"],
        ),
    )
    for what, target, ratio in ratio_targets:
        if target is None:
            continue
        # nan (neither solved) compares False: not met
        verdicts = [
            f"vs {b} {times(ratio(b))} {'MET' if ratio(b) >= target else 'NOT MET'}"
            for b in baselines
        ]
        lines.append(
            f"- target {subject} {what} >= {target}x baseline (in the sense of the ratio "
            "table): " + ("; ".join(verdicts) or "no baseline run")
        )

    def mean_final(impl: str) -> float:
        finals = [x["final_eval"] for x in rows if x["impl"] == impl and "error" not in x]
        return statistics.mean(finals) if finals else float("nan")

    if spec.target_return_vs_baseline:
        mine = mean_final(subject)
        verdicts = [
            f"vs {b} {mean_final(b):.3f}: {'MET' if mine >= mean_final(b) else 'NOT MET'}"
            for b in baselines
        ]
        lines.append(
            f"- target {subject} mean final eval ({mine:.3f}) >= baseline's: "
            + ("; ".join(verdicts) or "no baseline run")
        )
    if spec.target_sps_ratio is None and spec.solve_on == "mean-final":
        finals = [x["final_eval"] for x in rows if x["impl"] == subject and "error" not in x]
        mean = statistics.mean(finals) if finals else float("nan")
        lines.append(
            f"- target {subject} mean final eval over {len(finals)} seed(s) >= {t}: "
            f"{mean:.3f} {'MET' if mean >= t else 'NOT MET'}"
        )
    elif spec.target_sps_ratio is None:
        ok = r["solved"] == r["runs"]
        lines.append(
            f"- target {subject} solved on every seed ({spec.solve_on} eval >= {t}): "
            f"{r['solved']}/{r['runs']} {'MET' if ok else 'NOT MET'}"
        )
    return "\n".join(lines) + "\n"


def rlrun_source() -> tuple[Path, Path]:
    """(rlrun's package dir, its config dir) as the runs import them: the editable install's
    checkout, or a pinned one put first on PYTHONPATH (README: "Pinning a commit")."""
    from importlib.util import find_spec

    pkg, conf = find_spec("rlrun"), find_spec("rlrun.conf")
    assert pkg and pkg.origin and conf and conf.submodule_search_locations
    return Path(pkg.origin).resolve().parent, Path(
        next(iter(conf.submodule_search_locations))
    ).resolve()


def git_state() -> str:
    root = rlrun_source()[0].parent

    def git(*a: str) -> str:
        cmd = ["git", "-C", str(root), *a]
        return subprocess.run(cmd, check=False, capture_output=True, text=True).stdout

    commit = git("rev-parse", "--short", "HEAD").strip()
    if not commit:
        return f"unknown ({root} is not a git checkout)"
    dirty = git("status", "--porcelain", "--", "rlrun", "conf").splitlines()
    extra = f" + {len(dirty)} uncommitted file(s) in rlrun/ conf/" if dirty else ""
    return commit + extra


def pinned_state() -> str:
    pinned = os.environ["RLRUN_PINNED"]
    cmd = ["git", "-C", pinned, "rev-parse", "--short", "HEAD"]
    commit = subprocess.run(cmd, check=False, capture_output=True, text=True).stdout.strip()
    return f"{pinned} at {commit or 'unknown commit'}"


def source_hash() -> str:
    """Hash of rlrun's *.py and its config *.yaml as they are on disk now (what the next run
    imports), to catch edits made while a benchmark runs."""
    digest = hashlib.sha256()
    for top, pattern in zip(rlrun_source(), ("*.py", "*.yaml"), strict=True):
        for path in sorted(top.rglob(pattern)):
            try:
                digest.update(f"{path.relative_to(top)}\0".encode() + path.read_bytes())
            except FileNotFoundError:  # deleted since the glob
                continue
    return digest.hexdigest()[:10]


def bench(name: str, seeds: list[int], steps: int | None, only: list[str] | None) -> None:
    spec = SPECS[name]
    steps = steps or spec.total_timesteps
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out = RESULTS / f"{name}-{stamp}"
    out.mkdir(parents=True)
    names = spec_impls(spec, only)
    with_sb3 = any(IMPLS[n].kind == "sb3" for n in names)
    check = check_preset(spec, steps) if with_sb3 else {}
    for m in check.get("mismatches", []):
        print(f"bench: WARNING hyperparameter mismatch {m}", file=sys.stderr)
    load_start = os.getloadavg()
    rows: list[dict[str, Any]] = []
    for i, seed in enumerate(seeds):
        k = i % len(names)
        # The order rotates by one per seed, so each implementation takes each place in turn
        # and machine noise hits all (with two implementations: alternation).
        for label in names[k:] + names[:k]:
            impl, load = IMPLS[label], os.getloadavg()
            info = {"impl": label, "seed": seed, "load1": load[0], "loadavg": load}
            info["source"] = source_hash()
            shown = "/".join(f"{x:.2f}" for x in load)
            print(f"bench: {name} {label} seed {seed}, load {shown}", file=sys.stderr)
            row = RUNNERS[impl.kind](name, impl, label, seed, steps, out)
            rows.append(info | metrics(row, spec))
    rows.sort(key=lambda r: (names.index(r["impl"]), r["seed"]))
    packages = ("rlrun", "torch", "gymnasium", "stable-baselines3")
    mismatches = "; ".join(check.get("mismatches", [])) or "identical"
    loads = [load_start, os.getloadavg()]
    sources = sorted({r["source"] for r in rows})
    meta = {
        "date": stamp,
        "rlrun commit": git_state(),
        "rlrun-pinned": pinned_state() if "rlrun-pinned" in names else "not run",
        "rlrun imported from": "{} (config {})".format(*rlrun_source()),
        "rlrun/ conf/ on disk (hash before each run)": sources[0]
        if len(sources) == 1
        else f"CHANGED during the benchmark: {', '.join(sources)} (see the JSON rows)",
        "versions": ", ".join(f"{p} {version(p)}" for p in packages),
        "machine": f"{os.cpu_count()} cores, runs one at a time",
        "implementations": "; ".join(f"{n}: {IMPLS[n].about}" for n in names),
        "run order": f"{', '.join(names)} for the first seed, rotated by one per seed",
        "load averages (1/5/15 min) at start, at end": " / ".join(
            ", ".join(f"{x:.2f}" for x in la) for la in loads
        ),
        "hyperparameters vs SB3": mismatches if check else "n/a (rlrun only)",
    }
    md = report(name, spec, names, rows, meta)
    print(md)
    (RESULTS / f"{name}-{stamp}.md").write_text(md)
    impls = {n: asdict(IMPLS[n]) for n in names}
    raw = {"spec": asdict(spec), "impls": impls, "meta": meta, "preset": check}
    raw["rows"] = rows
    (RESULTS / f"{name}-{stamp}.json").write_text(json.dumps(raw, indent=1))
    print(f"bench: wrote {out}.md, {out}.json, run dirs in {out}/", file=sys.stderr)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("name", choices=[*SPECS, "_sb3"])
    p.add_argument("extra", nargs="?", help=argparse.SUPPRESS)  # _sb3: the spec name
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--steps", type=int, help="override the env-step budget (all impls)")
    p.add_argument("--impls", nargs="+", help="run only these of the spec's implementations")
    p.add_argument(
        "--timeout",
        type=float,
        help="kill a run after this many seconds (a failed run)",
    )
    p.add_argument("--seed", type=int, help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--threads", type=int, help=argparse.SUPPRESS)  # _sb3: None = default
    a = p.parse_args()
    if a.name == "_sb3":
        sb3_child(a.extra, a.seed, a.steps, a.out, a.threads)
    else:
        TIMEOUT[0] = a.timeout
        bench(a.name, a.seeds, a.steps, a.impls)


if __name__ == "__main__":
    main()
