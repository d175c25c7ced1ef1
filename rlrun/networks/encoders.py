"""Encoders: observations to the flat features an agent's heads take, chosen by `encoder=`
apart from the agent's own config (SB3's features extractors)."""

from __future__ import annotations

import gymnasium as gym
import torch
from torch import nn
from torch.nn import functional as F

from rlrun.config.registry import ENCODERS, EncoderConfig, load_impl
from rlrun.envs.spaces import is_image, space_kind
from rlrun.networks.config import AUTO


class Encoder(nn.Module):
    """Observations [batch, ...] to features [batch, dim]."""

    dim: int


class FlattenEncoder(Encoder):
    """Raw observations to float features: one-hot for Discrete spaces, flattened for Box, and
    images scaled from [0, 255] to [0, 1] first (as SB3 does)."""

    def __init__(self, space: gym.Space) -> None:
        super().__init__()
        self.scale = 1 / 255 if is_image(space) else None
        if isinstance(space, gym.spaces.Discrete):
            self.n: int | None = int(space.n)
            self.start = int(space.start)
            self.dim = self.n
        else:
            self.n = None
            self.dim = int(gym.spaces.flatdim(space))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        if self.n is not None:
            return F.one_hot(obs.long() - self.start, self.n).float()
        x = obs.float().flatten(1)
        return x if self.scale is None else x * self.scale


def make_encoder(cfg: EncoderConfig, space: gym.Space) -> Encoder:
    """The encoder `cfg` names (`auto`: the usual one for the space's kind) for `space`."""
    name = AUTO[space_kind(space)] if cfg.name == "auto" else cfg.name
    encoder: Encoder = load_impl(ENCODERS[name].impl)(space)
    return encoder
