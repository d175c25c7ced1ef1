"""Proximal Policy Optimization (Schulman et al. 2017): the clipped surrogate objective, an
optionally clipped value loss, and an early stop of the epochs on the KL divergence."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from rlrun.agents.onpolicy import OnPolicyAgent, Rollout
from rlrun.schema import PPOConfig


class PPO(OnPolicyAgent):
    cfg: PPOConfig

    def clip_range(self, progress: float) -> float:
        if self.cfg.clip_range_schedule == "linear":
            return self.cfg.clip_range * (1.0 - progress)
        return self.cfg.clip_range

    def policy_loss(
        self, log_ratio: torch.Tensor, adv: torch.Tensor, progress: float
    ) -> torch.Tensor:
        ratio = log_ratio.exp()
        clip = self.clip_range(progress)
        return torch.max(-adv * ratio, -adv * torch.clamp(ratio, 1 - clip, 1 + clip))

    def value_loss(
        self, value: torch.Tensor, data: Rollout, idx: torch.Tensor
    ) -> torch.Tensor:
        returns = data.returns[idx]
        if self.cfg.clip_range_vf is None:
            return F.mse_loss(value, returns, reduction="none")
        old = data.values[idx]
        clipped = old + torch.clamp(
            value - old, -self.cfg.clip_range_vf, self.cfg.clip_range_vf
        )
        return torch.max((value - returns) ** 2, (clipped - returns) ** 2)

    def extra_stats(
        self, log_ratio: torch.Tensor, progress: float
    ) -> dict[str, torch.Tensor]:
        clipped = (log_ratio.exp() - 1).abs() > self.clip_range(progress)
        return {"clipfrac": clipped.float().mean()}

    def stop_epochs(self, approx_kl: torch.Tensor) -> bool:
        target = self.cfg.target_kl
        return target is not None and bool(approx_kl > 1.5 * target)
