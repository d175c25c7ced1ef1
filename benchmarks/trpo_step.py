"""One TRPO policy step, rlrun against sb3-contrib, from the same weights on the same rollout.

    python benchmarks/trpo_step.py lunarlander_continuous
    python benchmarks/trpo_step.py lunarlander_continuous agent.target_kl=0.01 agent.cg_damping=0.1

rlrun collects a rollout with its preset for the env (plus any Hydra overrides given), then
sb3-contrib's TRPO gets rlrun's policy weights and that rollout (observations, actions,
log-probabilities, advantages) and both take one policy step. Printed: the largest difference of
each policy parameter after the step, and each side's surrogate and KL. The step is the same up
to conjugate gradient's start (sb3-contrib begins at 1e-4 noise, rlrun at 0) when the trust
region is given in each one's units: sb3-contrib averages a Gaussian's KL over the action
dimensions, rlrun sums them (conf/agent/trpo.yaml), so sb3-contrib's target_kl and cg_damping are
d times rlrun's (the presets for LunarLanderContinuous and BipedalWalker are written so).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch
from hydra import compose, initialize_config_module

from rlrun.agents.onpolicy.trpo import TRPO
from rlrun.config.run import EnvConfig
from rlrun.experiment import build
from rlrun.validate import validate

# rlrun's ActorCritic module names -> sb3's ActorCriticPolicy's (separate pi and vf trunks)
SB3_NAMES = {
    "pi_body": "mlp_extractor.policy_net",
    "vf_body": "mlp_extractor.value_net",
    "pi_head": "action_net",
    "vf_head": "value_net",
    "log_std": "log_std",
}


def rlrun_rollout(overrides: list[str], run_dir: Path) -> tuple[TRPO, EnvConfig]:
    """A TRPO agent trained for two rollouts, its buffer holding the second, and its env."""
    with initialize_config_module("rlrun.conf", version_base="1.3"):
        cfg = compose("config", overrides=["agent=trpo", "logger.progress=false", *overrides])
    steps = 2 * cfg.agent.n_steps * cfg.env.num_envs
    cfg.total_timesteps, cfg.eval.every_steps, cfg.eval.episodes = steps, steps, 1
    rc = validate(cfg)
    trainer, logger = build(rc, cfg, run_dir)
    try:
        trainer.train()
    finally:
        logger.close()
    assert isinstance(trainer.agent, TRPO)
    return trainer.agent, rc.env


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("env", help="an rlrun env config with Box or Discrete actions")
    p.add_argument("overrides", nargs="*", help="Hydra overrides for rlrun (agent.target_kl=...)")
    p.add_argument(
        "--same-numbers",
        action="store_true",
        help="give sb3-contrib rlrun's target_kl and cg_damping as they are, not divided by d",
    )
    args = p.parse_args()

    from sb3_contrib import TRPO as SB3TRPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.logger import configure

    agent, env = rlrun_rollout([f"env={args.env}", *args.overrides], Path(tempfile.mkdtemp()))
    cfg, buf = agent.cfg, agent.buffer
    n_steps, n_envs = buf.obs.shape[:2]
    obs = torch.as_tensor(buf.obs.reshape(n_steps * n_envs, -1))
    actions = torch.as_tensor(buf.actions.reshape(n_steps * n_envs, *buf.actions.shape[2:]))
    with torch.no_grad():  # the policy both start from is the one that steps: ratio 1
        log_probs, _, _ = agent.policy.evaluate(obs, actions)
    advantages, returns = agent.advantages()
    data = agent.rollout()._replace(log_probs=log_probs)
    dims = 1 if agent.policy.discrete else int(np.prod(buf.actions.shape[2:]))
    scale = 1 if args.same_numbers else dims

    sb3_env = make_vec_env(env.id, n_envs=n_envs, env_kwargs=dict(env.kwargs))
    model = SB3TRPO(
        "MlpPolicy",
        sb3_env,
        n_steps=n_steps,
        n_critic_updates=0,  # the policy step only
        target_kl=cfg.target_kl / scale,
        cg_damping=cfg.cg_damping / scale,
        cg_max_steps=cfg.cg_max_steps,
        line_search_shrinking_factor=cfg.line_search_shrinking_factor,
        line_search_max_iter=cfg.line_search_max_iter,
        normalize_advantage=cfg.normalize_advantage,
        policy_kwargs={"net_arch": {"pi": cfg.net_arch, "vf": cfg.net_arch}},
        device="cpu",
    )
    model.set_logger(configure(None, []))
    theirs = dict(model.policy.named_parameters())
    with torch.no_grad():
        for name, param in agent.policy.named_parameters():
            module = name.split(".")[0]
            theirs[name.replace(module, SB3_NAMES[module], 1)].copy_(param)
    rb = model.rollout_buffer
    rb.reset()
    rb.observations[:] = buf.obs.reshape(rb.observations.shape)
    rb.actions[:] = buf.actions.reshape(rb.actions.shape)
    rb.log_probs[:] = log_probs.numpy().reshape(n_steps, n_envs)
    rb.advantages[:], rb.returns[:] = advantages, returns
    rb.full, rb.pos = True, n_steps

    model.train()
    agent.pop_metrics()  # the training's, not this step's
    agent.policy_step(data)
    ours = agent.pop_metrics()
    print(
        f"{env.id}{dict(env.kwargs) or ''}, {' '.join(args.overrides) or 'the preset'}: rlrun "
        f"target_kl {cfg.target_kl}, cg_damping {cfg.cg_damping}; sb3-contrib "
        f"{model.target_kl}, {model.cg_damping}"
    )
    print("largest |rlrun - sb3-contrib| after the step, and the largest |parameter|:")
    for name, param in agent.policy.named_parameters():
        module = name.split(".")[0]
        if module in ("pi_body", "pi_head", "log_std"):
            other = theirs[name.replace(module, SB3_NAMES[module], 1)]
            diff = float((param - other).abs().max().detach())
            print(f"  {name:20s} {diff:.2e}  {float(param.abs().max().detach()):.3f}")
    sb3 = model.logger.name_to_value
    print(
        f"surrogate: rlrun {ours['losses/policy_objective']:.6f}, "
        f"sb3-contrib {sb3['train/policy_objective']:.6f}"
    )
    print(
        f"KL: rlrun {ours['losses/kl_divergence']:.6f} (summed over {dims} action dims), "
        f"sb3-contrib {sb3['train/kl_divergence_loss']:.6f} (averaged over them)"
    )


if __name__ == "__main__":
    main()
