"""Heads on top of an encoder: Q-networks, option-critic's, the on-policy actor-critic, batched
critics and SAC's squashed Gaussian actor."""

from __future__ import annotations

import itertools

import gymnasium as gym
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from rlrun.networks.encoders import Encoder
from rlrun.networks.layers import ACTIVATION_MODULES, mlp, orthogonal_init, trunk


class QNetwork(nn.Module):
    """Q(s, .) for every discrete action: encoder, then an MLP. Dueling (Wang et al. 2016): the
    last hidden layer feeds a state value V and advantages A, Q = V + A - mean(A)."""

    def __init__(
        self,
        encoder: Encoder,
        n_actions: int,
        net_arch: list[int],
        activation: str,
        dueling: bool = False,
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.dueling = dueling
        if dueling:
            width = net_arch[-1] if net_arch else self.encoder.dim
            self.body = trunk(self.encoder.dim, net_arch, activation)
            self.value = nn.Linear(width, 1)
            self.advantage = nn.Linear(width, n_actions)
        else:
            self.body = mlp(self.encoder.dim, n_actions, net_arch, activation)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        h = self.body(self.encoder(obs))
        if not self.dueling:
            return h
        advantage = self.advantage(h)
        return self.value(h) + advantage - advantage.mean(dim=-1, keepdim=True)


class OptionCriticNetwork(nn.Module):
    """Option-critic's heads on one encoder and trunk (Bacon, Harb & Precup 2017): Q(s, .) over
    the options, each option's termination probability beta_o(s), and each option's policy
    logits [batch, options, actions]. The policies read the trunk's features detached, as the
    public reference implementation does: the critic and the terminations shape the features,
    the policies are linear in them. The policy layer starts at zero: uniform policies."""

    def __init__(
        self,
        encoder: Encoder,
        n_options: int,
        n_actions: int,
        net_arch: list[int],
        activation: str,
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.body = trunk(encoder.dim, net_arch, activation)
        width = net_arch[-1] if net_arch else encoder.dim
        self.shape = (n_options, n_actions)
        self.q = nn.Linear(width, n_options)
        self.termination = nn.Linear(width, n_options)
        self.policies = nn.Linear(width, n_options * n_actions)
        nn.init.zeros_(self.policies.weight)
        nn.init.zeros_(self.policies.bias)

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        h = self.body(self.encoder(obs))
        logits = self.policies(h.detach()).view(-1, *self.shape)
        return self.q(h), torch.sigmoid(self.termination(h)), logits


def sde_std(log_std: torch.Tensor, n_out: int, use_expln: bool) -> torch.Tensor:
    """gSDE's std of each noise weight, [features, actions], from its log-std ([features,
    actions], or [features, 1] shared by the actions): exp(log_std), or with `use_expln` exp
    below 0 and log1p(log_std) + 1 above (it grows slowly: no blow-up)."""
    if use_expln:
        std = torch.where(log_std <= 0, log_std.exp(), torch.log1p(log_std.clamp(min=0)) + 1.0)
    else:
        std = log_std.exp()
    return std.expand(log_std.shape[0], n_out)


def sde_log_std(h: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """The log-std of gSDE's action noise h(s) @ W, W ~ N(0, std^2), per row:
    0.5 * log(h(s)^2 @ std^2 + 1e-6) (SB3's epsilon)."""
    return 0.5 * torch.log(h**2 @ std**2 + 1e-6)


def sde_noise(h: torch.Tensor, exploration: torch.Tensor) -> torch.Tensor:
    """h(s) @ W: one matrix for every row ([features, actions]) or one per row ([n, ...])."""
    if exploration.dim() == 2:
        return h @ exploration
    return torch.bmm(h.unsqueeze(1), exploration).squeeze(1)


class ActorCritic(nn.Module):
    """A policy head (categorical logits, or a diagonal Gaussian's mean) and a value head, on one
    shared trunk or two separate MLPs. The Gaussian's std is a learned state-independent vector,
    or, with `use_sde` (gSDE, Raffin et al. 2021), state-dependent: the noise is the policy's
    last hidden features h(s) times a random matrix W ~ N(0, sigma^2) (per env, resampled every
    few steps), so an action's noise is smooth in the state, and its std sqrt(h(s)^2 @ sigma^2).

    Box actions are sampled unbounded ("raw"); `to_env` maps them into the action bounds by
    clipping (the log-probability stays the raw Gaussian's, as in SB3) or by tanh-squashing
    (the log-probability gets the change-of-variables correction).
    """

    low: torch.Tensor  # Box action bounds (buffers)
    high: torch.Tensor

    def __init__(
        self,
        encoder: Encoder,
        action_space: gym.Space,
        net_arch: list[int],
        activation: str,
        shared: bool,
        ortho_init: bool,
        log_std_init: float,
        action_bounds: str,
        *,
        use_sde: bool = False,
        full_std: bool = True,
        use_expln: bool = False,
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.discrete = isinstance(action_space, gym.spaces.Discrete)
        self.n_out = n_out = (
            int(action_space.n)
            if isinstance(action_space, gym.spaces.Discrete)
            else gym.spaces.flatdim(action_space)
        )
        width = net_arch[-1] if net_arch else self.encoder.dim
        if shared:
            self.pi_body = self.vf_body = trunk(self.encoder.dim, net_arch, activation)
        else:
            self.pi_body = trunk(self.encoder.dim, net_arch, activation)
            self.vf_body = trunk(self.encoder.dim, net_arch, activation)
        self.pi_head = nn.Linear(width, n_out)
        self.vf_head = nn.Linear(width, 1)
        self.use_sde = use_sde and not self.discrete
        self.use_expln = use_expln
        if isinstance(action_space, gym.spaces.Box):
            # gSDE: one log-std per (hidden feature, action), or per feature (full_std false)
            shape = ((width, n_out) if full_std else (width, 1)) if self.use_sde else (n_out,)
            self.log_std = nn.Parameter(torch.full(shape, float(log_std_init)))
            self.register_buffer("low", torch.as_tensor(action_space.low, dtype=torch.float32))
            self.register_buffer("high", torch.as_tensor(action_space.high, dtype=torch.float32))
            self.squash = action_bounds == "tanh"
        if ortho_init:  # CleanRL/SB3 gains: sqrt(2) encoder and hidden, 0.01 policy, 1 value
            orthogonal_init(self.encoder, np.sqrt(2))
            orthogonal_init(self.pi_body, np.sqrt(2))
            orthogonal_init(self.vf_body, np.sqrt(2))
            orthogonal_init(self.pi_head, 0.01)
            orthogonal_init(self.vf_head, 1.0)

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        return self.vf_head(self.vf_body(self.encoder(obs))).squeeze(-1)

    def _pass(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(the policy's last hidden features, its output, the value), sharing the trunk's
        pass if shared."""
        x = self.encoder(obs)
        h = self.pi_body(x)
        v_in = h if self.vf_body is self.pi_body else self.vf_body(x)
        return h, self.pi_head(h), self.vf_head(v_in).squeeze(-1)

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(policy output, value) for encoded observations."""
        _, out, value = self._pass(obs)
        return out, value

    def sde_std(self) -> torch.Tensor:
        return sde_std(self.log_std, self.n_out, self.use_expln)

    def sde_matrices(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """n noise matrices W ~ N(0, sde_std^2), one per env: [n, features, actions]."""
        std = self.sde_std().detach()
        return torch.randn((n, *std.shape), generator=generator, device=std.device) * std

    def _log_std(self, h: torch.Tensor) -> torch.Tensor:
        """The Gaussian's log-std: the learned vector, or gSDE's per-state one, h detached as
        SB3's on-policy gSDE (the features are learned for the mean only)."""
        if not self.use_sde:
            return self.log_std
        return sde_log_std(h.detach(), self.sde_std())

    def sample(
        self,
        obs: torch.Tensor,
        generator: torch.Generator,
        exploration: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Sampled raw actions, their log-probabilities, and V(obs); with gSDE, row i's noise
        is h(s_i) @ exploration[i] (`sde_matrices`)."""
        h, out, value = self._pass(obs)
        if self.discrete:
            logp_all = torch.log_softmax(out, dim=-1)
            action = torch.multinomial(logp_all.exp(), 1, generator=generator).squeeze(-1)
            return action, logp_all.gather(-1, action.unsqueeze(-1)).squeeze(-1), value
        log_std = self._log_std(h)
        if self.use_sde:
            assert exploration is not None, "gSDE samples with the agent's noise matrices"
            noise = sde_noise(h, exploration)
        else:
            noise = log_std.exp() * torch.randn(out.shape, generator=generator, device=out.device)
        raw = out + noise
        return raw, self._gaussian_logp(out, log_std, raw), value

    def evaluate(
        self, obs: torch.Tensor, raw: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """log pi(raw | obs), the policy's entropy, and V(obs), with gradients."""
        h, out, value = self._pass(obs)
        if self.discrete:
            logp_all = torch.log_softmax(out, dim=-1)
            logp = logp_all.gather(-1, raw.long().unsqueeze(-1)).squeeze(-1)
            entropy = -(logp_all.exp() * logp_all).sum(-1)
            return logp, entropy, value
        # Entropy of the Gaussian before any squashing (closed form; SB3 estimates it for tanh).
        log_std = self._log_std(h)
        entropy = (0.5 + 0.5 * np.log(2 * np.pi) + log_std.expand_as(out)).sum(-1)
        return self._gaussian_logp(out, log_std, raw), entropy, value

    def _gaussian_logp(
        self, mean: torch.Tensor, log_std: torch.Tensor, raw: torch.Tensor
    ) -> torch.Tensor:
        logp = -0.5 * ((raw - mean) / log_std.exp()) ** 2 - log_std - 0.5 * np.log(2 * np.pi)
        if self.squash:  # log |d tanh(u)/du| = 2 * (log 2 - u - softplus(-2u)), stable form
            logp = logp - 2 * (np.log(2) - raw - F.softplus(-2 * raw))
        return logp.sum(-1)

    def distribution(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The policy's distribution parameters per row: (logits, None) or (mean, log_std)."""
        h = self.pi_body(self.encoder(obs))
        out = self.pi_head(h)
        return out, None if self.discrete else self._log_std(h).expand_as(out)

    def policy_out(self, obs: torch.Tensor) -> torch.Tensor:
        """The policy head's output: categorical logits, or the Gaussian's mean."""
        return self.pi_head(self.pi_body(self.encoder(obs)))

    def deterministic(self, obs: torch.Tensor) -> torch.Tensor:
        out = self.policy_out(obs)
        return out.argmax(-1) if self.discrete else out

    def actor_parameters(self) -> list[nn.Parameter]:
        """What the policy's distribution depends on (with separate networks: all but the
        value network's)."""
        value = {id(p) for p in [*self.vf_body.parameters(), *self.vf_head.parameters()]}
        return [p for p in self.parameters() if id(p) not in value]

    def to_env(self, raw: torch.Tensor) -> torch.Tensor:
        """Map raw actions into what the env accepts."""
        if self.discrete:
            return raw
        if self.squash:
            return self.low + (torch.tanh(raw) + 1) * 0.5 * (self.high - self.low)
        return torch.clamp(raw, self.low, self.high)


class BatchedMLP(nn.Module):
    """`n` independent MLPs evaluated as one batched network (stacked weights, one baddbmm per
    layer): [batch, in] (the same input for all) or [n, batch, in] -> [n, batch, out].
    `detach_weights` evaluates them without building their gradients."""

    def __init__(
        self, n: int, in_dim: int, out_dim: int, net_arch: list[int], activation: str
    ) -> None:
        super().__init__()
        dims = [in_dim, *net_arch, out_dim]
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for fan_in, fan_out in itertools.pairwise(dims):
            bound = 1 / np.sqrt(fan_in)  # nn.Linear's default initialisation, per critic
            self.weights.append(
                nn.Parameter(torch.empty(n, fan_in, fan_out).uniform_(-bound, bound))
            )
            self.biases.append(nn.Parameter(torch.empty(n, 1, fan_out).uniform_(-bound, bound)))
        self.activation = ACTIVATION_MODULES[activation]()
        self.n = n

    def forward(self, x: torch.Tensor, detach_weights: bool = False) -> torch.Tensor:
        if x.dim() == 2:
            x = x.expand(self.n, -1, -1)
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            if detach_weights:
                w, b = w.detach(), b.detach()
            x = torch.baddbmm(b, x, w)
            if i < last:
                x = self.activation(x)
        return x


class VectorizedCritic(BatchedMLP):
    """`n` independent Q(s, a) MLPs as one batched network, returning [n, batch] (TD3's and
    SAC's twin critics). `detach_weights`: the actor's loss needs gradients only for the
    action."""

    def __init__(
        self, n: int, obs_dim: int, action_dim: int, net_arch: list[int], activation: str
    ) -> None:
        super().__init__(n, obs_dim + action_dim, 1, net_arch, activation)

    def forward(  # type: ignore[override]
        self, obs: torch.Tensor, action: torch.Tensor, detach_weights: bool = False
    ) -> torch.Tensor:
        x = torch.cat([obs.float().flatten(1), action], dim=-1)
        return super().forward(x, detach_weights).squeeze(-1)


class EnsembleQNetwork(nn.Module):
    """K Q-heads, [K, batch, actions] (Bootstrapped DQN, Osband et al. 2016): one encoder under
    K batched MLPs, so a learning encoder (a CNN) is the paper's shared torso and a flatten
    encoder gives K independent networks. With prior_scale > 0 each head adds a fixed random
    prior of its own shape, Q_k = f_k + prior_scale * p_k (Osband et al. 2018), the priors on
    their own random encoder: never trained, so never learned away."""

    def __init__(
        self,
        encoders: tuple[Encoder, Encoder],
        n_heads: int,
        n_actions: int,
        net_arch: list[int],
        activation: str,
        prior_scale: float,
    ) -> None:
        super().__init__()
        self.encoder, prior_encoder = encoders
        self.heads = BatchedMLP(n_heads, self.encoder.dim, n_actions, net_arch, activation)
        self.prior_scale = prior_scale
        self.prior: nn.Sequential | None = None
        if prior_scale > 0:
            prior = BatchedMLP(n_heads, prior_encoder.dim, n_actions, net_arch, activation)
            self.prior = nn.Sequential(prior_encoder, prior).requires_grad_(False)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        q = self.heads(self.encoder(obs))
        if self.prior is not None:
            q = q + self.prior_scale * self.prior(obs)
        return q


class SquashedGaussianActor(nn.Module):
    """SAC's policy: a Gaussian squashed by tanh into [-1, 1], its log-std a linear head on the
    features, or with `use_sde` gSDE's (SB3's SAC flavour: noise h(s) @ W with the features
    learned through the noise too, the mean clipped to [-clip_mean, clip_mean] before tanh)."""

    LOG_STD_MIN, LOG_STD_MAX = -20.0, 2.0

    def __init__(
        self,
        obs_dim: int,
        action_dim: int,
        net_arch: list[int],
        activation: str,
        *,
        use_sde: bool = False,
        log_std_init: float = -3.0,
        full_std: bool = True,
        use_expln: bool = False,
        clip_mean: float = 2.0,
    ) -> None:
        super().__init__()
        width = net_arch[-1] if net_arch else obs_dim
        self.action_dim = action_dim
        self.body = trunk(obs_dim, net_arch, activation)
        self.mean = nn.Linear(width, action_dim)
        self.use_sde, self.use_expln, self.clip_mean = use_sde, use_expln, clip_mean
        self.log_std: nn.Module | nn.Parameter
        if use_sde:
            shape = (width, action_dim) if full_std else (width, 1)
            self.log_std = nn.Parameter(torch.full(shape, float(log_std_init)))
        else:
            self.log_std = nn.Linear(width, action_dim)

    def _params(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(features h, the Gaussian's mean, its log-std) per row."""
        h = self.body(obs.float().flatten(1))
        mean = self.mean(h)
        if self.use_sde:
            mean = mean.clamp(-self.clip_mean, self.clip_mean)
            return h, mean, sde_log_std(h, self.sde_std())
        assert isinstance(self.log_std, nn.Linear)
        return h, mean, self.log_std(h).clamp(self.LOG_STD_MIN, self.LOG_STD_MAX)

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        _, mean, log_std = self._params(obs)
        return mean, log_std

    def sde_std(self) -> torch.Tensor:
        assert isinstance(self.log_std, nn.Parameter)
        return sde_std(self.log_std, self.action_dim, self.use_expln)

    def sde_matrices(self, shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
        """Noise matrices W ~ N(0, sde_std^2) of `shape` (+ [features, actions]): per env for
        acting, or one for a gradient step, whose actions are reparameterised through it."""
        std = self.sde_std()
        return torch.randn((*shape, *std.shape), generator=generator, device=std.device) * std

    def sample(
        self,
        obs: torch.Tensor,
        generator: torch.Generator | None = None,
        exploration: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """A reparameterised action in [-1, 1] and its log-probability (tanh-corrected); with
        gSDE the noise is h(s) @ exploration (`sde_matrices`)."""
        h, mean, log_std = self._params(obs)
        if self.use_sde:
            assert exploration is not None, "gSDE samples with the agent's noise matrices"
            u = mean + sde_noise(h, exploration)
            z = (u - mean) / log_std.exp()
        else:
            z = torch.randn(mean.shape, generator=generator, device=mean.device)
            u = mean + log_std.exp() * z
        logp = (-0.5 * z**2 - log_std - 0.5 * np.log(2 * np.pi)).sum(-1)
        logp = logp - (2 * (np.log(2) - u - F.softplus(-2 * u))).sum(-1)
        return torch.tanh(u), logp

    def deterministic(self, obs: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self(obs)[0])
