"""Trust Region Policy Optimization (Schulman et al. 2015), as sb3-contrib implements it.

Per rollout, the policy maximises the surrogate mean(A * pi / pi_old) subject to
mean KL(pi_old || pi) <= target_kl: the step direction solves F x = g by conjugate gradient on
Fisher-vector products (the Hessian of the KL at the old policy, plus damping), is scaled to the
edge of the trust region, sqrt(2 * target_kl / x^T F x), and shrunk by a backtracking line search
until the surrogate improves within the KL bound (else the policy stays). The value function is
then fitted apart, by Adam on its own parameters only, so it cannot move the policy.
"""

from __future__ import annotations

from typing import Any

import torch

from rlrun.agents.onpolicy.base import OnPolicyAgent, Rollout, normalized
from rlrun.agents.onpolicy.config import TRPOConfig
from rlrun.maths import categorical_kl, conjugate_gradient, diagonal_gaussian_kl, flat_grad
from rlrun.networks.optim import adam, optimizer_step


class TRPO(OnPolicyAgent):
    cfg: TRPOConfig

    def __init__(self, cfg: TRPOConfig, *args: Any, **kwargs: Any) -> None:
        super().__init__(cfg, *args, **kwargs)
        actor = {id(p) for p in self.policy.actor_parameters()}
        critic = [p for p in self.policy.parameters() if id(p) not in actor]
        self.optimizer = adam(critic, cfg.learning_rate, eps=1e-5)  # SB3's on-policy Adam

    def train(self, data: Rollout, progress: float) -> None:
        self.policy_step(data)
        self.fit_value(data)

    def mean_kl(
        self, old: tuple[torch.Tensor, torch.Tensor | None], obs: torch.Tensor
    ) -> torch.Tensor:
        """mean KL(pi_old || pi) over the rollout's observations."""
        out, log_std = self.policy.distribution(obs)
        if log_std is None:
            return categorical_kl(old[0], out).mean()
        assert old[1] is not None
        return diagonal_gaussian_kl(old[0], old[1], out, log_std).mean()

    def surrogate(self, data: Rollout, adv: torch.Tensor) -> torch.Tensor:
        log_prob, _, _ = self.policy.evaluate(data.obs, data.actions)
        return (adv * (log_prob - data.log_probs).exp()).mean()

    def policy_step(self, data: Rollout) -> None:
        cfg, params = self.cfg, self.policy.actor_parameters()
        adv = normalized(data.advantages, None) if cfg.normalize_advantage else data.advantages
        with torch.no_grad():
            old_out, old_log_std = self.policy.distribution(data.obs)
            old = (old_out, None if old_log_std is None else old_log_std.clone())
        objective = self.surrogate(data, adv)
        g = flat_grad(objective, params)
        grad_kl = flat_grad(self.mean_kl(old, data.obs), params, create_graph=True)

        def fisher_vector(v: torch.Tensor) -> torch.Tensor:
            return flat_grad(grad_kl @ v, params) + cfg.cg_damping * v

        direction = conjugate_gradient(fisher_vector, g, cfg.cg_max_steps)
        curvature = direction @ fisher_vector(direction)
        start = torch.nn.utils.parameters_to_vector(params).detach()
        accepted, kl, new_objective = False, torch.zeros(()), objective.detach()
        if bool(curvature > 0):  # zero when the gradient vanishes: nothing to step along
            step = (2 * cfg.target_kl / curvature).sqrt() * direction
            coef = 1.0
            with torch.no_grad():
                for _ in range(cfg.line_search_max_iter):
                    assign(params, start + coef * step)
                    kl, new_objective = self.mean_kl(old, data.obs), self.surrogate(data, adv)
                    if kl < cfg.target_kl and new_objective > objective:
                        accepted = True
                        break
                    coef *= cfg.line_search_shrinking_factor
                if not accepted:  # the policy stays where it was
                    assign(params, start)
        self.stats.add(
            policy_objective=new_objective if accepted else objective.detach(),
            kl_divergence=kl if accepted else torch.zeros(()),
            line_search_success=float(accepted),
        )

    def fit_value(self, data: Rollout) -> None:
        n, batch_size = len(data.obs), self.cfg.batch_size or len(data.obs)
        for _ in range(self.cfg.n_critic_updates):
            perm = torch.randperm(n, generator=self.generator, device=self.device)
            for idx in perm.split(batch_size):
                value = self.policy.value(data.obs[idx])
                value_loss = self.value_loss(value, data, idx).mean()
                optimizer_step(self.optimizer, value_loss)
                self.stats.add(value_loss=value_loss.detach())


@torch.no_grad()
def assign(params: list[torch.nn.Parameter], vector: torch.Tensor) -> None:
    """Copy a flat vector into the parameters, in place (torch's vector_to_parameters would make
    them views of the vector: other memory, and not bit-for-bit the same sums afterwards)."""
    for p, piece in zip(params, torch.split(vector, [p.numel() for p in params]), strict=True):
        p.copy_(piece.view_as(p))
