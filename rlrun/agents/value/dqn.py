"""Deep Q-Network (Mnih et al. 2015), with Double DQN (van Hasselt et al. 2016) as a switch.

Every `train_freq` env steps after `learning_starts`, a burst of `gradient_steps` minibatch
updates; every `target_update_interval` env steps, target <- tau * online + (1 - tau) * target.
Switches for the standard improvements: dueling heads, n-step returns, prioritized replay.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from rlrun.agents.offpolicy import OffPolicyAgent, crossed
from rlrun.agents.value.config import DQNConfig
from rlrun.buffers import NStepAccumulator, PrioritizedReplayBuffer, ReplayBatch
from rlrun.config.registry import EncoderConfig, ExplorationConfig
from rlrun.exploration.base import make_exploration
from rlrun.exploration.strategies import Strategy
from rlrun.maths import of_actions, td_target
from rlrun.networks.encoders import make_encoder
from rlrun.networks.heads import QNetwork
from rlrun.networks.optim import adam, optimizer_step, target_network, update_target
from rlrun.transition import Spaces, Transition


class DQN(OffPolicyAgent):
    cfg: DQNConfig

    def __init__(
        self,
        cfg: DQNConfig,
        exploration: ExplorationConfig,
        spaces: Spaces,
        device: torch.device,
        seed: int = 0,
        encoder: EncoderConfig | None = None,
    ) -> None:
        super().__init__(cfg, spaces, device, seed, spaces.action)
        if cfg.prioritized_replay:
            self.buffer = PrioritizedReplayBuffer(
                cfg.buffer_size,
                spaces.observation,
                spaces.action,
                device,
                cfg.prioritized_alpha,
            )
        self.n_step = (
            NStepAccumulator(cfg.n_step, cfg.gamma, spaces.num_envs) if cfg.n_step > 1 else None
        )
        self.strategy = make_exploration(exploration, spaces, Strategy)
        self.q_net = self.q_network(encoder or EncoderConfig(), spaces).to(device)
        self.target_net = target_network(self.q_net)
        self.optimizer = adam(self.q_net.parameters(), cfg.learning_rate)
        self.loss_fn = F.smooth_l1_loss if cfg.loss == "huber" else F.mse_loss

    def q_network(self, encoder: EncoderConfig, spaces: Spaces) -> nn.Module:
        """Q(s, .) for every action, [batch, actions] (or [heads, batch, actions])."""
        return QNetwork(
            make_encoder(encoder, spaces.observation),
            int(spaces.action.n),  # type: ignore[attr-defined]
            self.cfg.net_arch,
            self.cfg.activation,
            self.cfg.dueling,
        )

    @torch.inference_mode()
    def q_values(self, obs: np.ndarray) -> np.ndarray:
        return self.q_net(torch.as_tensor(obs, device=self.device)).cpu().numpy()

    def act(self, obs: np.ndarray, *, explore: bool) -> np.ndarray:
        if not explore:
            return self.greedy(obs)
        if self.step < self.cfg.learning_starts:  # warm-up: uniformly random, as SB3
            return self.rng.integers(0, self.strategy.n_actions, len(obs))
        return self.strategy.select(obs, lambda: self.behaviour_values(obs), self.rng)

    def greedy(self, obs: np.ndarray) -> np.ndarray:
        """Evaluation's deterministic actions."""
        return self.q_values(obs).argmax(axis=-1)

    def behaviour_values(self, obs: np.ndarray) -> np.ndarray:
        """The action values the exploration strategy acts on, [batch, actions]."""
        return self.q_values(obs)

    def observe(self, t: Transition, step: int) -> None:
        super().observe(t, step)
        self.strategy.observe(t, step)

    def store(self, t: Transition) -> None:
        if self.n_step is None:
            return super().store(t)
        done = self.n_step.push(t)
        if done is not None:
            self.buffer.add(*done)

    def update(self, step: int) -> None:
        if crossed(step, self.num_envs, self.cfg.target_update_interval):
            update_target(self.target_net, self.q_net, self.cfg.tau)
        super().update(step)

    @torch.no_grad()
    def targets(self, batch: ReplayBatch) -> torch.Tensor:
        """r + discount * Q_target(s', a*) * (1 - terminated), with a* the target network's
        argmax, or the online network's under Double DQN. In chunks: one forward pass over
        thousands of rows falls out of the CPU cache."""
        chunks = batch.next_obs.split(1024)
        next_q = torch.cat([self.target_net(c) for c in chunks], dim=-2)  # batch: 2nd to last
        if self.cfg.double_q:
            best = torch.cat([self.q_net(c) for c in chunks], dim=-2).argmax(-1)
            next_v = of_actions(next_q, best)
        else:
            next_v = next_q.max(dim=-1).values
        return td_target(batch.rewards, next_v, batch.terminated, batch.discounts)

    def train(self, gradient_steps: int) -> None:
        cfg = self.cfg
        if cfg.prioritized_replay:
            beta = cfg.prioritized_beta + (1 - cfg.prioritized_beta) * min(
                1.0, self.step / self.total_timesteps
            )
            assert isinstance(self.buffer, PrioritizedReplayBuffer)
            for _ in range(gradient_steps):  # priorities change after every step
                idx = self.buffer.sample_indices(cfg.batch_size, self.rng)
                batch = self.buffer.get(idx)
                td_error = self.gradient_step(
                    batch, self.targets(batch), self.buffer.weights(idx, beta)
                )
                self.buffer.update_priorities(idx, td_error.cpu().numpy())
            return
        # Uniform replay: the whole burst's minibatches are drawn at once, and (the target
        # network being fixed during the burst) their targets come from one batched pass;
        # Double DQN needs the online network, which changes, so it goes minibatch by minibatch.
        idx = self.buffer.sample_indices(gradient_steps * cfg.batch_size, self.rng)
        batch = self.buffer.get(idx)
        weights = self.sample_weights(idx)
        targets = None if cfg.double_q else self.targets(batch)
        for g in range(gradient_steps):
            rows = slice(g * cfg.batch_size, (g + 1) * cfg.batch_size)
            mb = ReplayBatch(*(x[rows] for x in batch))
            self.gradient_step(
                mb,
                self.targets(mb) if targets is None else targets[..., rows],
                None if weights is None else weights[..., rows],
            )

    def sample_weights(self, idx: np.ndarray) -> torch.Tensor | None:
        """Per-sample loss weights of uniformly sampled rows (Bootstrapped DQN's masks)."""
        return None

    def gradient_step(
        self,
        batch: ReplayBatch,
        target: torch.Tensor,
        weights: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """One optimiser step on the (importance-weighted) TD loss; returns the TD errors."""
        q = of_actions(self.q_net(batch.obs), batch.actions)
        if weights is None:
            loss = self.loss_fn(q, target)
        else:
            loss = (weights * self.loss_fn(q, target, reduction="none")).mean()
        optimizer_step(self.optimizer, loss, self.cfg.max_grad_norm)
        self.stats.add(td_loss=loss, q_values=q.detach().mean())
        return (q - target).detach()

    def exploration_value(self) -> tuple[str, float] | None:
        return self.strategy.chart()
