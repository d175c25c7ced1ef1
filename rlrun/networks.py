"""Network building blocks shared by the torch agents."""

from __future__ import annotations

import gymnasium as gym
import torch
from torch import nn
from torch.nn import functional as F

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
}


def mlp(
    in_dim: int, out_dim: int, net_arch: list[int], activation: str
) -> nn.Sequential:
    """Linear layers of the given widths with `activation` between them, none after the last."""
    layers: list[nn.Module] = []
    for width in net_arch:
        layers += [nn.Linear(in_dim, width), ACTIVATIONS[activation]()]
        in_dim = width
    layers.append(nn.Linear(in_dim, out_dim))
    return nn.Sequential(*layers)


class ObsEncoder(nn.Module):
    """Raw observations to float features: one-hot for Discrete spaces, flattened for Box."""

    def __init__(self, space: gym.Space) -> None:
        super().__init__()
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
        return obs.float().flatten(1)


class QNetwork(nn.Module):
    """Q(s, .) for every discrete action: encoder, then an MLP."""

    def __init__(
        self, obs_space: gym.Space, n_actions: int, net_arch: list[int], activation: str
    ) -> None:
        super().__init__()
        self.encoder = ObsEncoder(obs_space)
        self.body = mlp(self.encoder.dim, n_actions, net_arch, activation)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.body(self.encoder(obs))
