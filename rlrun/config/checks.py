"""Constraints between fields of a run (a batch and the buffer it is drawn from, a minibatch and
the rollout it splits), checked before training. Values that cannot work raise a ConfigError;
values that work but waste the run come back as warnings. Torch-free, as all of rlrun.config."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rlrun.errors import ConfigError

if TYPE_CHECKING:
    from rlrun.config.run import RunConfig


def check_replay(agent: Any, run: RunConfig) -> list[str]:
    """An off-policy agent's batch, buffer and warm-up against each other and the budget."""
    if agent.batch_size > agent.buffer_size:
        raise ConfigError(
            "agent.batch_size",
            f"{agent.batch_size} is larger than agent.buffer_size={agent.buffer_size}: a batch "
            "cannot come from fewer transitions; raise buffer_size or lower batch_size",
        )
    warnings = []
    if agent.learning_starts >= run.total_timesteps:
        warnings.append(
            f"agent.learning_starts={agent.learning_starts} >= total_timesteps="
            f"{run.total_timesteps}: the agent never trains"
        )
    return warnings


def check_rollout(agent: Any, run: RunConfig) -> list[str]:
    """An on-policy agent's minibatch against its rollout (n_steps x env.num_envs rows). A
    minibatch larger than the rollout is the whole rollout, as in SB3 (RL Zoo's samplers clamp
    it so): a search may well propose one."""
    rows = agent.n_steps * run.env.num_envs
    shape = f"agent.n_steps={agent.n_steps} x env.num_envs={run.env.num_envs} = {rows}"
    warnings = []
    if rows > run.total_timesteps:
        warnings.append(
            f"total_timesteps={run.total_timesteps} is less than one rollout ({shape} steps): "
            "the agent never updates"
        )
    if agent.batch_size is not None and agent.batch_size > rows:
        warnings.append(
            f"agent.batch_size={agent.batch_size} is larger than a rollout ({shape} rows): "
            "each minibatch is the whole rollout"
        )
    elif agent.batch_size is not None and rows % agent.batch_size:
        warnings.append(
            f"a rollout of {rows} rows ({shape}) is not a multiple of agent.batch_size="
            f"{agent.batch_size}: each epoch ends with a minibatch of {rows % agent.batch_size}"
        )
    return warnings
