"""Configs of the tabular TD learners (torch-free: read on the config-error path)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rlrun.config.fields import param
from rlrun.config.registry import AgentConfig, register_agent


@dataclass
class TabularConfig(AgentConfig):
    learning_rate: float = param(0.1, gt=0, le=1)
    gamma: float = param(0.99, ge=0, le=1)
    init_value: float = 0.0  # optimistic initial values encourage exploration


def register_tabular(name: str, impl: str) -> Callable[[type], type]:
    return register_agent(
        name,
        impl=impl,
        actions={"discrete"},
        observations={"discrete"},
        explorations=("epsilon_greedy", "boltzmann"),
        default_exploration={"schedule": "linear", "start": 1.0, "end": 0.05, "fraction": 0.5},
        uses_encoder=False,
    )


@register_tabular("qlearning", "rlrun.agents.tabular.td:QLearning")
@dataclass
class QLearningConfig(TabularConfig):
    pass


@register_tabular("sarsa", "rlrun.agents.tabular.td:Sarsa")
@dataclass
class SarsaConfig(TabularConfig):
    pass


@register_tabular("expected_sarsa", "rlrun.agents.tabular.td:ExpectedSarsa")
@dataclass
class ExpectedSarsaConfig(TabularConfig):
    pass
