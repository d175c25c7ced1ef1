"""Replay extensions against brute force and hand-computed values: sum tree, prioritized
replay, n-step transitions; plus the dueling head and action noise."""

import itertools

import gymnasium as gym
import numpy as np
import pytest
import torch

import tests.envs  # noqa: F401  (registers the test envs)
from rlrun.buffers import NStepAccumulator, PrioritizedReplayBuffer, SumTree
from rlrun.exploration.config import GaussianNoiseConfig, OUNoiseConfig
from rlrun.exploration.noise import GaussianNoise, OUNoise
from rlrun.networks.encoders import FlattenEncoder
from rlrun.networks.heads import QNetwork
from rlrun.transition import Spaces, Transition

from .conftest import run_ok, train


def test_sum_tree_sums_and_finds_like_brute_force():
    rng = np.random.default_rng(0)
    tree = SumTree(13)  # not a power of two
    priorities = rng.random(13)
    tree.update(np.arange(13), priorities)
    tree.update(np.array([3, 7, 3]), np.array([5.0, 0.0, 2.0]))  # the last write wins
    priorities[[3, 7]] = [2.0, 0.0]
    assert tree.total == pytest.approx(priorities.sum())
    values = rng.random(1000) * priorities.sum()
    expected = np.searchsorted(np.cumsum(priorities), values, side="right")
    np.testing.assert_array_equal(tree.find(values), expected)
    assert 7 not in tree.find(values)  # zero priority: never drawn


def make_per(capacity=8, alpha=1.0) -> PrioritizedReplayBuffer:
    obs = gym.spaces.Box(-1, 1, (1,), np.float32)
    return PrioritizedReplayBuffer(
        capacity, obs, gym.spaces.Discrete(2), torch.device("cpu"), alpha=alpha, eps=0.0
    )


def rows(n: int, first: float = 0.0) -> Transition:
    obs = (first + np.arange(n, dtype=np.float32)).reshape(n, 1)
    no = np.zeros(n, dtype=bool)
    return Transition(obs, np.zeros(n, np.int64), np.zeros(n), obs, no, no)


def test_prioritized_sampling_follows_priorities_and_weights_correct_for_it():
    buf = make_per()
    buf.add(rows(4), 0.99)
    buf.update_priorities(np.arange(4), np.array([1.0, 2.0, 3.0, 4.0]))
    idx = buf.sample_indices(100_000, np.random.default_rng(0))
    freq = np.bincount(idx, minlength=4) / len(idx)
    np.testing.assert_allclose(freq, [0.1, 0.2, 0.3, 0.4], atol=0.005)
    weights = buf.weights(np.arange(4), beta=1.0).numpy()
    # (N * P(i)) ** -1 normalised by the largest: proportional to 1 / p_i
    np.testing.assert_allclose(weights, [1.0, 0.5, 1 / 3, 0.25], rtol=1e-6)
    buf.add(rows(1, first=9.0), 0.99)  # new rows enter at the highest priority seen
    assert buf.tree.tree[buf.tree.leaves + 4] == pytest.approx(4.0)


def test_prioritized_alpha_flattens_priorities():
    buf = make_per(alpha=0.5)
    buf.add(rows(2), 0.99)
    buf.update_priorities(np.arange(2), np.array([1.0, 4.0]))
    assert buf.tree.total == pytest.approx(1.0 + 2.0)


def step(reward: float, obs: float, terminated=False, truncated=False) -> Transition:
    """One env; obs is s_t, next_obs s_t+1 = obs + 1 (so the n-step next_obs is checkable)."""
    return Transition(
        np.array([[obs]]),
        np.array([0]),
        np.array([reward]),
        np.array([[obs + 1]]),
        np.array([terminated]),
        np.array([truncated]),
    )


