"""Twin Delayed DDPG (Fujimoto et al. 2018): DDPG plus clipped double-Q learning, delayed actor
and target updates, and smoothing noise on the target action."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from rlrun.agents.continuous.config import TD3Config
from rlrun.agents.offpolicy import ContinuousOffPolicyAgent
from rlrun.config.registry import ExplorationConfig
from rlrun.exploration.base import make_exploration
from rlrun.exploration.noise import GaussianNoise
from rlrun.maths import td_target
from rlrun.networks.heads import VectorizedCritic
from rlrun.networks.layers import mlp
from rlrun.networks.optim import adam, optimizer_step, target_network, update_target
from rlrun.transition import Spaces, Transition


class TD3(ContinuousOffPolicyAgent):
    cfg: TD3Config

    def __init__(
        self,
        cfg: TD3Config,
        exploration: ExplorationConfig,
        spaces: Spaces,
        device: torch.device,
        seed: int = 0,
    ) -> None:
        super().__init__(cfg, spaces, device, seed)
        self.n_critics, self.policy_delay, self.smoothing = self.tricks(cfg)
        obs_dim = gym.spaces.flatdim(spaces.observation)
        self.actor = nn.Sequential(
            mlp(obs_dim, self.action_dim, cfg.net_arch, cfg.activation), nn.Tanh()
        ).to(device)
        self.critic = VectorizedCritic(
            self.n_critics, obs_dim, self.action_dim, cfg.net_arch, cfg.activation
        ).to(device)
        self.actor_target = target_network(self.actor)
        self.critic_target = target_network(self.critic)
        self.actor_optimizer = adam(self.actor.parameters(), cfg.learning_rate)
        self.critic_optimizer = adam(self.critic.parameters(), cfg.learning_rate)
        self.noise = make_exploration(exploration, spaces, GaussianNoise)
        self.n_updates = 0

    def tricks(self, cfg: Any) -> tuple[int, int, tuple[float, float] | None]:
        """(critics, critic updates per actor update, target smoothing noise (std, clip))."""
        return (
            cfg.n_critics,
            cfg.policy_delay,
            (cfg.target_policy_noise, cfg.target_noise_clip),
        )

    def policy_action(self, obs: np.ndarray, explore: bool) -> np.ndarray:
        with torch.inference_mode():
            action = self.actor(self.as_tensor(obs)).cpu().numpy()
        if explore:
            action = np.clip(action + self.noise.sample(self.rng), -1.0, 1.0)
        return action

    def observe(self, t: Transition, step: int) -> None:
        super().observe(t, step)
        self.noise.observe(t, step)

    def target_action(self, next_obs: torch.Tensor) -> torch.Tensor:
        """The target policy's action, smoothed with clipped Gaussian noise."""
        action = self.actor_target(next_obs)
        if self.smoothing is not None:
            std, clip = self.smoothing
            noise = torch.randn(action.shape, generator=self.generator, device=self.device)
            action = (action + (noise * std).clamp(-clip, clip)).clamp(-1.0, 1.0)
        return action

    def train(self, gradient_steps: int) -> None:
        cfg = self.cfg
        for _ in range(gradient_steps):
            batch = self.buffer.get(self.buffer.sample_indices(cfg.batch_size, self.rng))
            with torch.no_grad():
                next_q = self.critic_target(batch.next_obs, self.target_action(batch.next_obs))
                target = td_target(
                    batch.rewards,
                    next_q.min(dim=0).values,
                    batch.terminated,
                    batch.discounts,
                )
            q = self.critic(batch.obs, batch.actions)
            critic_loss = ((q - target) ** 2).mean(dim=1).sum()
            optimizer_step(self.critic_optimizer, critic_loss)
            self.n_updates += 1
            self.stats.add(critic_loss=critic_loss, q_values=q.detach().mean())
            if self.n_updates % self.policy_delay == 0:
                action = self.actor(batch.obs)
                actor_loss = -self.critic(batch.obs, action, detach_weights=True)[0].mean()
                optimizer_step(self.actor_optimizer, actor_loss)
                update_target(self.critic_target, self.critic, cfg.tau)
                update_target(self.actor_target, self.actor, cfg.tau)
                self.stats.add(actor_loss=actor_loss)

    def exploration_value(self) -> tuple[str, float] | None:
        return self.noise.chart()
