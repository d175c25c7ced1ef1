"""Deep exploration: the DeepSea env (bsuite's), Bootstrapped DQN's heads, masks, priors and
vote against hand-computed values, and what it buys on DeepSea."""

import gymnasium as gym
import numpy as np
import pytest
import torch

import rlrun.envs  # noqa: F401  (registers rlrun/DeepSea-v0)
from rlrun.agents.value.bootstrapped import BootstrappedDQN, vote
from rlrun.agents.value.config import BootstrappedDQNConfig
from rlrun.agents.value.dqn import of_actions
from rlrun.buffers import ReplayBatch
from rlrun.errors import ConfigError
from rlrun.exploration.config import EpsilonGreedyConfig
from rlrun.transition import Spaces, Transition
from rlrun.validate import validate

from .conftest import compose_config, train


def walk(env: gym.Env, actions) -> tuple[float, list]:
    obs, _ = env.reset(seed=0)
    total, seen = 0.0, [obs]
    for a in actions:
        obs, reward, terminated, truncated, _ = env.step(a)
        total += reward
        seen.append(obs)
    assert terminated and not truncated
    return total, seen


def test_deepsea_pays_only_the_all_right_path():
    env = gym.make("rlrun/DeepSea-v0", size=5, mapping_seed=3)
    sea = env.unwrapped
    right = sea.right.copy()
    # the optimal path: "right" in each diagonal cell; 0.99 = 1 - 5 moves * 0.01 / 5
    best, seen = walk(env, [right[i, i] for i in range(5)])
    assert best == pytest.approx(0.99)
    assert [tuple(np.argwhere(o)[0]) for o in seen[:-1]] == [(i, i) for i in range(5)]
    assert seen[-1].sum() == 0  # the end of an episode is an empty grid, as bsuite's
    # one left move anywhere and the treasure is out of reach; left moves cost nothing
    lefts, _ = walk(env, [1 - right[i, 0] for i in range(5)])
    assert lefts == 0.0
    one_wrong, _ = walk(env, [right[0, 0], 1 - right[1, 1], right[2, 0], right[3, 1], right[4, 2]])
    assert one_wrong == pytest.approx(-4 * 0.01 / 5)  # four right moves, no treasure
    other = gym.make("rlrun/DeepSea-v0", size=5, mapping_seed=4).unwrapped
    assert (other.right != right).any()  # the mapping is the seed's, per cell
    assert (gym.make("rlrun/DeepSea-v0", size=5, mapping_seed=3).unwrapped.right == right).all()


def test_deepsea_says_when_the_treasure_is_found_even_through_noise():
    """The windy variant: right moves fail with probability 1/N and the last row's end cells add
    N(0, 1) to the reward, so a reward's sign cannot say whether the treasure was found."""
    env = gym.make("rlrun/DeepSea-v0", size=4, deterministic=False, mapping_seed=1)
    env.reset(seed=0)
    sea = env.unwrapped
    outcomes = []
    for _ in range(300):
        env.reset()
        while True:
            last_column = sea.column
            _, reward, terminated, _, info = env.step(sea.right[sea.row, sea.column])
            if terminated:
                outcomes.append((info["is_success"], last_column == 3, reward > 0))
                break
    assert all(success == at_corner for success, at_corner, _ in outcomes)
    assert {s for s, _, _ in outcomes} == {True, False}  # some right moves failed
    assert any(success != positive for success, _, positive in outcomes)  # the noise misleads


def test_deepsea_discrete_observations_index_the_cells():
    env = gym.make("rlrun/DeepSea-v0", size=4, discrete_obs=True)
    assert env.observation_space == gym.spaces.Discrete(17)  # 16 cells and the end
    right = env.unwrapped.right
    _, seen = walk(env, [right[i, i] for i in range(4)])
    assert seen == [0, 5, 10, 15, 16]


def make_agent(**overrides) -> BootstrappedDQN:
    cfg = BootstrappedDQNConfig(
        n_heads=3, buffer_size=8, batch_size=4, net_arch=[8], learning_starts=0, **overrides
    )
    spaces = Spaces(gym.spaces.Box(-1, 1, (2,), np.float32), gym.spaces.Discrete(2), 2, 100)
    exploration = EpsilonGreedyConfig(name="epsilon_greedy", schedule="constant", start=0.0)
    return BootstrappedDQN(cfg, exploration, spaces, torch.device("cpu"), seed=0)


