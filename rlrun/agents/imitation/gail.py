"""GAIL off-policy on SAC (Discriminator-Actor-Critic, Kostrikov et al. 2019).

Each SAC gradient step first trains the discriminator D(s, a) = sigmoid(f(s, a)) one step on a
batch of demonstrations (label 1) against a batch of replay (label 0), with the gradient penalty
lambda E[(|grad f| - 1)^2] on points between the two; then SAC learns from that replay batch
with the reward f(s, a) = log D - log(1 - D) in place of the env's (positive where the policy
looks like the expert, negative where it does not). Actions are compared in SAC's [-1, 1].
Not handled: DAC's absorbing states for envs that terminate (Pendulum only truncates).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F

from rlrun.agents.base import DemoLearner
from rlrun.agents.continuous.sac import SAC
from rlrun.agents.imitation.config import GAILConfig
from rlrun.buffers import ReplayBatch
from rlrun.demos import Demos
from rlrun.errors import ConfigError
from rlrun.networks.layers import mlp
from rlrun.networks.optim import adam, optimizer_step
from rlrun.transition import Spaces


class GAIL(SAC, DemoLearner):
    cfg: GAILConfig

    def __init__(
        self,
        cfg: GAILConfig,
        exploration: Any,
        spaces: Spaces,
        device: torch.device,
        seed: int = 0,
    ) -> None:
        super().__init__(cfg, exploration, spaces, device, seed)
        obs_dim = gym.spaces.flatdim(spaces.observation)
        self.discriminator = mlp(
            obs_dim + self.action_dim, 1, cfg.disc_net_arch, cfg.disc_activation
        ).to(device)
        self.disc_optimizer = adam(self.discriminator.parameters(), cfg.disc_learning_rate)
        self.expert_obs = torch.zeros((0, obs_dim), device=device)
        self.expert_actions = torch.zeros((0, self.action_dim), device=device)

    def attach(self, demos: Demos, env: gym.Env, env_id: str) -> None:
        obs = demos.obs.reshape(len(demos.obs), -1).astype(np.float32)
        actions = demos.actions.reshape(len(demos.actions), -1).astype(np.float32)
        if obs.shape[1] != self.expert_obs.shape[1] or actions.shape[1] != self.action_dim:
            raise ConfigError(
                "demos", f"its observations and actions do not have {env_id}'s shapes"
            )
        unit = np.clip((actions - self.center) / self.half_range, -1.0, 1.0)
        self.expert_obs = torch.as_tensor(obs, device=self.device)
        self.expert_actions = torch.as_tensor(unit, device=self.device)

    def logits(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        return self.discriminator(torch.cat([obs, actions], dim=-1)).squeeze(-1)

    def training_batch(self) -> ReplayBatch:
        batch = super().training_batch()
        self.train_discriminator(batch)
        with torch.no_grad():
            reward = self.logits(batch.obs, batch.actions)
        self.stats.add(disc_reward=reward.mean())
        return batch._replace(rewards=reward)

    def train_discriminator(self, batch: ReplayBatch) -> None:
        n = len(batch.obs)
        pick = torch.as_tensor(self.rng.integers(len(self.expert_obs), size=n), device=self.device)
        expert = torch.cat([self.expert_obs[pick], self.expert_actions[pick]], dim=-1)
        policy = torch.cat([batch.obs, batch.actions], dim=-1)
        expert_logits = self.discriminator(expert).squeeze(-1)
        policy_logits = self.discriminator(policy).squeeze(-1)
        loss = F.binary_cross_entropy_with_logits(
            expert_logits, torch.ones_like(expert_logits)
        ) + F.binary_cross_entropy_with_logits(policy_logits, torch.zeros_like(policy_logits))
        penalty = torch.zeros((), device=self.device)
        if self.cfg.disc_gradient_penalty > 0:
            mix = torch.rand((n, 1), generator=self.generator, device=self.device)
            between = (mix * expert + (1 - mix) * policy).requires_grad_(True)
            (grad,) = torch.autograd.grad(
                self.discriminator(between).sum(), between, create_graph=True
            )
            penalty = self.cfg.disc_gradient_penalty * ((grad.norm(dim=-1) - 1) ** 2).mean()
        optimizer_step(self.disc_optimizer, loss + penalty)
        with torch.no_grad():
            accuracy = 0.5 * (
                (expert_logits > 0).float().mean() + (policy_logits < 0).float().mean()
            )
        self.stats.add(
            disc_loss=loss.detach(), disc_penalty=penalty.detach(), disc_accuracy=accuracy
        )
