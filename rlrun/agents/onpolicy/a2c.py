"""Advantage Actor-Critic (Mnih et al. 2016, synchronous): n-step rollouts from parallel envs,
GAE advantages, one gradient step on -A * log pi + value loss - entropy bonus per rollout.

Everything is the shared on-policy update with its defaults (one epoch, the whole rollout as
one batch, RMSprop as in SB3); the vanilla policy-gradient loss is the base class's.
"""

from __future__ import annotations

from rlrun.agents.onpolicy.base import OnPolicyAgent


class A2C(OnPolicyAgent):
    pass
