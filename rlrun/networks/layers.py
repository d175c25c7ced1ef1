"""Layers shared by every network: MLP trunks and their initialisation."""

from __future__ import annotations

import torch
from torch import nn

ACTIVATION_MODULES: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
}


def trunk(in_dim: int, net_arch: list[int], activation: str) -> nn.Sequential:
    """Hidden layers of the given widths, each followed by `activation`."""
    layers: list[nn.Module] = []
    for width in net_arch:
        layers += [nn.Linear(in_dim, width), ACTIVATION_MODULES[activation]()]
        in_dim = width
    return nn.Sequential(*layers)


def mlp(in_dim: int, out_dim: int, net_arch: list[int], activation: str) -> nn.Sequential:
    """`trunk`, then a linear output layer with no activation."""
    width = net_arch[-1] if net_arch else in_dim
    return nn.Sequential(*trunk(in_dim, net_arch, activation), nn.Linear(width, out_dim))


def orthogonal_init(module: nn.Module, gain: float) -> None:
    """Orthogonal weights with `gain` and zero biases for every linear and convolutional layer in
    `module` (SB3's init_weights)."""
    for layer in module.modules():
        if isinstance(layer, nn.Linear | nn.Conv2d):
            # drawn contiguous, then copied: the CNN's weights are channels-last in memory
            weight = torch.empty_like(layer.weight, memory_format=torch.contiguous_format)
            nn.init.orthogonal_(weight, gain)
            with torch.no_grad():
                layer.weight.copy_(weight)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
