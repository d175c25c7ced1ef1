"""Configs of the observation encoders (torch-free), chosen with `encoder=<name>`."""

from __future__ import annotations

from dataclasses import dataclass

from rlrun.config.fields import param
from rlrun.config.registry import ENCODERS, EncoderConfig

# What each observation kind gets from `encoder=auto` (images too small for the CNN: flatten).
AUTO = {"discrete": "flatten", "box": "flatten", "image": "nature_cnn"}


@ENCODERS.register("auto", impl="", observation_spaces=frozenset(AUTO))
@dataclass
class AutoEncoderConfig(EncoderConfig):
    """The usual encoder for the env's observation kind (AUTO)."""

    name: str = "auto"


@ENCODERS.register(
    "flatten",
    impl="rlrun.networks.encoders:FlattenEncoder",
    observation_spaces=frozenset({"discrete", "box", "image"}),
)
@dataclass
class FlattenEncoderConfig(EncoderConfig):
    """One-hot for Discrete observations, flattened floats for Box (SB3's FlattenExtractor)."""

    name: str = "flatten"


@ENCODERS.register(
    "nature_cnn",
    impl="rlrun.networks.encoders:NatureCNN",
    observation_spaces=frozenset({"image"}),
)
@dataclass
class NatureCNNConfig(EncoderConfig):
    """Mnih et al. 2015's three convolutions and a ReLU layer (SB3's NatureCNN), for pixels."""

    name: str = "nature_cnn"
    features_dim: int = param(512, gt=0)