def test_vote_by_hand():
    q = np.array(
        [
            [[1.0, 0.0, 0.0], [0.0, 2.0, 1.0]],
            [[0.0, 1.0, 0.0], [0.0, 0.0, 5.0]],
            [[3.0, 0.0, 0.0], [0.0, 3.0, 0.0]],
        ]
    )  # 3 heads, 2 envs, 3 actions
    # env 0: votes (2, 1, 0) -> 0; env 1: votes (0, 2, 1) -> 1 although head 1's 5 is the top Q
    assert vote(q).tolist() == [0, 1]
    tie = np.array([[[1.0, 0.0]], [[0.0, 3.0]]])  # one vote each: the higher mean Q, action 1
    assert vote(tie).tolist() == [1]


def test_of_actions_for_one_head_and_many():
    q = torch.arange(12.0).reshape(2, 3, 2)  # [heads, batch, actions]
    a = torch.tensor([1, 0, 1])
    assert of_actions(q, a).tolist() == [[1.0, 2.0, 5.0], [7.0, 8.0, 11.0]]
    assert of_actions(q[0], a).tolist() == [1.0, 2.0, 5.0]


def test_a_head_learns_only_from_its_masked_transitions():
    agent = make_agent(mask_prob=0.5)
    batch = ReplayBatch(
        obs=torch.randn(4, 2),
        actions=torch.tensor([0, 1, 0, 1]),
        rewards=torch.ones(4),
        next_obs=torch.randn(4, 2),
        terminated=torch.zeros(4),
        discounts=torch.full((4,), 0.99),
    )
    masks = torch.tensor([[1.0, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1]])
    before = [w.detach().clone() for w in agent.q_net.heads.weights]
    agent.gradient_step(batch, agent.targets(batch), masks)
    for w, b in zip(agent.q_net.heads.weights, before, strict=True):
        changed = (w.detach() != b).flatten(1).any(dim=1).tolist()
        assert changed == [True, False, True]  # head 1's mask is empty: untouched


def test_masks_belong_to_replay_slots_and_heads_to_episodes():
    agent = make_agent(mask_prob=0.5)
    idx = np.array([0, 5, 7])
    np.testing.assert_array_equal(agent.sample_weights(idx).numpy(), agent.masks[idx].T.float())
    assert 0.2 < agent.masks.float().mean() < 0.8
    assert agent.heads.shape == (2,)
    heads = agent.heads.copy()
    obs = np.zeros((2, 2), np.float32)

    def step(terminated, truncated):
        agent.observe(
            Transition(
                obs,
                np.zeros(2, np.int64),
                np.zeros(2),
                obs,
                np.array(terminated),
                np.array(truncated),
            ),
            1,
        )

    for _ in range(20):
        step([False, False], [False, False])
    assert (agent.heads == heads).all()  # a head holds for the whole episode
    draws = set()
    for _ in range(30):
        step([True, False], [False, False])
        draws.add(int(agent.heads[0]))
        assert agent.heads[1] == heads[1]
    assert draws == {0, 1, 2}  # env 0 draws a fresh head at each of its episode's ends


def test_randomized_prior_is_added_and_never_trained():
    agent = make_agent(prior_scale=3.0, mask_prob=1.0)
    net = agent.q_net
    obs = torch.randn(5, 2)
    expected = net.heads(net.encoder(obs)) + 3.0 * net.prior(obs)
    torch.testing.assert_close(net(obs), expected)
    prior = [p.detach().clone() for p in net.prior.parameters()]
    assert prior and not any(p.requires_grad for p in net.prior.parameters())
    for _ in range(10):
        agent.observe(
            Transition(
                np.random.randn(2, 2).astype(np.float32),
                np.array([0, 1]),
                np.ones(2),
                np.random.randn(2, 2).astype(np.float32),
                np.zeros(2, bool),
                np.zeros(2, bool),
            ),
            agent.step + 2,
        )
    agent.train(gradient_steps=3)
    assert all(torch.equal(p, q) for p, q in zip(net.prior.parameters(), prior, strict=True))
    assert agent.stats.count == 3


@pytest.mark.parametrize("key", ["prioritized_replay", "dueling"])
def test_bootstrapped_refuses_what_its_heads_lack(key):
    with pytest.raises(ConfigError, match=f"agent.{key}: bootstrapped_dqn has plain heads"):
        validate(compose_config("agent=bootstrapped_dqn", f"agent.{key}=true"))


@pytest.mark.slow
def test_bootstrapped_dqn_learns_a_small_deepsea(tmp_path):
    """That it learns end to end. What deep exploration buys (sizes where epsilon-greedy DQN
    never finds the treasure: DQN still does at size 8) is benchmarks/deep_exploration.py's."""
    trainer = train(
        tmp_path,
        "agent=bootstrapped_dqn",  # bsuite's settings (the preset)
        "env=deepsea",
        "env.kwargs.size=6",
        "agent.n_heads=10",
        "total_timesteps=3000",
        "eval.every_steps=1000",
        "eval.episodes=2",
    )
    assert trainer.result.final_eval.mean_return == pytest.approx(0.99)
