"""Bootstrapped DQN (Osband et al. 2016), with randomized prior functions (Osband et al. 2018).

K Q-heads learn from the same replay, each from its own bootstrap sample: every stored
transition carries a Bernoulli(mask_prob) mask per head, and a head's TD loss counts only the
transitions its mask keeps. Each env's episode follows one head, drawn when the episode starts
(Thompson sampling over the heads' disagreement: deep, episode-long exploration where
epsilon-greedy only dithers). Evaluation takes the action most heads vote for.

The masks belong to the replay slots: a (buffer_size, K) Bernoulli array drawn once, slot i's
row the mask of whatever transition occupies slot i. Each transition's masks are then fixed for
its life in the buffer and independent of it, which is what the bootstrap asks, without a
second data path through the buffer.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from rlrun.agents.value.config import BootstrappedDQNConfig
from rlrun.agents.value.dqn import DQN
from rlrun.config.registry import EncoderConfig, ExplorationConfig
from rlrun.networks.encoders import make_encoder
from rlrun.networks.heads import EnsembleQNetwork
from rlrun.transition import Spaces, Transition


def vote(q: np.ndarray) -> np.ndarray:
    """The action most heads rank first, per env ([K, batch, actions] -> [batch]); a tie goes
    to the tied action with the highest mean Q."""
    votes = np.zeros(q.shape[1:])
    np.add.at(votes, (np.arange(q.shape[1])[None, :], q.argmax(axis=-1)), 1.0)
    tied = votes == votes.max(axis=-1, keepdims=True)
    return np.where(tied, q.mean(axis=0), -np.inf).argmax(axis=-1)


class BootstrappedDQN(DQN):
    cfg: BootstrappedDQNConfig

    def __init__(
        self,
        cfg: BootstrappedDQNConfig,
        exploration: ExplorationConfig,
        spaces: Spaces,
        device: torch.device,
        seed: int = 0,
        encoder: EncoderConfig | None = None,
    ) -> None:
        super().__init__(cfg, exploration, spaces, device, seed, encoder)
        self.masks = torch.as_tensor(
            self.rng.random((self.buffer.capacity, cfg.n_heads)) < cfg.mask_prob, device=device
        )
        self.heads = self.rng.integers(0, cfg.n_heads, spaces.num_envs)  # each env's head

    def q_network(self, encoder: EncoderConfig, spaces: Spaces) -> nn.Module:
        return EnsembleQNetwork(
            (make_encoder(encoder, spaces.observation), make_encoder(encoder, spaces.observation)),
            self.cfg.n_heads,
            int(spaces.action.n),  # type: ignore[attr-defined]
            self.cfg.net_arch,
            self.cfg.activation,
            self.cfg.prior_scale,
        )

    def head_values(self, obs: np.ndarray) -> np.ndarray:
        """Every head's Q(s, .), [K, batch, actions]."""
        return super().q_values(obs)

    def q_values(self, obs: np.ndarray) -> np.ndarray:
        """The heads' mean Q(s, .)."""
        return self.head_values(obs).mean(axis=0)

    def greedy(self, obs: np.ndarray) -> np.ndarray:
        return vote(self.head_values(obs))

    def behaviour_values(self, obs: np.ndarray) -> np.ndarray:
        """Each env's own head's Q(s, .)."""
        return self.head_values(obs)[self.heads, np.arange(len(obs))]

    def observe(self, t: Transition, step: int) -> None:
        super().observe(t, step)
        ended = t.terminated | t.truncated
        if ended.any():  # the next episode follows a fresh head
            self.heads[ended] = self.rng.integers(0, self.cfg.n_heads, int(ended.sum()))

    def sample_weights(self, idx: np.ndarray) -> torch.Tensor:
        """Each head's bootstrap mask of the sampled slots, [K, batch]."""
        return self.masks[torch.as_tensor(idx, device=self.device)].T.float()
