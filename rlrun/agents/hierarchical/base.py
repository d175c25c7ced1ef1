"""What the options learners share: the option each env runs, and the option statistics the
option-critic learners log."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from rlrun.agents.base import Agent
from rlrun.transition import Spaces


def option_table_spaces(spaces: Spaces, n_options: int) -> Spaces:
    """The spaces of a table Q(s, o): the env's states, options in place of its actions (so the
    exploration strategy picks options)."""
    return Spaces(
        spaces.observation, gym.spaces.Discrete(n_options), spaces.num_envs, spaces.total_timesteps
    )


def softmax(preferences: np.ndarray, temperature: float) -> np.ndarray:
    """The options' policies over actions, softmax(preferences / temperature) on the last axis."""
    z = preferences / temperature
    z = np.exp(z - z.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


class RunsOptions(Agent):
    """The option each env runs (-1: none yet, choose one): `running` while training (reset
    where its option stops, in `observe`), `eval_running` in deterministic play; set up by
    `run_options` in the learner's __init__."""

    running: np.ndarray
    eval_running: np.ndarray

    def run_options(self, num_envs: int) -> None:
        self.running = np.full(num_envs, -1)
        self.eval_running = np.full(num_envs, -1)

    def end_episodes(self, ended: np.ndarray) -> None:
        if len(self.eval_running) != len(ended):  # another evaluation env
            self.eval_running = np.full(len(ended), -1)
        self.eval_running[ended] = -1


class OptionStats:
    """What TensorBoard shows of the options, per option since the last `pop`: the share of steps
    it ran (`options/<k>/usage`), its mean termination probability on arrival where the episode
    went on (`options/<k>/termination`), the mean length of its finished runs
    (`options/<k>/length`), and `charts/option_length` over all options. `record` is called once
    per vector-env step."""

    def __init__(self, n_options: int, num_envs: int) -> None:
        self.n_options = n_options
        self.option_steps = np.zeros(num_envs, dtype=np.int64)  # length of each env's option run
        self._steps = np.zeros(n_options)
        self._ended = np.zeros(n_options)
        self._length_sum = np.zeros(n_options)
        self._beta_sum = np.zeros(n_options)
        self._beta_count = np.zeros(n_options)

    def record(
        self, option: np.ndarray, beta: np.ndarray, going_on: np.ndarray, stops: np.ndarray
    ) -> None:
        """One step of each env's `option`, its termination probability `beta` at the arrival
        state, whether the episode goes on, and whether the option stopped there."""
        self.option_steps += 1
        np.add.at(self._steps, option, 1)
        np.add.at(self._beta_sum, option[going_on], beta[going_on])
        np.add.at(self._beta_count, option[going_on], 1)
        np.add.at(self._ended, option[stops], 1)
        np.add.at(self._length_sum, option[stops], self.option_steps[stops])
        self.option_steps[stops] = 0

    def pop(self) -> dict[str, float]:
        out = {}
        if self._ended.sum():
            out["charts/option_length"] = float(self._length_sum.sum() / self._ended.sum())
        total = self._steps.sum()
        for k in range(self.n_options):
            if total:
                out[f"options/{k}/usage"] = float(self._steps[k] / total)
            if self._beta_count[k]:
                out[f"options/{k}/termination"] = float(self._beta_sum[k] / self._beta_count[k])
            if self._ended[k]:
                out[f"options/{k}/length"] = float(self._length_sum[k] / self._ended[k])
        for stat in (self._steps, self._ended, self._length_sum, self._beta_sum, self._beta_count):
            stat[:] = 0
        return out
