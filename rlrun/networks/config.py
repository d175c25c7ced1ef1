"""Configs of the observation encoders (torch-free), chosen with `encoder=<name>`."""

from __future__ import annotations

from dataclasses import dataclass

from rlrun.config.registry import ENCODERS, EncoderConfig

# What each observation kind gets from `encoder=auto` (a CNN for images arrives with Atari).
AUTO = {"discrete": "flatten", "box": "flatten", "image": "flatten"}


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
