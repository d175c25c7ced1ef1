"""Deep Deterministic Policy Gradient (Lillicrap et al. 2016): a deterministic actor trained
through one critic, both with Polyak-averaged targets, exploring with action noise.

It is TD3 without TD3's three changes, so it is written as exactly that.
"""

from __future__ import annotations

from typing import Any

from rlrun.agents.continuous.td3 import TD3


class DDPG(TD3):
    def tricks(self, cfg: Any) -> tuple[int, int, tuple[float, float] | None]:
        return 1, 1, None  # one critic, an actor update every step, no target smoothing
