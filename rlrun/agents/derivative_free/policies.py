"""Deterministic policies read from a flat parameter vector, batched over the vector envs: env i
acts with its own row of parameters, so a population of candidates is scored side by side.
numpy, not torch: the searches need no gradients, and a few small matmuls per step are cheaper
without a framework's per-op cost.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise

import gymnasium as gym
import numpy as np

ACTIVATION_FNS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "relu": lambda x: np.maximum(x, 0.0),
    "tanh": np.tanh,
}


def bounded_actions(out: np.ndarray, space: gym.Space, bounds: str) -> np.ndarray:
    """The env's actions from the policy's outputs [n, n_out]: argmax for discrete actions; for
    Box, clipped to the bounds (`clip`) or tanh-squashed onto them (`tanh`, sb3-contrib's MLP)."""
    if isinstance(space, gym.spaces.Discrete):
        return out.argmax(-1)
    assert isinstance(space, gym.spaces.Box)
    if bounds == "tanh":
        out = space.low + (np.tanh(out) + 1.0) * 0.5 * (space.high - space.low)
    else:
        out = np.clip(out, space.low, space.high)
    return out.reshape(len(out), *space.shape).astype(space.dtype)


class FlatPolicy:
    """A linear map W s (`linear`: no bias, as the papers and sb3-contrib's LinearPolicy) or an
    MLP with biases and `activation` between layers (`mlp`), its parameters one flat vector.
    Layout, layer by layer: W [out, in] row-major, then (mlp) b [out]; a linear policy's vector
    is W.ravel()."""

    def __init__(
        self,
        obs_dim: int,
        action_space: gym.Space,
        kind: str,
        net_arch: list[int],
        activation: str,
        bounds: str,
    ) -> None:
        n_out = (
            int(action_space.n)
            if isinstance(action_space, gym.spaces.Discrete)
            else int(np.prod(action_space.shape or (1,)))
        )
        self.action_space, self.bounds = action_space, bounds
        self.bias = kind == "mlp"
        self.activation = ACTIVATION_FNS[activation]
        widths = [obs_dim, *(net_arch if kind == "mlp" else []), n_out]
        self.layers: list[tuple[int, int, int]] = []  # (offset, in, out)
        offset = 0
        for n_in, width in pairwise(widths):
            self.layers.append((offset, n_in, width))
            offset += width * n_in + (width if self.bias else 0)
        self.size = offset

    def init(self, rng: np.random.Generator) -> np.ndarray:
        """torch.nn.Linear's default initialisation, U(-1/sqrt(in), 1/sqrt(in)) for weights and
        biases: what sb3-contrib's policies start from when zero_policy is false."""
        parts = []
        for _, n_in, n_out in self.layers:
            bound = 1.0 / np.sqrt(n_in)
            parts.append(rng.uniform(-bound, bound, n_out * n_in + (n_out if self.bias else 0)))
        return np.concatenate(parts)

    def outputs(self, params: np.ndarray, obs: np.ndarray) -> np.ndarray:
        """params [n, size], obs [n, obs_dim] -> the last layer's outputs [n, n_out]."""
        h = obs
        for k, (offset, n_in, n_out) in enumerate(self.layers):
            w = params[:, offset : offset + n_out * n_in].reshape(len(h), n_out, n_in)
            h = np.einsum("noi,ni->no", w, h)
            if self.bias:
                h = h + params[:, offset + n_out * n_in : offset + n_out * (n_in + 1)]
            if k < len(self.layers) - 1:
                h = self.activation(h)
        return h

    def actions(self, params: np.ndarray, obs: np.ndarray) -> np.ndarray:
        return bounded_actions(self.outputs(params, obs), self.action_space, self.bounds)
