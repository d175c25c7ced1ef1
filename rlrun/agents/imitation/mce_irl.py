"""Maximum-causal-entropy IRL on a tabular env with known dynamics (maths in maxent.py).

Each update: the reward network's table (r(s') or r(s, a)) -> soft policy iteration
(warm-started from the last policy) -> the soft-optimal policy's occupancy d_pi -> one Adam step
along the gap between its features and the demonstrations', the loss's gradient with respect to
the table, pushed through the network (Wulfmeier et al. 2015's deep MaxEnt IRL is the same step
with hidden layers). The agent acts with the current soft policy (sampled) or its most likely
action (deterministic evaluation).
"""

from __future__ import annotations

import functools
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from rlrun.agents.base import DemoLearner, LossStats
from rlrun.agents.imitation.config import MCEIRLConfig
from rlrun.agents.imitation.maxent import (
    DemoStatistics,
    demo_statistics,
    expected_reward,
    irl_loss,
    occupancy,
    policy_features,
    soft_bellman,
)
from rlrun.demos import Demos
from rlrun.envs.dynamics import TabularModel, tabular_model
from rlrun.errors import ConfigError, NonFiniteError
from rlrun.exploration.strategies import sample_categorical
from rlrun.networks.layers import mlp
from rlrun.networks.optim import adam, anneal_lr
from rlrun.transition import Spaces


@functools.cache
def one_hot_states(n: int) -> torch.Tensor:
    """The reward network's inputs, made once (a fresh 500 x 500 matrix costs milliseconds)."""
    return torch.eye(n, dtype=torch.float64)


class MCEIRL(DemoLearner):
    def __init__(
        self, cfg: MCEIRLConfig, exploration: Any, spaces: Spaces, *, device: Any, seed: int
    ) -> None:
        assert isinstance(spaces.observation, gym.spaces.Discrete)
        assert isinstance(spaces.action, gym.spaces.Discrete)
        self.cfg = cfg
        self.n_states, self.n_actions = int(spaces.observation.n), int(spaces.action.n)
        self.rng = np.random.default_rng(seed)
        torch.manual_seed(seed)
        outputs = self.n_actions if cfg.reward_input == "state_action" else 1
        # one-hot states in, float64 so occupancies match to well below the 1e-3 asked of them
        self.reward_net = mlp(self.n_states, outputs, cfg.net_arch, "relu").double()
        if not cfg.net_arch:  # MaxEnt IRL's linear reward starts at zero: the uniform policy
            for p in self.reward_net.parameters():
                torch.nn.init.zeros_(p)
        self.optimizer = adam(self.reward_net.parameters(), cfg.adam_lr)
        self.total_updates = spaces.total_timesteps
        self.log_policy = np.full((self.n_states, self.n_actions), -np.log(self.n_actions))
        self.model: TabularModel | None = None
        self.demo: DemoStatistics | None = None
        self.stats = LossStats()  # losses/irl_loss
        self.gaps = LossStats()  # irl/: how far the policy's occupancy is from the demos'

    def attach(self, demos: Demos, env: gym.Env, env_id: str) -> None:
        model = tabular_model(env, env_id)
        for name, values, n in (
            ("observations", demos.obs, self.n_states),
            ("actions", demos.actions, self.n_actions),
        ):
            if values.ndim != 1 or values.min() < 0 or values.max() >= n:
                raise ConfigError(
                    "demos", f"its {name} are not the {n} discrete values of {env_id}'s"
                )
        self.model = model
        self.demo = demo_statistics(
            demos, self.n_states, self.n_actions, self.cfg.gamma, self.cfg.reward_input
        )

    def act(self, obs: np.ndarray, *, explore: bool) -> np.ndarray:
        p = np.exp(self.log_policy[obs])
        if not explore:
            return p.argmax(1)
        return sample_categorical(p, self.rng)

    def _theta(self) -> torch.Tensor:
        """The reward table: theta(s') (S,) or r(s, a) (S, A), from one-hot states."""
        theta = self.reward_net(one_hot_states(self.n_states))
        return theta[:, 0] if self.cfg.reward_input == "next_state" else theta

    def recovered_reward(self) -> np.ndarray:
        with torch.no_grad():
            return self._theta().numpy().copy()

    def update(self, step: int) -> None:
        cfg, model, demo = self.cfg, self.model, self.demo
        assert model is not None and demo is not None, "attach() the demonstrations first"
        if cfg.lr_schedule == "linear":
            anneal_lr(self.optimizer, cfg.adam_lr, (step - 1) / self.total_updates)
        theta = self._theta()
        values = theta.detach().numpy()
        if not np.isfinite(values).all():
            raise NonFiniteError(f"step {step}: the reward network's output holds NaN or inf")
        reward = expected_reward(values, model, cfg.reward_input)
        v, q = soft_bellman(reward, model, cfg.gamma, cfg.tolerance, self.log_policy)
        self.log_policy = q - v[:, None]
        d = occupancy(np.exp(self.log_policy), model, demo.start, cfg.gamma)
        grad = policy_features(d, model, cfg.reward_input) - demo.features  # d loss / d theta
        self.optimizer.zero_grad()
        theta.backward(torch.from_numpy(grad))
        self.optimizer.step()
        self.stats.add(irl_loss=irl_loss(values, v, demo))
        self.gaps.add(
            feature_expectation_gap=float(np.abs(grad).max()),
            occupancy_gap=float(np.abs(d.sum(1) - demo.occupancy.sum(1)).max()),
        )

    def pop_metrics(self) -> dict[str, float]:
        return {**self.stats.pop(), **self.gaps.pop("irl/")}
