"""REINFORCE (Williams 1992): the policy gradient with Monte-Carlo returns.

With a learned baseline, the advantage is G_t - V(s_t) (GAE with lambda 1), and V bootstraps
an episode cut by the end of the rollout. Without one, there is no value to bootstrap from,
so the steps of an episode still running at the end of the rollout are left out of the update.
"""

from __future__ import annotations

import numpy as np
import torch

from rlrun.agents.onpolicy.base import OnPolicyAgent, Rollout
from rlrun.agents.onpolicy.config import ReinforceConfig
from rlrun.maths import discounted_returns


class Reinforce(OnPolicyAgent):
    cfg: ReinforceConfig

    def advantages(self) -> tuple[np.ndarray, np.ndarray]:
        if self.cfg.baseline:
            return super().advantages()
        b = self.buffer
        returns = discounted_returns(
            b.rewards,
            np.zeros_like(b.values),
            b.terminated,
            b.truncated,
            self.cfg.gamma,
        )
        return returns, returns  # no baseline: the advantage is the return itself

    def update_mask(self) -> np.ndarray | None:
        if self.cfg.baseline:
            return super().update_mask()
        # Rows after the last episode end of each env belong to an unfinished episode.
        ended = self.buffer.terminated | self.buffer.truncated
        seen_end_after = np.flip(np.logical_or.accumulate(np.flip(ended, 0), 0), 0)
        return seen_end_after.astype(np.float32)

    def value_loss(self, value: torch.Tensor, data: Rollout, idx: torch.Tensor) -> torch.Tensor:
        if self.cfg.baseline:
            return super().value_loss(value, data, idx)
        return torch.zeros_like(value)
