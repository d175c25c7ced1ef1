"""Planning with a learned model (Sutton & Barto 2nd ed., chapter 8) on the tabular Q-learner:
Dyna-Q, Dyna-Q+ and prioritized sweeping.

The model is the last outcome seen for each (s, a), deterministic as in the book: next state,
reward and whether that step terminated, in preallocated arrays (attributes, so checkpoints hold
them). A planning update is a Q-learning update on a modelled transition; it bootstraps from the
modelled next state unless that step terminated, and a truncated real step is modelled with its
true final state, so planning bootstraps from it as the real update did. Every update, real or
planned, goes through `TabularAgent.learn` and so into `losses/td_loss` and `losses/q_values`.

With several vector envs each env's real transition is learned and modelled (in env order: a pair
two envs tried in the same step keeps the last env's outcome), then `planning_steps` planning
updates are made per real transition.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rlrun.agents.tabular.config import DynaQConfig, DynaQPlusConfig, PrioritizedSweepingConfig
from rlrun.agents.tabular.td import QLearning
from rlrun.maths import td_target
from rlrun.transition import Transition


def draw_pairs(
    plannable: np.ndarray, k: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """k (state, action) pairs to plan with, as the book's Tabular Dyna-Q draws them: a state
    uniformly among those with a plannable action, then one of its plannable actions uniformly.
    Two draws from `rng`: the k state indices, then the k action indices."""
    states = np.flatnonzero(plannable.any(axis=1))
    s = states[rng.integers(len(states), size=k)]
    rows = plannable[s]
    nth = rng.integers(rows.sum(axis=1))  # which of its plannable actions, for each state
    a = (rows.cumsum(axis=1) > nth[:, None]).argmax(axis=1)
    return s, a


def exploration_bonus(kappa: float, tau: np.ndarray) -> np.ndarray:
    """Dyna-Q+'s bonus kappa * sqrt(tau) for a pair last tried tau real steps ago."""
    return kappa * np.sqrt(tau)


class DynaQ(QLearning):
    """Tabular Dyna-Q (Sutton & Barto, section 8.2): after each real step's Q-learning update, the
    model records the outcome, then `planning_steps` pairs drawn uniformly from those tried (a
    state, then an action taken there, from the agent's own rng) are updated from the model."""

    cfg: DynaQConfig

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        n_states, n_actions = self.q.shape
        # Table rows. A pair never tried leads back to its own state with reward 0: Dyna-Q never
        # draws one, Dyna-Q+ plans with it (the book's footnote to section 8.3).
        self.model_next = np.repeat(np.arange(n_states), n_actions).reshape(n_states, n_actions)
        self.model_reward = np.zeros((n_states, n_actions))
        self.model_terminated = np.zeros((n_states, n_actions), dtype=bool)
        self.tried = np.zeros((n_states, n_actions), dtype=bool)

    def td_update(self, t: Transition) -> None:
        super().td_update(t)  # direct RL: Q-learning on the real transitions
        self.feed(t)
        self.plan(self.cfg.planning_steps * len(t.obs))

    def feed(self, t: Transition) -> None:
        """Record each env's transition in the model, in env order."""
        s, next_s = t.obs - self.obs_start, t.next_obs - self.obs_start
        for i in range(len(s)):
            self.remember(int(s[i]), int(t.action[i]), t.reward[i], next_s[i], t.terminated[i])

    def remember(self, s: int, a: int, reward: float, next_s: int, terminated: bool) -> None:
        self.model_next[s, a] = next_s
        self.model_reward[s, a] = reward
        self.model_terminated[s, a] = terminated
        self.tried[s, a] = True

    def plannable(self) -> np.ndarray:
        """The pairs planning may draw: those tried."""
        return self.tried

    def planning_reward(self, s: np.ndarray, a: np.ndarray) -> np.ndarray:
        return self.model_reward[s, a]

    def plan(self, k: int) -> None:
        """k planning updates on pairs drawn from the model."""
        if k == 0:
            return
        s, a = draw_pairs(self.plannable(), k, self.rng)
        reward = self.planning_reward(s, a)
        for i in range(k):  # in turn: each bootstraps from the values the ones before left
            j = slice(i, i + 1)
            self.learn(s[j] + self.obs_start, a[j], self.model_target(s[j], a[j], reward[j]))

    def model_target(self, s: np.ndarray, a: np.ndarray, reward: np.ndarray) -> np.ndarray:
        """reward + gamma * max_a' Q(s', a') at the modelled next state s' of each (s, a), with
        no bootstrap where the modelled step terminated."""
        next_s = self.model_next[s, a]
        next_v = self.next_value(next_s + self.obs_start, self.q[next_s])
        return td_target(reward, next_v, self.model_terminated[s, a], self.cfg.gamma)