def test_n_step_transitions_by_hand_across_an_episode_end_and_a_truncation():
    acc = NStepAccumulator(n=3, gamma=0.5, num_envs=1)
    out = []
    for t in [
        step(1, 0),
        step(2, 1),
        step(4, 2),
        step(8, 3, terminated=True),
        step(1, 10),
        step(2, 11, truncated=True),
    ]:
        done = acc.push(t)
        if done is not None:
            out += list(
                zip(
                    done[0].obs[:, 0],
                    done[0].reward,
                    done[0].next_obs[:, 0],
                    done[0].terminated,
                    done[1],
                    strict=True,
                )
            )
    expected = [
        # obs, n-step return, next obs, terminated, discount
        (0, 1 + 0.5 * 2 + 0.25 * 4, 3, False, 0.125),  # full window
        (1, 2 + 0.5 * 4 + 0.25 * 8, 4, True, 0.125),  # reaches the termination
        (2, 4 + 0.5 * 8, 4, True, 0.25),  # cut short by it
        (3, 8, 4, True, 0.5),
        (10, 1 + 0.5 * 2, 12, False, 0.25),  # truncation: bootstraps from the final obs
        (11, 2, 12, False, 0.5),
    ]
    assert len(out) == len(expected)
    for got, want in zip(out, expected, strict=True):
        assert got == pytest.approx(want)


def test_dueling_head_centres_the_advantages():
    encoder = FlattenEncoder(gym.spaces.Box(-1, 1, (3,), np.float32))
    net = QNetwork(encoder, 4, [8], "relu", dueling=True)
    obs = torch.randn(5, 3)
    h = net.body(net.encoder(obs))
    adv = net.advantage(h)
    torch.testing.assert_close(net(obs).mean(-1), net.value(h).squeeze(-1))
    torch.testing.assert_close(net(obs) - net.value(h), adv - adv.mean(-1, keepdim=True))


def test_action_noise_statistics():
    rng = np.random.default_rng(0)

    def box(num_envs: int, dim: int) -> Spaces:
        box = gym.spaces.Box(-1, 1, (dim,), np.float32)
        return Spaces(box, box, num_envs, total_timesteps=100)

    gauss = GaussianNoise(GaussianNoiseConfig(name="gaussian", start=0.3, end=0.3), box(1, 2))
    samples = np.stack([gauss.sample(rng) for _ in range(20_000)])
    assert samples.std() == pytest.approx(0.3, rel=0.02)
    ou = OUNoise(OUNoiseConfig(name="ou", start=0.5, end=0.5), box(2, 1))
    path = np.stack([ou.sample(rng) for _ in range(5000)])[:, 0, 0]
    # x' = x - theta * x * dt + sigma * sqrt(dt) * N(0, 1)
    residual = path[1:] - (1 - 0.15 * 0.01) * path[:-1]
    assert residual.std() == pytest.approx(0.5 * 0.1, rel=0.03)
    assert abs(residual.mean()) < 0.005
    ou.reset(np.array([True, False]))
    assert ou.state[0, 0] == 0.0 and ou.state[1, 0] != 0.0


def test_n_step_dqn_bootstraps_at_truncation_not_termination(tmp_path):
    common = [
        "agent=dqn",
        "agent.gamma=0.9",
        "agent.learning_rate=1e-3",
        "agent.n_step=3",
        "agent.learning_starts=200",
        "agent.train_freq=1",
        "agent.target_update_interval=100",
        "agent.net_arch=[16]",
        "agent.prioritized_replay=true",
        "agent.dueling=true",
        "env=custom",
        "total_timesteps=4000",
        "eval.episodes=1",
    ]
    obs = np.ones((1, 1), np.float32)
    forever = train(tmp_path / "t", "env.id=ForeverTimeLimit-v0", *common).agent
    np.testing.assert_allclose(forever.q_values(obs), 10.0, rtol=0.05)
    once = train(tmp_path / "o", "env.id=TerminateAfterOne-v0", *common).agent
    np.testing.assert_allclose(once.q_values(obs), 1.0, rtol=0.05)


TINY = [
    "total_timesteps=600",
    "agent.learning_starts=200",
    "eval.every_steps=300",
    "eval.episodes=2",
    "eval.num_envs=2",
    "logger.log_every_steps=100",
    "logger.progress=false",
    "agent.net_arch=[32,32]",
]


