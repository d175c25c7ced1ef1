"""The kinds of component a run is built from, and the registries that find them by name.

Each component is a torch-free config dataclass registered with the "module:Class" of its
implementation (imported only when training starts) and its capability flags, so an incompatible
choice fails with a one-line error before anything heavy is imported. A family's configs register
themselves beside its code: `rlrun/agents/<family>/config.py`, `rlrun/exploration/config.py`,
`rlrun/networks/config.py`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from rlrun.errors import ConfigError

if TYPE_CHECKING:
    from rlrun.config.run import RunConfig

C = TypeVar("C", bound=type)
T = TypeVar("T")


class Registry(dict[str, type[T]], Generic[T]):
    """Component configs by the name users type (`agent=dqn`); `register` sets the class's flags."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind

    def register(self, name: str, **flags: Any) -> Callable[[C], C]:
        def wrap(cls: C) -> C:
            for flag, value in flags.items():
                setattr(cls, flag, value)
            self[name] = cls
            return cls

        return wrap

    def lookup(self, name: Any, key: str) -> type[T]:
        if name not in self:
            raise ConfigError(
                key, f"unknown {self.kind} {name!r}; choose one of: {', '.join(sorted(self))}"
            )
        return self[name]

    def name_of(self, cls: type) -> str:
        return next(name for name, c in self.items() if c is cls)


def load_impl(impl: str) -> Any:
    """The class or function an "module:Name" string names (components are imported late)."""
    module, name = impl.split(":")
    return getattr(importlib.import_module(module), name)


# --- agents -------------------------------------------------------------------------------------


@dataclass
class ComponentConfig:
    """A config chosen by name (`agent=dqn`), built by the "module:Class" in `impl`, and taking
    the observation kinds (rlrun.envs.spaces.space_kind) in `observation_spaces`."""

    name: str = ""
    impl: ClassVar[str]
    observation_spaces: ClassVar[frozenset[str]]


@dataclass
class AgentConfig(ComponentConfig):
    """Base of every agent's config. `register_agent` sets the capability flags."""

    action_spaces: ClassVar[frozenset[str]]  # space kinds, as observation_spaces
    explorations: ClassVar[tuple[str, ...]]  # allowed strategies; the first is `auto`'s choice
    default_exploration: ClassVar[dict[str, Any]]
    runner: ClassVar[str]  # the loop that drives it (RUNNERS)
    uses_encoder: ClassVar[bool]  # whether `encoder=` means anything to it (networks do)
    takes_demos: ClassVar[bool]  # learns from `demos=` (rlrun/agents/imitation/)
    # multi-agent envs: one learner for all agents (their observations tagged with the agent)
    share_parameters: bool = False

    def check(self, run: RunConfig) -> list[str]:
        """Constraints between this agent's values and the rest of the run's (rlrun.config.checks):
        a ConfigError for values that cannot work, warnings for values that waste the run."""
        return []


AGENTS: Registry[AgentConfig] = Registry("agent")


def register_agent(
    name: str,
    *,
    impl: str,
    actions: set[str],
    observations: set[str],
    explorations: tuple[str, ...],
    default_exploration: dict[str, Any],
    runner: str = "online",
    uses_encoder: bool = True,
    takes_demos: bool = False,
) -> Callable[[C], C]:
    return AGENTS.register(
        name,
        impl=impl,
        action_spaces=frozenset(actions),
        observation_spaces=frozenset(observations),
        explorations=explorations,
        default_exploration={"name": explorations[0], **default_exploration},
        runner=runner,
        uses_encoder=uses_encoder,
        takes_demos=takes_demos,
    )


# --- exploration, reward bonuses, encoders ------------------------------------------------------


@dataclass
class ExplorationConfig(ComponentConfig):
    """How an agent explores while training (rlrun/exploration/); the agent's `explorations`
    flag, not observation kinds, says which it may use."""


EXPLORATIONS: Registry[ExplorationConfig] = Registry("exploration")


@dataclass
class BonusConfig(ComponentConfig):
    """An intrinsic reward added to the env's reward for learning (never to the logged return)."""


BONUSES: Registry[BonusConfig] = Registry("bonus")


@dataclass
class EncoderConfig(ComponentConfig):
    """What turns observations into the features an agent's networks take (rlrun/networks/)."""

    name: str = "auto"


ENCODERS: Registry[EncoderConfig] = Registry("encoder")

# --- runners ------------------------------------------------------------------------------------

# The loops that drive agents, by an agent's `runner` flag: the online single-agent loop, the bandit
# testbed's, the multi-agent loop, and the offline loop of learning from demonstrations.
RUNNERS: dict[str, str] = {
    "online": "rlrun.runners.online:OnlineRunner",
    "testbed": "rlrun.runners.testbed:TestbedRunner",  # bandits: many problems in one batch
    "multiagent": "rlrun.runners.multiagent:MultiAgentRunner",  # PettingZoo envs (env.api)
    "offline": "rlrun.runners.offline:OfflineRunner",  # demonstrations (demos=), no env steps
}
