"""Option-critic with neural networks (Bacon, Harb & Precup 2017, section 5), for any
observations an encoder takes (CartPole, Acrobot, pixels).

Each training env runs an option o, chosen by the exploration strategy over Q(s, .) when none
runs; its actions come from pi_o(a | s) = softmax(logits_o(s) / temperature), and on arrival in
s' it ends with probability beta_o(s'). With U(s', o) = (1 - beta_o(s')) Q'(s', o) +
beta_o(s') max_o' Q'(s', o') from the target network Q' and g = r + gamma U(s', o) (no
bootstrap after a terminal s'), every env step after `learning_starts` takes one optimiser step
on the sum of

  actor      -log pi_o(a | s) (g - Q(s, o)) - ent_coef H(pi_o(. | s))    on that step
  terminate  beta_o(s') (Q(s', o) - V(s') + deliberation_cost)            on that step
  critic     1/2 (Q(s, o) - g)^2                                          a replay minibatch,
                                                                          every train_freq steps

(V(s') = max_o Q(s', o); the advantages are constants to the gradient). With several envs, one
step a vector step: the actor's loss meaned over the envs, the critic's minibatch when a multiple
of train_freq env steps was crossed. Deterministic play runs the greedy option until
beta_o(s) >= 1/2, taking its likeliest action. The termination gradient is at s', as in the
paper's Algorithm 1 (the reference implementation takes it at s).
"""

from __future__ import annotations

import dataclasses

import gymnasium as gym
import numpy as np
import torch
from torch.nn import functional as F

from rlrun.agents.hierarchical.base import (
    OptionStats,
    RunsOptions,
    option_table_spaces,
    softmax,
)
from rlrun.agents.hierarchical.config import DeepOptionCriticConfig
from rlrun.agents.offpolicy import OffPolicyAgent, crossed
from rlrun.config.registry import EncoderConfig, ExplorationConfig
from rlrun.exploration.base import make_exploration
from rlrun.exploration.strategies import Strategy, sample_categorical
from rlrun.maths import of_actions, option_arrival_value, td_target
from rlrun.networks.encoders import make_encoder
from rlrun.networks.heads import OptionCriticNetwork
from rlrun.networks.optim import make_optimizer, optimizer_step, target_network, update_target
from rlrun.transition import Spaces, Transition


def option_targets(
    rewards: torch.Tensor,
    terminated: torch.Tensor,
    discounts: torch.Tensor | float,
    next_q_target: torch.Tensor,
    next_beta: torch.Tensor,
    options: torch.Tensor,
) -> torch.Tensor:
    """g = r + gamma U(s', o) (no bootstrap after a terminal s'), from the target network's
    Q'(s', .) [batch, options] and beta_o(s') [batch]."""
    u = option_arrival_value(
        of_actions(next_q_target, options), next_q_target.max(dim=-1).values, next_beta
    )
    return td_target(rewards, u, terminated, discounts)


