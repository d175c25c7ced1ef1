"""What REINFORCE, A2C and PPO share: collect a rollout with the current policy, compute
advantages with GAE (truncation bootstrapped from the true final observation), then optimise
`policy_loss + vf_coef * value_loss - ent_coef * entropy` over epochs of minibatches.

Each algorithm's own file holds only its policy loss and what is special about its update.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np
import torch
from torch.nn import functional as F

from rlrun.agents.base import Agent, LossStats
from rlrun.agents.onpolicy.config import OnPolicyConfig
from rlrun.buffers import RolloutBuffer
from rlrun.config.registry import EncoderConfig
from rlrun.errors import ConfigError
from rlrun.maths import compute_gae
from rlrun.networks.encoders import make_encoder
from rlrun.networks.heads import ActorCritic
from rlrun.networks.optim import anneal_lr, make_optimizer, optimizer_step
from rlrun.normalize import ObsNormalizer, RewardScaler
from rlrun.transition import Spaces, Transition


class Rollout(NamedTuple):
    """A rollout flattened to rows, on the device, ready for minibatches."""

    obs: torch.Tensor
    actions: torch.Tensor
    log_probs: torch.Tensor
    values: torch.Tensor
    advantages: torch.Tensor
    returns: torch.Tensor
    mask: torch.Tensor | None  # 1 where a row takes part (REINFORCE drops some); None: all


class OnPolicyAgent(Agent):
    def __init__(
        self,
        cfg: OnPolicyConfig,
        exploration: Any,
        spaces: Spaces,
        device: torch.device,
        seed: int = 0,
        encoder: EncoderConfig | None = None,
    ) -> None:
        self.cfg = cfg
        self.device = device
        self.total_timesteps = spaces.total_timesteps
        if cfg.normalize_obs and not isinstance(spaces.observation, gym.spaces.Box):
            raise ConfigError("agent.normalize_obs", "applies to Box observations only")
        if cfg.use_sde and not isinstance(spaces.action, gym.spaces.Box):
            raise ConfigError("agent.use_sde", "applies to Box actions only: set it false")
        self.policy = ActorCritic(
            make_encoder(encoder or EncoderConfig(), spaces.observation),
            spaces.action,
            cfg.net_arch,
            cfg.activation,
            cfg.shared_network,
            cfg.ortho_init,
            cfg.log_std_init,
            cfg.action_bounds,
            use_sde=cfg.use_sde,
            full_std=cfg.full_std,
            use_expln=cfg.use_expln,
        ).to(device)
        # eps 1e-5, as SB3's and CleanRL's on-policy agents
        self.optimizer = make_optimizer(
            cfg.optimizer, self.policy.parameters(), cfg.learning_rate, eps=1e-5
        )
        self.generator = torch.Generator(device).manual_seed(seed)
        obs_shape = spaces.observation.shape or ()
        action_shape = () if self.policy.discrete else spaces.action.shape or ()
        action_dtype = np.int64 if self.policy.discrete else np.float32
        obs_dtype = np.float32 if cfg.normalize_obs else spaces.observation.dtype
        self.buffer = RolloutBuffer(
            cfg.n_steps, spaces.num_envs, obs_shape, obs_dtype, action_shape, action_dtype
        )
        self.obs_norm = ObsNormalizer(obs_shape) if cfg.normalize_obs else None
        self.reward_scaler = (
            RewardScaler(spaces.num_envs, cfg.gamma) if cfg.normalize_reward else None
        )
        self._acted: tuple[np.ndarray, ...] | None = None  # (obs, raw actions, log-probs, values)
        self.exploration: torch.Tensor | None = None  # gSDE's noise matrices, one per env
        self.stats = LossStats()
        self._explained_variance: list[float] = []

    # --- acting and collecting -------------------------------------------------------------------

    def _tensor(self, obs: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(obs, device=self.device)

    def _normalize(self, obs: np.ndarray, update: bool) -> np.ndarray:
        return obs if self.obs_norm is None else self.obs_norm(obs, update=update)

    @torch.inference_mode()
    def act(self, obs: np.ndarray, *, explore: bool) -> np.ndarray:
        x = self._normalize(obs, update=explore)
        if not explore:
            return self.policy.to_env(self.policy.deterministic(self._tensor(x))).cpu().numpy()
        if self.policy.use_sde and self._sde_due():
            with torch.inference_mode(False):  # agent state: a checkpoint restores into it
                self.exploration = self.policy.sde_matrices(len(x), self.generator)
        raw, log_prob, value = self.policy.sample(self._tensor(x), self.generator, self.exploration)
        self._acted = (
            x,
            raw.cpu().numpy(),
            log_prob.cpu().numpy(),
            value.cpu().numpy(),
        )
        return self.policy.to_env(raw).cpu().numpy()

    def _sde_due(self) -> bool:
        """gSDE draws new matrices at each rollout's start and, as SB3, every sde_sample_freq
        steps within it."""
        pos, freq = self.buffer.pos, self.cfg.sde_sample_freq
        return pos == 0 or (freq > 0 and pos % freq == 0)

    @torch.inference_mode()
    def _values(self, obs: np.ndarray) -> np.ndarray:
        return self.policy.value(self._tensor(self._normalize(obs, update=False))).cpu().numpy()

    def observe(self, t: Transition, step: int) -> None:
        assert self._acted is not None  # act() came first
        obs, raw, log_prob, value = self._acted
        ended = t.terminated | t.truncated
        reward = t.reward if self.reward_scaler is None else self.reward_scaler(t.reward, ended)
        buf = self.buffer
        if t.truncated.any():  # bootstrap from the true final observation, not the reset one
            buf.final_values[buf.pos, t.truncated] = self._values(t.next_obs[t.truncated])
        buf.add(obs, raw, reward, t.terminated, t.truncated, log_prob, value)
        if buf.full:
            buf.last_values[:] = self._values(t.next_obs)

    # --- updating ------------------------------------------------------------------------------

    def update(self, step: int) -> None:
        if not self.buffer.full:
            return
        progress = min(step / self.total_timesteps, 1.0)
        if self.cfg.lr_schedule == "linear":
            anneal_lr(self.optimizer, self.cfg.learning_rate, progress)
        self.train(self.rollout(), progress)
        self.buffer.pos = 0

    def rollout(self) -> Rollout:
        """Advantages and returns for the collected rollout, flattened to rows."""
        b = self.buffer
        advantages, returns = self.advantages()
        self._explained_variance.append(explained_variance(b.values, returns))

        def rows(a: np.ndarray, dtype: torch.dtype | None = None) -> torch.Tensor:
            flat = a.reshape(-1, *a.shape[2:])
            return torch.as_tensor(flat, device=self.device, dtype=dtype)

        return Rollout(
            rows(b.obs),
            rows(b.actions),
            rows(b.log_probs),
            rows(b.values),
            rows(advantages, torch.float32),
            rows(returns, torch.float32),
            None if (mask := self.update_mask()) is None else rows(mask, torch.float32),
        )

    def advantages(self) -> tuple[np.ndarray, np.ndarray]:
        """(advantages, value targets) of the rollout, [n_steps, num_envs]."""
        b, cfg = self.buffer, self.cfg
        return compute_gae(
            b.rewards,
            b.values,
            b.next_values(),
            b.terminated,
            b.truncated,
            cfg.gamma,
            cfg.gae_lambda,
        )

    def update_mask(self) -> np.ndarray | None:
        """Which rows of the rollout take part in the update; None (the default): all."""
        return None

    def train(self, data: Rollout, progress: float) -> None:
        cfg = self.cfg
        n = len(data.obs)
        batch_size = cfg.batch_size or n
        for _ in range(cfg.n_epochs):
            perm = torch.randperm(n, generator=self.generator, device=self.device)
            for idx in perm.split(batch_size):
                log_prob, entropy, value = self.policy.evaluate(data.obs[idx], data.actions[idx])
                mask = None if data.mask is None else data.mask[idx]
                adv = data.advantages[idx]
                if cfg.normalize_advantage and len(idx) > 1:
                    adv = normalized(adv, mask)
                log_ratio = log_prob - data.log_probs[idx]
                with torch.no_grad():
                    approx_kl = masked_mean((log_ratio.exp() - 1) - log_ratio, mask)
                if self.stop_epochs(approx_kl):  # before this minibatch's step, as SB3
                    self.stats.add(approx_kl=approx_kl)
                    return
                policy_loss = masked_mean(self.policy_loss(log_ratio, adv, progress), mask)
                value_loss = masked_mean(self.value_loss(value, data, idx), mask)
                entropy_mean = masked_mean(entropy, mask)
                loss = policy_loss + cfg.vf_coef * value_loss
                if cfg.ent_coef > 0:
                    loss = loss - cfg.ent_coef * entropy_mean
                optimizer_step(self.optimizer, loss, cfg.max_grad_norm)
                with torch.no_grad():
                    self.stats.add(
                        policy_loss=policy_loss,
                        value_loss=value_loss,
                        entropy=entropy_mean,
                        approx_kl=approx_kl,
                        **self.extra_stats(log_ratio, progress),
                    )

    def policy_loss(
        self, log_ratio: torch.Tensor, adv: torch.Tensor, progress: float
    ) -> torch.Tensor:
        """Per-row policy loss; the vanilla policy gradient -A * log pi (as a ratio, whose
        gradient at ratio 1 is the same)."""
        return -adv * log_ratio.exp()

    def value_loss(self, value: torch.Tensor, data: Rollout, idx: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(value, data.returns[idx], reduction="none")

    def extra_stats(self, log_ratio: torch.Tensor, progress: float) -> dict[str, torch.Tensor]:
        return {}

    def stop_epochs(self, approx_kl: torch.Tensor) -> bool:
        return False

    def pop_metrics(self) -> dict[str, float]:
        if self.stats.count == 0:
            return {}
        out = self.stats.pop()
        out["losses/explained_variance"] = float(np.mean(self._explained_variance))
        out["charts/learning_rate"] = self.optimizer.param_groups[0]["lr"]
        self._explained_variance = []
        return out


def masked_mean(x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    if mask is None:
        return x.mean()
    return (x * mask).sum() / mask.sum().clamp(min=1.0)


def normalized(adv: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """(adv - mean) / (std + 1e-8) over the rows that take part in the update (`mask`; all when
    None), with the unbiased std as SB3 and CleanRL use."""
    if mask is None:
        return (adv - adv.mean()) / (adv.std() + 1e-8)
    n = mask.sum()
    mean = (adv * mask).sum() / n.clamp(min=1.0)
    std = (((adv - mean) ** 2 * mask).sum() / (n - 1).clamp(min=1.0)).sqrt()
    return (adv - mean) / (std + 1e-8)


def explained_variance(values: np.ndarray, returns: np.ndarray) -> float:
    """1 - Var(returns - values) / Var(returns): 1 is perfect, 0 no better than a constant."""
    var = np.var(returns)
    return float("nan") if var == 0 else float(1 - np.var(returns - values) / var)
