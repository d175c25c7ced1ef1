"""The maths of maximum-causal-entropy IRL on a known tabular MDP (Ziebart 2010, ch. 6; Gleave &
Toyer 2022, "A Primer on Maximum Causal Entropy Inverse Reinforcement Learning"), discounted.

The reward is a table theta: r(s, a) itself (`state_action`), or the reward of arriving in s'
(`next_state`, r(s, a, s') = theta(s'), so reaching a terminal goal is rewarded: the state an
episode ends in is seen, but never acted in). Its expectation R(s, a) drives the soft-optimal
(max-causal-entropy) policy:
    Q(s, a) = R(s, a) + gamma sum_s' P(s' | s, a) (1 - terminal) V(s'),
    V(s) = log sum_a exp Q(s, a),    pi(a | s) = exp(Q(s, a) - V(s)).
Its discounted occupancy d(s, a) = sum_t gamma^t P(s_t = s, a_t = a) from the demonstrations'
start states gives the feature expectations (d itself, or the discounted arrivals in each s');
the IRL loss  E_p0[V(s_0)] - E_demo[sum_t gamma^t r_t]  (the negative log-likelihood of the
demonstrations when the dynamics are deterministic; an episode cut off at T by a time limit
takes gamma^T V(s_T) off, so it counts only the steps shown) has the gradient  policy's
features - the demonstrations'  with respect to theta.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rlrun.demos import Demos
from rlrun.envs.dynamics import TabularModel


def logsumexp(x: np.ndarray, axis: int = -1) -> np.ndarray:
    top = x.max(axis=axis, keepdims=True)
    return (top + np.log(np.exp(x - top).sum(axis=axis, keepdims=True))).squeeze(axis)


def soft_backup(reward: np.ndarray, model: TabularModel, gamma: float, v: np.ndarray) -> np.ndarray:
    """Q(s, a) = r(s, a) + gamma E[(1 - terminal) V(s')]."""
    future = (model.prob * ~model.terminated * v[model.next_state]).sum(-1)
    return reward + gamma * future


def transition_matrix(policy: np.ndarray, model: TabularModel) -> np.ndarray:
    """M(s, s') = sum_a pi(a | s) P(s' | s, a) (1 - terminal): where the episode goes on to."""
    n = model.n_states
    weights = policy[..., None] * model.prob * ~model.terminated
    moves = np.arange(n)[:, None, None] * n + model.next_state  # flat (s, s') of each outcome
    return np.bincount(moves.ravel(), weights.ravel(), minlength=n * n).reshape(n, n)


def soft_bellman(
    reward: np.ndarray,
    model: TabularModel,
    gamma: float,
    tolerance: float = 1e-10,
    log_policy: np.ndarray | None = None,
    max_iterations: int = 1_000,
) -> tuple[np.ndarray, np.ndarray]:
    """(V, Q) of the soft Bellman equations above, by soft policy iteration from `log_policy`
    (uniform; logs, as a near-deterministic policy's small probabilities underflow): evaluate pi
    exactly, V = sum_a pi (R - log pi) + gamma M_pi V, then improve to softmax Q, until V moves
    less than `tolerance` (relative to its largest value). It is Newton's method on those
    equations: a handful of linear solves, where value iteration needs thousands of sweeps at
    gamma 0.99."""
    n, a = reward.shape
    log_pi = np.full((n, a), -np.log(a)) if log_policy is None else log_policy
    v = None
    for _ in range(max_iterations):
        pi = np.exp(log_pi)
        entropy_reward = (pi * (reward - log_pi)).sum(1)
        v_pi = np.linalg.solve(np.eye(n) - gamma * transition_matrix(pi, model), entropy_reward)
        q = soft_backup(reward, model, gamma, v_pi)
        v_new = logsumexp(q)
        log_pi = q - v_new[:, None]
        # relative: the solves' own rounding grows with V's size
        if v is not None and np.abs(v_new - v).max() < tolerance * (1 + np.abs(v_new).max()):
            return v_new, q
        v = v_new
    raise RuntimeError(f"soft policy iteration did not converge in {max_iterations} steps")


def occupancy(
    policy: np.ndarray, model: TabularModel, start: np.ndarray, gamma: float
) -> np.ndarray:
    """d(s, a) = sum_t gamma^t P(s_t = s, a_t = a) under `policy` from the start distribution,
    an episode ending at a terminal outcome: rho solves rho = start + gamma M^T rho."""
    m = transition_matrix(policy, model)
    rho = np.linalg.solve(np.eye(model.n_states) - gamma * m.T, start)
    return rho[:, None] * policy


def expected_reward(theta: np.ndarray, model: TabularModel, reward_input: str) -> np.ndarray:
    """R(s, a) of the reward table theta."""
    if reward_input == "state_action":
        return theta
    return (model.prob * theta[model.next_state]).sum(-1)


def policy_features(d: np.ndarray, model: TabularModel, reward_input: str) -> np.ndarray:
    """The feature expectations of a policy whose occupancy is d(s, a)."""
    if reward_input == "state_action":
        return d
    arrivals = np.zeros(model.n_states)
    np.add.at(arrivals, model.next_state, d[..., None] * model.prob)
    return arrivals


@dataclass
class DemoStatistics:
    """What MCE IRL needs of the demonstrations, per episode and discounted."""

    features: np.ndarray  # their feature expectations (as policy_features')
    occupancy: np.ndarray  # d(s, a)
    # Where a policy's occupancy starts from: the first states' distribution, less gamma^T at
    # the last state s_T of each episode cut off by a time limit, as the demonstrations stop
    # counting there (occupancy is linear in it: d(start) - gamma^T d(s_T) counts steps < T).
    start: np.ndarray


def demo_statistics(
    demos: Demos, n_states: int, n_actions: int, gamma: float, reward_input: str
) -> DemoStatistics:
    weights = gamma ** demos.time_steps() / demos.episodes
    obs, actions = demos.obs.astype(int), demos.actions.astype(int)
    d = np.zeros((n_states, n_actions))
    np.add.at(d, (obs, actions), weights)
    features = (
        d
        if reward_input == "state_action"
        else np.bincount(demos.next_obs.astype(int), weights, minlength=n_states)
    )
    cut = demos.truncated & ~demos.terminated
    cut_weight = gamma ** (demos.time_steps()[cut] + 1)
    start = (
        np.bincount(obs[demos.starts], minlength=n_states)
        - np.bincount(demos.next_obs[cut].astype(int), cut_weight, minlength=n_states)
    ) / demos.episodes
    return DemoStatistics(features, d, start)


def irl_loss(theta: np.ndarray, v: np.ndarray, demo: DemoStatistics) -> float:
    """E_start[V] - E_demo[sum_t gamma^t r_t] (`DemoStatistics.start`: truncations taken off)."""
    return float(demo.start @ v - (demo.features * theta).sum())
