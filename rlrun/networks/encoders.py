"""Encoders: observations to the flat features an agent's heads take, chosen by `encoder=`
apart from the agent's own config (SB3's features extractors)."""

from __future__ import annotations

import dataclasses

import gymnasium as gym
import torch
from torch import nn
from torch.nn import functional as F

from rlrun.config.registry import ENCODERS, EncoderConfig, load_impl
from rlrun.envs.spaces import is_image, space_kind
from rlrun.errors import ConfigError
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


class NatureCNN(Encoder):
    """The convolutional torso of Mnih et al. 2015 (SB3's NatureCNN, CleanRL's Atari scripts):
    8x8/4, 4x4/2 and 3x3/1 convolutions of 32, 64, 64 channels, then a ReLU layer of
    `features_dim`. Pixels arrive as uint8 (channels first or last) and are scaled once, here."""

    def __init__(self, space: gym.Space, features_dim: int = 512) -> None:
        super().__init__()
        assert isinstance(space, gym.spaces.Box) and space.shape is not None
        self.channels_last = not channels_first(space.shape)
        c = space.shape[-1] if self.channels_last else space.shape[0]
        h, w = image_size(space)
        if min(h, w) < MIN_CNN_SIDE:
            raise ConfigError(
                "encoder",
                f"nature_cnn needs images of at least {MIN_CNN_SIDE}x{MIN_CNN_SIDE} pixels; the "
                f"observations are {h}x{w}: use encoder=flatten",
            )
        self.cnn = nn.Sequential(
            nn.Conv2d(c, 32, kernel_size=8, stride=4),
            nn.ReLU(),
            nn.Conv2d(32, 64, kernel_size=4, stride=2),
            nn.ReLU(),
            nn.Conv2d(64, 64, kernel_size=3, stride=1),
            nn.ReLU(),
            nn.Flatten(),
        )
        # oneDNN's convolutions run 1.2x (batch 32) to 1.5x (batch 256) faster forward and
        # backward on channels-last weights and inputs than on contiguous ones (one CPU thread)
        self.cnn.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # stubs lack it
        with torch.no_grad():
            n_flat = self.cnn(torch.zeros(1, c, h, w)).shape[1]
        self.linear = nn.Sequential(nn.Linear(n_flat, features_dim), nn.ReLU())
        self.dim = features_dim

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        if self.channels_last:
            obs = obs.permute(0, 3, 1, 2)  # N x C x H x W, channels-last in memory already
        x = obs.contiguous(memory_format=torch.channels_last).float() / 255.0
        return self.linear(self.cnn(x))


# The smallest side the three convolutions leave at least one pixel of (8/4 -> 4/2 -> 3/1).
MIN_CNN_SIDE = 36


def make_encoder(cfg: EncoderConfig, space: gym.Space) -> Encoder:
    """The encoder `cfg` names (`auto`: the usual one for the space's kind; images smaller than
    the CNN takes are flattened) for `space`."""
    name = cfg.name
    if name == "auto":
        kind = space_kind(space)
        small = kind == "image" and min(image_size(space)) < MIN_CNN_SIDE
        name = "flatten" if small else AUTO[kind]
    options = {k: v for k, v in dataclasses.asdict(cfg).items() if k != "name"}
    encoder: Encoder = load_impl(ENCODERS[name].impl)(space, **options)
    return encoder


def image_size(space: gym.Space) -> tuple[int, int]:
    """(height, width) of an image space, channels first or last."""
    shape = space.shape
    assert shape is not None
    return (shape[1], shape[2]) if channels_first(shape) else (shape[0], shape[1])


def channels_first(shape: tuple[int, ...]) -> bool:
    """C x H x W (1, 3 or 4 channels first, as frame stacks are), else H x W x C."""
    return shape[0] in (1, 3, 4)
