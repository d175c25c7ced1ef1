"""Proximal Policy Optimization (Schulman et al. 2017): the clipped surrogate objective, an
optionally clipped value loss, and an early stop of the epochs on the KL divergence."""

from __future__ import annotations

import torch

from rlrun.agents.onpolicy.base import OnPolicyAgent, Rollout
from rlrun.agents.onpolicy.config import PPOConfig
from rlrun.maths import clipped_surrogate_loss, clipped_value_loss


class PPO(OnPolicyAgent):
    cfg: PPOConfig

    def clip_range(self, progress: float) -> float:
        if self.cfg.clip_range_schedule == "linear":
            return self.cfg.clip_range * (1.0 - progress)
        return self.cfg.clip_range

    def policy_loss(
        self, log_ratio: torch.Tensor, adv: torch.Tensor, progress: float
    ) -> torch.Tensor:
        return clipped_surrogate_loss(log_ratio, adv, self.clip_range(progress))

    def value_loss(self, value: torch.Tensor, data: Rollout, idx: torch.Tensor) -> torch.Tensor:
        if self.cfg.clip_range_vf is None:
            return super().value_loss(value, data, idx)
        return clipped_value_loss(
            value, data.values[idx], data.returns[idx], self.cfg.clip_range_vf
        )

    def extra_stats(self, log_ratio: torch.Tensor, progress: float) -> dict[str, torch.Tensor]:
        clipped = (log_ratio.exp() - 1).abs() > self.clip_range(progress)
        return {"clipfrac": clipped.float().mean()}

    def stop_epochs(self, approx_kl: torch.Tensor) -> bool:
        target = self.cfg.target_kl
        return target is not None and bool(approx_kl > 1.5 * target)