class DynaQPlus(DynaQ):
    """Dyna-Q+ (section 8.3): planning draws a state tried before, then any of its actions, and
    a planned reward is r + kappa * sqrt(tau), tau the real steps (counted over all envs) since
    the pair was last tried. Real updates and action selection use the env's reward alone.

    As the book's footnote says, actions never tried in a state are planned with too, leading
    back to that state with reward 0. As the public reproduction (ShangtongZhang/reinforcement-
    learning-an-introduction, chapter08/maze.py, TimeModel) does, such a pair counts as tried at
    real step 1, so its tau is the number of real steps so far minus 1.
    """

    cfg: DynaQPlusConfig

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.real_steps = 0  # real transitions recorded so far
        self.last_tried = np.ones(self.q.shape, dtype=np.int64)

    def remember(self, s: int, a: int, reward: float, next_s: int, terminated: bool) -> None:
        super().remember(s, a, reward, next_s, terminated)
        self.real_steps += 1
        self.last_tried[s, a] = self.real_steps

    def plannable(self) -> np.ndarray:
        """Every action of a state tried before."""
        return np.broadcast_to(self.tried.any(axis=1, keepdims=True), self.tried.shape)

    def planning_reward(self, s: np.ndarray, a: np.ndarray) -> np.ndarray:
        tau = self.real_steps - self.last_tried[s, a]
        return self.model_reward[s, a] + exploration_bonus(self.cfg.kappa, tau)


class PrioritizedSweeping(DynaQ):
    """Prioritized sweeping for a deterministic environment (section 8.4, the boxed algorithm).

    A real transition updates no value directly: it enters the model, and the pair is queued with
    priority P = |r + gamma max_a' Q(s', a') - Q(s, a)| if P > theta. Each real transition then
    allows up to `planning_steps` updates, each of the queued pair of highest priority (ties: the
    lowest state, then action), after which every predecessor of its state (a tried pair the
    model leads there) is queued with its own P if that passes theta. The queue is a dense
    priority per pair, 0 where none is queued.

    Against the reproduction (chapter08/maze.py, PriorityModel): a pair queued again keeps the
    higher of its two priorities, as the book says (the reproduction keeps the newer), ties are
    not first-in-first-out, and the predecessors are those of the current model (the
    reproduction also keeps pairs that led to the state before the env changed).
    """

    cfg: PrioritizedSweepingConfig

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.priority = np.zeros(self.q.shape)

    def td_update(self, t: Transition) -> None:
        self.feed(t)
        s = t.obs - self.obs_start
        next_v = self.next_value(t.next_obs, self.q[t.next_obs - self.obs_start])
        target = td_target(t.reward, next_v, t.terminated, self.cfg.gamma)
        self.push(s, t.action, np.abs(target - self.q[s, t.action]))
        self.plan(self.cfg.planning_steps * len(s))

    def push(self, s: np.ndarray, a: np.ndarray, priority: np.ndarray) -> None:
        """Queue the pairs whose priority exceeds theta, each keeping its highest priority."""
        keep = priority > self.cfg.theta
        np.maximum.at(self.priority, (s[keep], a[keep]), priority[keep])

    def plan(self, k: int) -> None:
        """Up to k updates, highest priority first, each queueing the predecessors it changes."""
        for _ in range(k):
            pair = int(self.priority.argmax())
            if self.priority.flat[pair] <= self.cfg.theta:  # nothing queued
                return
            self.priority.flat[pair] = 0.0
            s, a = np.divmod(np.array([pair]), self.q.shape[1])
            self.learn(s + self.obs_start, a, self.model_target(s, a, self.model_reward[s, a]))
            pred_s, pred_a = np.nonzero(self.tried & (self.model_next == s[0]))
            target = self.model_target(pred_s, pred_a, self.model_reward[pred_s, pred_a])
            self.push(pred_s, pred_a, np.abs(target - self.q[pred_s, pred_a]))