class DeepOptionCritic(RunsOptions, OffPolicyAgent):
    cfg: DeepOptionCriticConfig

    def __init__(
        self,
        cfg: DeepOptionCriticConfig,
        exploration: ExplorationConfig,
        spaces: Spaces,
        device: torch.device,
        seed: int = 0,
        encoder: EncoderConfig | None = None,
    ) -> None:
        assert isinstance(spaces.action, gym.spaces.Discrete)
        options = gym.spaces.Discrete(cfg.n_options)
        super().__init__(cfg, spaces, device, seed, options)  # the buffer stores options
        self.net = OptionCriticNetwork(
            make_encoder(encoder or EncoderConfig(), spaces.observation),
            cfg.n_options,
            int(spaces.action.n),
            cfg.net_arch,
            cfg.activation,
        ).to(device)
        self.target_net = target_network(self.net)
        # eps 1e-8: PyTorch's default, the reference's
        self.optimizer = make_optimizer(
            cfg.optimizer, self.net.parameters(), cfg.learning_rate, eps=1e-8
        )
        self.strategy = make_exploration(
            exploration, option_table_spaces(spaces, cfg.n_options), Strategy
        )
        self.run_options(spaces.num_envs)
        self.option_stats = OptionStats(cfg.n_options, spaces.num_envs)
        self.last: tuple[Transition, np.ndarray] | None = None  # for the actor's update

    @torch.inference_mode()
    def heads(self, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Q(s, .), beta(s) and the policy logits, as numpy."""
        q, beta, logits = self.net(self.as_tensor(obs))
        return q.cpu().numpy(), beta.cpu().numpy(), logits.cpu().numpy()

    def act(self, obs: np.ndarray, *, explore: bool) -> np.ndarray:
        q, beta, logits = self.heads(obs)
        rows = np.arange(len(obs))
        if not explore:
            o = self.eval_running
            ended = (o < 0) | (beta[rows, o] >= 0.5)
            o[ended] = q[ended].argmax(axis=-1)
            return logits[rows, o].argmax(axis=-1)
        new = self.running < 0
        if new.any():
            self.running[new] = self.strategy.select(obs[new], lambda: q[new], self.rng)
        probs = softmax(logits[rows, self.running], self.cfg.temperature)
        return sample_categorical(probs, self.rng)

    def observe(self, t: Transition, step: int) -> None:
        o = self.running.copy()
        with_options = dataclasses.replace(t, action=o)
        super().observe(with_options, step)  # into the buffer
        self.strategy.observe(with_options, step)
        beta = self.heads(t.next_obs)[1][np.arange(len(o)), o]
        stops = t.terminated | t.truncated | (self.rng.random(len(o)) < beta)
        self.option_stats.record(o, beta, ~t.terminated, stops)
        self.running[stops] = -1
        self.last = (t, o)

    def update(self, step: int) -> None:
        cfg = self.cfg
        if crossed(step, self.num_envs, cfg.target_update_interval):
            update_target(self.target_net, self.net, 1.0)
        last, self.last = self.last, None
        if step <= cfg.learning_starts or last is None:
            return
        loss = self.actor_loss(*last)
        if crossed(step, self.num_envs, cfg.train_freq):
            loss = loss + self.critic_loss()
        optimizer_step(self.optimizer, loss, cfg.max_grad_norm)

    def actor_loss(self, t: Transition, options: np.ndarray) -> torch.Tensor:
        """The intra-option policy gradient's and the termination gradient's loss on the step
        just taken, meaned over the envs."""
        cfg, n = self.cfg, len(options)
        o, a = self.as_tensor(options), self.as_tensor(t.action).long()
        terminated = self.as_tensor(t.terminated).float()
        next_obs = self.as_tensor(t.next_obs)
        q, beta, logits = self.net(torch.cat([self.as_tensor(t.obs), next_obs]))
        with torch.no_grad():
            next_beta = of_actions(beta[n:], o)
            reward = self.as_tensor(t.reward).float()
            g = option_targets(
                reward, terminated, cfg.gamma, self.target_net(next_obs)[0], next_beta, o
            )
            advantage = g - of_actions(q[:n], o)
            next_q = q[n:]
            term_advantage = of_actions(next_q, o) - next_q.max(dim=-1).values
        log_pi = F.log_softmax(logits[:n][torch.arange(n), o] / cfg.temperature, dim=-1)
        entropy = -(log_pi.exp() * log_pi).sum(dim=-1)
        policy_loss = -(of_actions(log_pi, a) * advantage).mean() - cfg.ent_coef * entropy.mean()
        termination_loss = (
            of_actions(beta[n:], o) * (term_advantage + cfg.deliberation_cost) * (1 - terminated)
        ).mean()
        self.stats.add(
            policy_loss=policy_loss, termination_loss=termination_loss, entropy=entropy.mean()
        )
        return policy_loss + termination_loss

    def critic_loss(self) -> torch.Tensor:
        """1/2 (Q(s, o) - g)^2 on a replay minibatch of (s, o, r, s')."""
        batch = self.buffer.get(self.buffer.sample_indices(self.cfg.batch_size, self.rng))
        o = batch.actions.long()
        q = of_actions(self.net(batch.obs)[0], o)
        with torch.no_grad():
            next_beta = of_actions(self.net(batch.next_obs)[1], o)
            g = option_targets(
                batch.rewards,
                batch.terminated,
                batch.discounts,
                self.target_net(batch.next_obs)[0],
                next_beta,
                o,
            )
        loss = 0.5 * F.mse_loss(q, g)
        self.stats.add(td_loss=loss, q_values=q.detach().mean())
        return loss

    def pop_metrics(self) -> dict[str, float]:
        return super().pop_metrics() | self.option_stats.pop()

    def exploration_value(self) -> tuple[str, float] | None:
        return self.strategy.chart()