@pytest.mark.parametrize(
    ("agent", "env", "tags"),
    [
        ("sac", "pendulum", ["losses/alpha", "losses/alpha_loss", "losses/entropy"]),
        ("td3", "pendulum", ["charts/action_noise"]),
        ("ddpg", "pendulum", ["charts/action_noise"]),
    ],
)
def test_continuous_agents_run_and_log_their_tags(tmp_path, agent, env, tags):
    run_dir = tmp_path / "run"
    scalars = run_ok(
        f"agent={agent}",
        f"env={env}",
        *TINY,
        "agent.train_freq=1",
        "agent.gradient_steps=1",
        run_dir=run_dir,
    )
    for tag in (
        "losses/actor_loss",
        "losses/critic_loss",
        "losses/q_values",
        "charts/episodic_return",
        "eval/mean_return",
        *tags,
    ):
        assert scalars.get(tag), f"{tag} missing"


def test_dqn_with_every_improvement_runs_through_the_cli(tmp_path):
    run_dir = tmp_path / "run"
    scalars = run_ok(
        "agent=dqn",
        "env=cartpole",
        *TINY,
        "agent.dueling=true",
        "agent.n_step=3",
        "agent.prioritized_replay=true",
        "agent.double_q=true",
        run_dir=run_dir,
    )
    assert scalars["losses/td_loss"]


@pytest.mark.slow
def test_sac_clears_a_pendulum_threshold(tmp_path):
    trainer = train(
        tmp_path,
        "agent=sac",
        "env=pendulum",
        "seed=0",
        "total_timesteps=6000",
        "agent.net_arch=[64,64]",
        "eval.every_steps=1000",
        "eval.episodes=5",
    )
    assert trainer.result.best_eval_mean_return >= -250


def test_sac_gsde_log_prob_is_the_squashed_state_dependent_gaussian():
    """SAC's gSDE action: u = clip(mean) + h(s) @ W, a = tanh(u); its log-probability is
    N(mean, sqrt(h^2 @ sigma^2 + 1e-6)) at u with the tanh correction; the gradient reaches
    sigma through W (reparameterised) and the features through both mean and noise."""
    from rlrun.networks.heads import SquashedGaussianActor

    actor = SquashedGaussianActor(3, 2, [8], "relu", use_sde=True, log_std_init=-1.0)
    with torch.no_grad():
        actor.log_std.add_(torch.linspace(-0.5, 0.5, 16).view(8, 2))
    obs = torch.randn(5, 3)
    matrix = actor.sde_matrices((), torch.Generator().manual_seed(0))
    assert matrix.shape == (8, 2)
    action, logp = actor.sample(obs, None, matrix)
    h = actor.body(obs)
    mean = actor.mean(h).clamp(-2.0, 2.0)
    u = mean + h @ matrix
    torch.testing.assert_close(action, torch.tanh(u))
    std = (h**2 @ actor.log_std.exp() ** 2 + 1e-6).sqrt()
    expected = torch.distributions.Normal(mean, std).log_prob(u).sum(-1)
    expected = expected - torch.log(1 - torch.tanh(u) ** 2).sum(-1)
    torch.testing.assert_close(logp, expected, rtol=1e-4, atol=1e-4)
    (logp.sum() + action.sum()).backward()
    assert actor.log_std.grad.abs().sum() > 0 and actor.body[0].weight.grad.abs().sum() > 0
    # one matrix per env when acting: row i's noise is h_i @ W_i
    per_env = actor.sde_matrices((5,), torch.Generator().manual_seed(1))
    acted, _ = actor.sample(obs, None, per_env)
    rows = torch.stack([h[i] @ per_env[i] for i in range(5)])
    torch.testing.assert_close(acted, torch.tanh(mean + rows))


def test_sac_gsde_draws_new_matrices_at_each_train_freq_block(tmp_path):
    trainer = train(
        tmp_path,
        "agent=sac",
        "env=pendulum",
        "agent.use_sde=true",
        "agent.train_freq=4",
        "agent.gradient_steps=1",
        "agent.learning_starts=0",
        "agent.net_arch=[16,16]",
        "total_timesteps=40",
        "eval.episodes=1",
    )
    agent, obs = trainer.agent, np.zeros((1, 3), np.float32)
    seen = []
    for step in range(41, 50):
        agent.act(obs, explore=True)
        seen.append(agent.exploration.clone())
        agent.update(step)  # a block ends at 44 and 48: the next act draws anew
    changed = [not torch.equal(a, b) for a, b in itertools.pairwise(seen)]
    assert changed == [False, False, False, True, False, False, False, True]
