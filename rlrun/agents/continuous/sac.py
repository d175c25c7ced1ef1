"""Soft Actor-Critic (Haarnoja et al. 2018): maximum-entropy RL with a squashed Gaussian policy,
clipped double-Q critics and an entropy coefficient tuned towards a target entropy."""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from rlrun.agents.continuous.config import SACConfig
from rlrun.agents.offpolicy import ContinuousOffPolicyAgent, crossed
from rlrun.buffers import ReplayBatch
from rlrun.maths import td_target
from rlrun.networks.heads import SquashedGaussianActor, VectorizedCritic
from rlrun.networks.optim import adam, optimizer_step, target_network, update_target
from rlrun.transition import Spaces


class SAC(ContinuousOffPolicyAgent):
    cfg: SACConfig

    def __init__(
        self,
        cfg: SACConfig,
        exploration: Any,
        spaces: Spaces,
        device: torch.device,
        seed: int = 0,
    ) -> None:
        super().__init__(cfg, spaces, device, seed)
        obs_dim = gym.spaces.flatdim(spaces.observation)
        self.actor = SquashedGaussianActor(
            obs_dim,
            self.action_dim,
            cfg.net_arch,
            cfg.activation,
            use_sde=cfg.use_sde,
            log_std_init=cfg.log_std_init,
            full_std=cfg.full_std,
            use_expln=cfg.use_expln,
        ).to(device)
        self.critic = VectorizedCritic(
            cfg.n_critics, obs_dim, self.action_dim, cfg.net_arch, cfg.activation
        ).to(device)
        self.critic_target = target_network(self.critic)
        self.actor_optimizer = adam(self.actor.parameters(), cfg.learning_rate)
        self.critic_optimizer = adam(self.critic.parameters(), cfg.learning_rate)
        self.autotune = cfg.ent_coef.startswith("auto")
        init = (
            float(cfg.ent_coef.partition("_")[2] or 1.0) if self.autotune else float(cfg.ent_coef)
        )
        self.log_alpha = torch.tensor(math.log(init), device=device, requires_grad=self.autotune)
        self.target_entropy = (
            cfg.target_entropy if cfg.target_entropy is not None else -float(self.action_dim)
        )
        self.alpha_optimizer = adam([self.log_alpha], cfg.learning_rate) if self.autotune else None
        self.n_updates = 0
        self.exploration: torch.Tensor | None = None  # gSDE's noise matrices, one per env
        self.collected = 0  # vector steps since the current train_freq block began (gSDE)

    def act(self, obs: np.ndarray, *, explore: bool) -> np.ndarray:
        if explore and self.cfg.use_sde and self.cfg.use_sde_at_warmup:
            return self.center + self.half_range * self.policy_action(obs, explore)
        return super().act(obs, explore=explore)

    def policy_action(self, obs: np.ndarray, explore: bool) -> np.ndarray:
        with torch.inference_mode():
            x = self.as_tensor(obs)
            if not explore:
                action = self.actor.deterministic(x)
            elif self.cfg.use_sde:
                freq = self.cfg.sde_sample_freq
                if self.exploration is None or (freq > 0 and self.collected % freq == 0):
                    with torch.inference_mode(False):  # agent state: restored in place
                        self.exploration = self.actor.sde_matrices(
                            (len(x),), self.generator
                        ).detach()
                action = self.actor.sample(x, self.generator, self.exploration)[0]
            else:
                action = self.actor.sample(x, self.generator)[0]
        self.collected += 1 if explore else 0
        return action.cpu().numpy()

    def update(self, step: int) -> None:
        # SB3 collects in blocks of train_freq steps and draws gSDE's matrices anew at each
        # block's start, whether or not it trains after it
        if self.cfg.use_sde and crossed(step, self.num_envs, self.cfg.train_freq):
            self.exploration, self.collected = None, 0
        super().update(step)

    def training_batch(self) -> ReplayBatch:
        """A batch to learn from: replay's (GAIL gives it the discriminator's rewards)."""
        return self.buffer.get(self.buffer.sample_indices(self.cfg.batch_size, self.rng))

    def train(self, gradient_steps: int) -> None:
        cfg = self.cfg
        for _ in range(gradient_steps):
            batch = self.training_batch()
            # gSDE: one matrix per gradient step, the actions reparameterised through it
            matrix = self.actor.sde_matrices((), self.generator) if cfg.use_sde else None
            action, logp = self.actor.sample(batch.obs, self.generator, matrix)
            # alpha is read before its own update, as SB3 does: this step's critic and actor
            # losses use the value the last step left (exp makes a copy, not a view)
            alpha = self.log_alpha.detach().exp()
            if self.autotune:
                alpha_loss = -(self.log_alpha * (logp.detach() + self.target_entropy)).mean()
                assert self.alpha_optimizer is not None
                optimizer_step(self.alpha_optimizer, alpha_loss)
                self.stats.add(alpha_loss=alpha_loss)

            with torch.no_grad():
                next_action, next_logp = self.actor.sample(batch.next_obs, self.generator, matrix)
                next_q = self.critic_target(batch.next_obs, next_action).min(dim=0).values
                target = td_target(
                    batch.rewards,
                    next_q - alpha * next_logp,
                    batch.terminated,
                    batch.discounts,
                )
            q = self.critic(batch.obs, batch.actions)
            critic_loss = 0.5 * ((q - target) ** 2).mean(dim=1).sum()
            optimizer_step(self.critic_optimizer, critic_loss)

            q_pi = self.critic(batch.obs, action, detach_weights=True).min(dim=0).values
            actor_loss = (alpha * logp - q_pi).mean()
            optimizer_step(self.actor_optimizer, actor_loss)

            self.n_updates += 1
            if self.n_updates % cfg.target_update_interval == 0:
                update_target(self.critic_target, self.critic, cfg.tau)
            self.stats.add(
                critic_loss=critic_loss,
                actor_loss=actor_loss,
                alpha=alpha,
                q_values=q.detach().mean(),
                entropy=-logp.detach().mean(),
            )
