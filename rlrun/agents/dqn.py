"""Deep Q-Network (Mnih et al. 2015), with Double DQN (van Hasselt et al. 2016) as a switch.

Every `train_freq` env steps after `learning_starts`, a burst of `gradient_steps` minibatch
updates; every `target_update_interval` env steps, target <- tau * online + (1 - tau) * target.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from rlrun.agents.base import Spaces, Transition
from rlrun.agents.offpolicy import OffPolicyAgent, crossed, frozen_copy
from rlrun.exploration import make_strategy
from rlrun.maths import polyak_update, td_target
from rlrun.networks import QNetwork
from rlrun.schema import DQNConfig, ExplorationConfig


class DQN(OffPolicyAgent):
    cfg: DQNConfig

    def __init__(
        self,
        cfg: DQNConfig,
        exploration: ExplorationConfig,
        spaces: Spaces,
        device: torch.device,
        seed: int = 0,
    ) -> None:
        super().__init__(cfg, spaces, device, seed, spaces.action)
        n_actions = int(spaces.action.n)
        self.strategy = make_strategy(exploration, spaces.total_timesteps, n_actions)
        self.q_net = QNetwork(
            spaces.observation, n_actions, cfg.net_arch, cfg.activation
        ).to(device)
        self.target_net = frozen_copy(self.q_net)
        self.optimizer = torch.optim.Adam(
            self.q_net.parameters(), lr=cfg.learning_rate, fused=True
        )
        self.loss_fn = F.smooth_l1_loss if cfg.loss == "huber" else F.mse_loss

    @torch.inference_mode()
    def q_values(self, obs: np.ndarray) -> np.ndarray:
        return self.q_net(torch.as_tensor(obs, device=self.device)).cpu().numpy()

    def act(self, obs: np.ndarray, *, explore: bool) -> np.ndarray:
        if not explore:
            return self.q_values(obs).argmax(axis=-1)
        return self.strategy.select(lambda: self.q_values(obs), len(obs), self.rng)

    def observe(self, t: Transition, step: int) -> None:
        super().observe(t, step)
        self.strategy.set_step(step)

    def update(self, step: int) -> None:
        if crossed(step, self.num_envs, self.cfg.target_update_interval):
            polyak_update(
                self.q_net.parameters(), self.target_net.parameters(), self.cfg.tau
            )
        super().update(step)

    def train(self, gradient_steps: int) -> None:
        cfg = self.cfg
        # The target network is fixed for the whole burst, so every minibatch's targets come
        # from one batched forward pass (exact; Double DQN needs the changing online net).
        idx = self.buffer.sample_indices(gradient_steps * cfg.batch_size, self.rng)
        batch = self.buffer.get(idx)
        with torch.no_grad():
            # In chunks: one pass over thousands of rows falls out of the CPU cache.
            next_q_all = torch.cat(
                [self.target_net(c) for c in batch.next_obs.split(1024)]
            )
            if not cfg.double_q:
                targets = td_target(
                    batch.rewards,
                    next_q_all.max(dim=1).values,
                    batch.terminated,
                    cfg.gamma,
                )
        actions = batch.actions.long().unsqueeze(1)
        for g in range(gradient_steps):
            mb = slice(g * cfg.batch_size, (g + 1) * cfg.batch_size)
            if cfg.double_q:
                with torch.no_grad():
                    best = self.q_net(batch.next_obs[mb]).argmax(dim=1, keepdim=True)
                    next_q = next_q_all[mb].gather(1, best).squeeze(1)
                    target = td_target(
                        batch.rewards[mb], next_q, batch.terminated[mb], cfg.gamma
                    )
            else:
                target = targets[mb]
            q = self.q_net(batch.obs[mb]).gather(1, actions[mb]).squeeze(1)
            loss = self.loss_fn(q, target)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.max_grad_norm is not None:
                torch.nn.utils.clip_grad_norm_(
                    self.q_net.parameters(), cfg.max_grad_norm
                )
            self.optimizer.step()
            self.stats.add(td_loss=loss, q_values=q.detach().mean())

    def exploration_value(self) -> tuple[str, float]:
        return self.strategy.tag, self.strategy.value

    def state_dict(self) -> dict[str, Any]:
        return {
            "q_net": self.q_net.state_dict(),
            "target_net": self.target_net.state_dict(),
            "optimizer": self.optimizer.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.q_net.load_state_dict(state["q_net"])
        self.target_net.load_state_dict(state["target_net"])
        self.optimizer.load_state_dict(state["optimizer"])
