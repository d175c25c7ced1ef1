"""Options: SMDP and intra-option Q-learning and option-critic (tabular and deep) pinned against
hand-computed updates on a 3-state chain, the four-rooms dynamics and its hallway options, and
learning through `rlrun`."""

from __future__ import annotations

import json
from dataclasses import replace as dataclass_replace

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env

from rlrun.agents.hierarchical.config import (
    DeepOptionCriticConfig,
    IntraOptionQLearningConfig,
    OptionCriticConfig,
    SMDPQLearningConfig,
)
from rlrun.agents.hierarchical.deep_option_critic import DeepOptionCritic, option_targets
from rlrun.agents.hierarchical.option_critic import OptionCritic
from rlrun.agents.hierarchical.options_q import IntraOptionQLearning, SMDPQLearning
from rlrun.envs.four_rooms import FourRooms, hallway_options, state_index
from rlrun.envs.options import MOVES, OptionSet
from rlrun.errors import ConfigError
from rlrun.exploration.config import EpsilonGreedyConfig
from rlrun.transition import Spaces, Transition
from tests.conftest import run_cli, run_ok

LEFT, RIGHT, GO_RIGHT = 0, 1, 2  # the chain's two actions, then its one option


def chain_options() -> OptionSet:
    """On states 0, 1, 2: 'go right' may start in 0 or 1, moves right, and ends in 2."""
    return OptionSet(
        policy=np.array([[RIGHT, RIGHT, RIGHT]]),
        termination=np.array([[0.0, 0.0, 1.0]]),
        initiation=np.array([[True, True, False]]),
        names=("go_right",),
    )


def chain_learner(cls, config, **kwargs):
    kwargs.setdefault("options", "tests.test_options:chain_options")
    cfg = config(learning_rate=0.5, gamma=0.9, **kwargs)
    greedy = EpsilonGreedyConfig(name="epsilon_greedy", schedule="constant", start=0.0, end=0.0)
    spaces = Spaces(gym.spaces.Discrete(3), gym.spaces.Discrete(2), 1, 100)
    return cls(cfg, greedy, spaces, seed=0)


def step(s: int, a: int, r: float, s2: int, terminated: bool = False) -> Transition:
    return Transition(
        np.array([s]), np.array([a]), np.array([r]), np.array([s2]),
        np.array([terminated]), np.array([False]),
    )  # fmt: skip


def test_smdp_q_learns_once_from_the_whole_option():
    agent = chain_learner(SMDPQLearning, SMDPQLearningConfig)
    agent.q[0] = [0.0, 0.0, 1.0]  # the option is the greedy choice in state 0
    agent.q[2] = [0.5, 0.3, 9.0]  # 9.0: the option cannot start in 2, so it is no bootstrap
    assert agent.act(np.array([0]), explore=True).tolist() == [RIGHT]
    agent.observe(step(0, RIGHT, 1.0, 1), 1)
    assert agent.q[0, GO_RIGHT] == 1.0  # still running (beta(1) = 0): nothing learned yet
    assert agent.act(np.array([1]), explore=True).tolist() == [RIGHT]
    agent.observe(step(1, RIGHT, 2.0, 2), 2)
    # r = 1 + 0.9 * 2 = 2.8 over k = 2 steps; target 2.8 + 0.9^2 * max(0.5, 0.3) = 3.205
    assert agent.q[0, GO_RIGHT] == pytest.approx(1.0 + 0.5 * (3.205 - 1.0))
    assert agent.q[1].tolist() == [0.0, 0.0, 0.0]  # SMDP learns only where options start
    assert agent.running.tolist() == [-1]


def test_intra_option_q_updates_every_option_consistent_with_the_step():
    agent = chain_learner(IntraOptionQLearning, IntraOptionQLearningConfig)
    agent.q[1] = [0.1, 0.7, 0.4]
    agent.act(np.array([0]), explore=True)
    agent.observe(step(0, RIGHT, 1.0, 1), 1)
    # the option continues in 1 (beta = 0): U = Q(1, go_right) = 0.4, target 1 + 0.9 * 0.4
    assert agent.q[0, GO_RIGHT] == pytest.approx(0.5 * 1.36)
    # the primitive 'right' ends at once: U = max_o Q(1, o) = 0.7, target 1 + 0.9 * 0.7
    assert agent.q[0, RIGHT] == pytest.approx(0.5 * 1.63)
    assert agent.q[0, LEFT] == 0.0  # 'left' would not have moved right
    agent.q[2] = [0.5, 0.3, 9.0]
    agent.observe(step(1, RIGHT, 2.0, 2, terminated=True), 2)
    # a terminal step: the target is the reward alone, for both consistent options
    assert agent.q[1, GO_RIGHT] == pytest.approx(0.4 + 0.5 * (2.0 - 0.4))
    assert agent.q[1, RIGHT] == pytest.approx(0.7 + 0.5 * (2.0 - 0.7))
    assert agent.q[1, LEFT] == 0.1


def test_intra_option_bootstraps_from_the_best_available_option_where_it_ends():
    agent = chain_learner(IntraOptionQLearning, IntraOptionQLearningConfig)
    agent.q[2] = [0.5, 0.3, 9.0]
    agent.act(np.array([1]), explore=True)
    agent.observe(step(1, RIGHT, 2.0, 2), 1)
    # beta(2) = 1: U = max over the options that may start in 2 (not go_right): 0.5
    assert agent.q[1, GO_RIGHT] == pytest.approx(0.5 * (2.0 + 0.9 * 0.5))


def test_deterministic_play_runs_the_greedy_option_until_it_ends():
    agent = chain_learner(SMDPQLearning, SMDPQLearningConfig)
    agent.q[:2] = [[0.0, 0.0, 1.0], [0.0, 0.0, 1.0]]
    agent.q[1] = [5.0, 0.0, 1.0]  # re-chosen in 1, 'left' would win
    agent.end_episodes(np.ones(1, dtype=bool))
    assert agent.act(np.array([0]), explore=False).tolist() == [RIGHT]
    assert agent.act(np.array([1]), explore=False).tolist() == [RIGHT]  # still go_right
    agent.end_episodes(np.ones(1, dtype=bool))  # a new episode: choose again
    assert agent.act(np.array([1]), explore=False).tolist() == [LEFT]


def test_options_that_do_not_fit_the_env_are_one_line_errors():
    with pytest.raises(ConfigError, match=r"^agent.options: cannot load 'nowhere:x'"):
        SMDPQLearning(
            SMDPQLearningConfig(options="nowhere:x"),
            EpsilonGreedyConfig(name="epsilon_greedy"),
            Spaces(gym.spaces.Discrete(3), gym.spaces.Discrete(2), 1, 100),
        )
    with pytest.raises(ConfigError, match=r"^agent.options: .* over 3 states but this env has 5"):
        SMDPQLearning(
            SMDPQLearningConfig(options="tests.test_options:chain_options"),
            EpsilonGreedyConfig(name="epsilon_greedy"),
            Spaces(gym.spaces.Discrete(5), gym.spaces.Discrete(2), 1, 100),
        )
    with pytest.raises(ConfigError, match=r"^agent.primitive: with agent.options=null"):
        chain_learner(SMDPQLearning, SMDPQLearningConfig, options=None, primitive=False)
    with pytest.raises(ConfigError, match=r"^agent.primitive: some states start no option"):
        chain_learner(SMDPQLearning, SMDPQLearningConfig, primitive=False)


def test_four_rooms_moves_as_intended_two_thirds_of_the_time():
    env = FourRooms()
    check_env(env)
    centre = state_index()[(3, 3)]
    env.reset(seed=0)
    ends = []
    for _ in range(9000):
        env.state = centre
        s, *_ = env.step(3)  # right
        ends.append(env.cells[s].tolist())
    share = {cell: ends.count(list(cell)) / len(ends) for cell in {tuple(e) for e in ends}}
    assert share[(3, 4)] == pytest.approx(2 / 3, abs=0.02)
    for cell in ((2, 3), (4, 3), (3, 2)):  # up, down, left: 1/9 each
        assert share[cell] == pytest.approx(1 / 9, abs=0.015)
    env.state = state_index()[(1, 1)]
    env.slip = 0.0
    assert env.step(0)[0] == env.state  # into the wall: stays
    env.state = state_index()[(6, 9)]  # above the goal (the east hallway)
    assert env.step(1)[1:3] == (1.0, True)


def test_each_hallway_option_leads_from_its_room_to_its_hallway():
    options = hallway_options()
    cells = list(state_index())
    assert options.n == 8
    assert sorted(int(n) for n in options.initiation.sum(axis=1)) == [
        21,
        21,
        26,
        26,
        26,
        26,
        31,
        31,
    ]
    for o in range(options.n):
        target = tuple(int(x) for x in options.names[o].split("_to_")[1].split("_"))
        for s in np.flatnonzero(options.initiation[o]):
            steps = 0
            while options.termination[o, s] == 0.0:
                r, c = np.add(cells[s], MOVES[options.policy[o, s]])
                s, steps = state_index()[(int(r), int(c))], steps + 1
                assert steps <= 12  # a shortest path in a room of at most 6 x 5 cells
            assert cells[s] == target, options.names[o]


@pytest.mark.parametrize("agent", ["smdp_q", "intra_option_q"])
def test_options_agents_reach_the_hallway_goal(tmp_path, agent):
    run_dir = tmp_path / "run"
    scalars = run_ok(
        f"agent={agent}",
        "env=four_rooms",
        "total_timesteps=20000",
        "eval.every_steps=10000",
        "eval.episodes=20",
        "logger.progress=false",
        run_dir=run_dir,
    )
    assert {"charts/option_length", "charts/option_share", "charts/epsilon"} <= set(scalars)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["final_eval"]["mean_return"] == 1.0
    assert summary["final_eval"]["mean_length"] < 30  # about 15 steps from a random start


def test_a_bad_options_path_from_the_command_line_is_one_line(tmp_path):
    proc = run_cli(
        "agent=smdp_q", "env=frozenlake", f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path
    )
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0, proc.stderr
    assert "hallway_options gives options over 104 states but this env has 16" in proc.stderr


def option_critic(**kwargs):
    cfg = OptionCriticConfig(
        learning_rate=0.5, gamma=0.9, n_options=2, intra_lr=0.25, termination_lr=0.25,
        temperature=1.0, **kwargs,
    )  # fmt: skip
    greedy = EpsilonGreedyConfig(name="epsilon_greedy", schedule="constant", start=0.0, end=0.0)
    return OptionCritic(cfg, greedy, Spaces(gym.spaces.Discrete(3), gym.spaces.Discrete(2), 1, 100))


def test_option_critic_updates_critic_actor_and_termination_by_hand():
    agent = option_critic(deliberation_cost=0.1)
    agent.q[0] = [0.2, 0.0]  # Q(s, o)
    agent.q[1] = [0.4, 1.0]
    agent.q_action[0 * 2 + 0, RIGHT] = 0.6  # Q(0, o=0, right)
    assert agent.act(np.array([0]), explore=True).shape == (1,)  # greedy: option 0
    assert agent.running.tolist() == [0]
    agent.observe(step(0, RIGHT, 1.0, 1), 1)
    # beta_0(1) = sigmoid(0) = 1/2: U = 0.5 * 0.4 + 0.5 * max(0.4, 1.0) = 0.7; target 1.63
    assert agent.q[0, 0] == pytest.approx(0.2 + 0.5 * (1.63 - 0.2))
    assert agent.q_action[0, RIGHT] == pytest.approx(0.6 + 0.5 * (1.63 - 0.6))
    # actor: advantage Q(0, 0, right) - Q(0, 0) = 0.4 before the update, pi = (1/2, 1/2):
    # theta += 0.25 * 0.4 * (onehot(right) - pi)
    np.testing.assert_allclose(agent.preferences[0, 0], [-0.05, 0.05])
    np.testing.assert_allclose(agent.preferences[1], 0.0)  # the other option: untouched
    # termination: Q(1, 0) - V(1) + xi = 0.4 - 1.0 + 0.1 = -0.5 < 0, so ending option 0 in
    # state 1 is better and beta rises: vartheta -= 0.25 * (1/2 * 1/2) * -0.5
    assert agent.termination_logits[0, 1] == pytest.approx(0.03125)
    assert agent.running.tolist() in ([0], [-1])  # ended with probability 1/2

    agent.running[:] = 0
    agent.q[2] = [9.0, 9.0]  # after a terminal step nothing is bootstrapped
    agent.observe(step(1, LEFT, 2.0, 2, terminated=True), 2)
    assert agent.q[1, 0] == pytest.approx(0.4 + 0.5 * (2.0 - 0.4))
    assert agent.termination_logits[0, 2] == 0.0  # no termination update past the end
    assert agent.running.tolist() == [-1]


def test_option_critic_judges_termination_by_the_values_before_the_step():
    """A bump into a wall (s' = s): the critic's update of Q(1, 0) must not leak into the
    termination advantage, Q(1, 0) - V(1) = 0.4 - 1.0 from before the step."""
    agent = option_critic()
    agent.q[1] = [0.4, 1.0]
    agent.running[:] = 0
    agent.observe(step(1, LEFT, 10.0, 1), 1)  # a large reward: Q(1, 0) jumps above V(1)
    assert agent.q[1, 0] > 1.0
    assert agent.termination_logits[0, 1] == pytest.approx(0.25 * 0.25 * 0.6)  # beta rises


def test_option_critic_plays_the_greedy_option_until_it_likely_ends():
    agent = option_critic()
    agent.q[:, 1] = 1.0  # option 1 is greedy everywhere
    agent.preferences[1, :, LEFT] = 1.0
    agent.termination_logits[1] = [-5.0, -5.0, 5.0]  # ends in state 2 only
    agent.preferences[0, :, RIGHT] = 1.0
    agent.end_episodes(np.ones(1, dtype=bool))
    assert agent.act(np.array([0]), explore=False).tolist() == [LEFT]
    agent.q[1, 0] = 2.0  # option 0 is now greedy in 1, but option 1 has not ended
    assert agent.act(np.array([1]), explore=False).tolist() == [LEFT]
    agent.q[2, 0] = 2.0
    assert agent.act(np.array([2]), explore=False).tolist() == [RIGHT]  # ended: option 0


def test_option_critic_reaches_the_hallway_goal(tmp_path):
    run_dir = tmp_path / "run"
    scalars = run_ok(
        "agent=option_critic", "env=four_rooms", "total_timesteps=30000",
        "eval.every_steps=10000", "eval.episodes=20", "logger.progress=false",
        run_dir=run_dir,
    )  # fmt: skip
    tags = {"charts/option_length", "options/0/usage", "options/3/termination", "options/1/length"}
    assert tags <= set(scalars)
    usage = sum(scalars[f"options/{k}/usage"][-1][1] for k in range(4))
    assert usage == pytest.approx(1.0)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["final_eval"]["mean_return"] == 1.0
    assert summary["final_eval"]["mean_length"] < 40  # about 15 steps from a random start


def test_four_rooms_goal_moves_after_so_many_episodes():
    env = FourRooms(goal_moves_to=[10, 9], goal_moves_after=2)
    for goal in ([7, 9], [7, 9], [10, 9], [10, 9]):
        env.reset(seed=0)
        assert env.cells[env.goal].tolist() == goal
    with pytest.raises(ValueError, match="goal_moves_to and goal_moves_after together"):
        FourRooms(goal_moves_after=3)


def deep_option_critic(n_envs: int = 1, **kwargs) -> DeepOptionCritic:
    """Deep option-critic on the 3-state chain with linear heads on one-hot states (no hidden
    layer): Q(s, o) = W_q[o, s], beta_o(s) = sigmoid(W_beta[o, s]), logits W_pi[o * 2 + a, s]."""
    cfg = DeepOptionCriticConfig(
        **{"gamma": 0.9, "n_options": 2, "batch_size": 1, "net_arch": [], "ent_coef": 0.0, **kwargs}
    )
    greedy = EpsilonGreedyConfig(name="epsilon_greedy", schedule="constant", start=0.0, end=0.0)
    spaces = Spaces(gym.spaces.Discrete(3), gym.spaces.Discrete(2), n_envs, 100)
    agent = DeepOptionCritic(cfg, greedy, spaces, torch.device("cpu"))
    for net in (agent.net, agent.target_net):
        for layer in (net.q, net.termination, net.policies):
            torch.nn.init.zeros_(layer.weight)
            torch.nn.init.zeros_(layer.bias)
    return agent


def set_q(net, q: list[list[float]]) -> None:
    with torch.no_grad():
        net.q.weight.copy_(torch.tensor(q).T)  # q[s][o]


def test_deep_option_critic_losses_and_gradients_by_hand():
    agent = deep_option_critic(deliberation_cost=0.1, ent_coef=0.1, temperature=2.0)
    set_q(agent.net, [[0.2, 0.0], [0.4, 1.0], [0.0, 0.0]])
    set_q(agent.target_net, [[0.0, 0.0], [0.0, 2.0], [0.0, 0.0]])  # the bootstrap's network
    with torch.no_grad():
        agent.net.termination.weight[0, 1] = np.log(3.0)  # online beta_0(1) = 3/4
        agent.target_net.termination.weight[:] = -5.0  # the target's betas are never used
        agent.net.policies.weight[0 * 2 + RIGHT, 0] = 2 * np.log(3.0)  # / 2: pi_0(.|0) = (1/4, 3/4)
    t = step(0, RIGHT, 1.0, 1)
    options = np.array([0])
    loss = agent.actor_loss(t, options)
    # U = 1/4 Q'(1, 0) + 3/4 max Q'(1, .) = 1.5; g = 1 + 0.9 * 1.5 = 2.35; advantage
    # g - Q(0, 0) = 2.15; policy loss -log(3/4) 2.15 - 0.1 H(1/4, 3/4); termination: beta_0(1)
    # (Q(1, 0) - V(1) + xi) = 3/4 (0.4 - 1.0 + 0.1), from the online network
    pi = np.array([0.25, 0.75])
    entropy = -(pi * np.log(pi)).sum()
    expected = -np.log(0.75) * 2.15 - 0.1 * entropy + 0.75 * -0.5
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    loss.backward()
    # d/dlogits = (1 / temperature) [(pi - onehot(right)) 2.15 + 0.1 pi (log pi + H)]
    dz = (pi - [0.0, 1.0]) * 2.15 + 0.1 * pi * (np.log(pi) + entropy)
    np.testing.assert_allclose(agent.net.policies.weight.grad[:, 0], [*(dz / 2), 0, 0], rtol=1e-5)
    # d/dW_beta[0, 1] of sigmoid(w) * -0.5 = 3/16 * -0.5: gradient descent raises beta_0(1)
    np.testing.assert_allclose(
        agent.net.termination.weight.grad, [[0, -0.09375, 0], [0, 0, 0]], rtol=1e-6
    )
    assert agent.net.q.weight.grad is None  # the critic's loss is its own

    agent.net.zero_grad()
    agent.buffer.add(dataclass_replace(t, action=options), 0.9)
    critic = agent.critic_loss()
    assert critic.item() == pytest.approx(0.5 * (0.2 - 2.35) ** 2, rel=1e-6)
    critic.backward()
    np.testing.assert_allclose(agent.net.q.weight.grad, [[0.2 - 2.35, 0, 0], [0, 0, 0]], rtol=1e-6)


def test_option_targets_bootstrap_through_truncation_not_termination():
    q_target = torch.tensor([[1.0, 3.0], [1.0, 3.0]])  # Q'(s', .) of two rows
    beta = torch.tensor([0.5, 0.5])
    options = torch.tensor([0, 0])
    g = option_targets(
        torch.tensor([1.0, 1.0]), torch.tensor([0.0, 1.0]), 0.9, q_target, beta, options
    )
    # row 0 (truncated, or going on): 1 + 0.9 (1/2 * 1 + 1/2 * 3); row 1 (terminated): 1
    np.testing.assert_allclose(g, [2.8, 1.0])


def test_deep_option_critic_averages_over_envs_and_ends_options_at_truncation():
    agent = deep_option_critic(n_envs=2)
    agent.act(np.array([0, 1]), explore=True)
    # env 0's episode is cut by the time limit, env 1's goes on
    t = Transition(
        np.array([0, 1]), np.array([RIGHT, LEFT]), np.array([1.0, 0.0]), np.array([1, 0]),
        np.array([False, False]), np.array([True, False]),
    )  # fmt: skip
    options = agent.running.copy()
    agent.observe(t, 2)
    assert agent.running[0] == -1  # a truncated episode's option ends with it
    # all values 0, pi uniform: the advantages are g = r, the policy loss their mean * log 2;
    # neither episode terminated: beta = 1/2 times the deliberation cost (0.01) in each
    expected = np.log(2) * (1.0 + 0.0) / 2 + 0.5 * 0.01
    assert agent.actor_loss(t, options).item() == pytest.approx(expected, rel=1e-6)


def test_deep_option_critic_update_schedule():
    """Nothing before learning_starts; the actor every step after; the critic every train_freq
    env steps; the target copied every target_update_interval env steps."""
    agent = deep_option_critic(learning_starts=2, train_freq=4, target_update_interval=3)
    set_q(agent.net, [[1.0, 0.0], [0.0, 0.0], [0.0, 0.0]])

    def one_step(step_no: int) -> None:
        agent.act(np.array([0]), explore=True)
        agent.observe(step(0, RIGHT, 2.0, 1), step_no)  # advantage 2 - Q(0, 0) = 1
        agent.update(step_no)

    def weights():
        return [agent.net.q.weight.clone(), agent.net.policies.weight.clone()]

    before = weights()
    one_step(1)  # before learning_starts: nothing learns
    assert all(torch.equal(a, b) for a, b in zip(before, weights(), strict=True))
    one_step(3)  # the actor learns, the critic waits for step 4; the target copies at 3
    after = weights()
    assert torch.equal(after[0], before[0]) and not torch.equal(after[1], before[1])
    assert torch.equal(agent.target_net.q.weight, agent.net.q.weight)
    one_step(4)  # the critic's minibatch
    assert not torch.equal(agent.net.q.weight, after[0])
    assert not torch.equal(agent.target_net.q.weight, agent.net.q.weight)  # next copy at 6


def test_deep_option_critic_stops_bootstrapping_and_terminating_at_a_terminal_state():
    agent = deep_option_critic(deliberation_cost=0.1)
    set_q(agent.target_net, [[0.0, 0.0], [0.0, 0.0], [5.0, 5.0]])
    set_q(agent.net, [[0.0, 0.0], [0.0, 0.0], [0.0, 3.0]])
    loss = agent.actor_loss(step(1, LEFT, 2.0, 2, terminated=True), np.array([0]))
    assert loss.item() == pytest.approx(2.0 * np.log(2), rel=1e-6)  # g = r; no termination term
    loss.backward()
    assert agent.net.termination.weight.grad.abs().sum() == 0


def test_deep_option_critic_runs_its_option_until_it_stops():
    agent = deep_option_critic()
    set_q(agent.net, [[0.0, 1.0], [0.0, 1.0], [0.0, 1.0]])  # option 1 is greedy
    with torch.no_grad():
        agent.net.termination.weight[1] = torch.tensor([-20.0, -20.0, 20.0])  # ends in 2 only
        agent.net.policies.weight[1 * 2 + LEFT] = 5.0  # option 1 goes left
    agent.act(np.array([0]), explore=True)
    assert agent.running.tolist() == [1]
    agent.observe(step(0, LEFT, 0.0, 1), 1)
    assert agent.running.tolist() == [1]  # beta_1(1) ~ 0: it goes on
    agent.observe(step(1, LEFT, 0.0, 2), 2)
    assert agent.running.tolist() == [-1]  # beta_1(2) ~ 1: it ended
    # deterministic play: the greedy option's likeliest action
    agent.end_episodes(np.ones(1, dtype=bool))
    assert agent.act(np.array([0]), explore=False).tolist() == [LEFT]


def test_deep_option_critic_balances_cartpole(tmp_path):
    """A short run learns (random play lasts ~22 steps) and logs the per-option statistics."""
    run_dir = tmp_path / "run"
    scalars = run_ok(
        "agent=deep_option_critic", "env=cartpole", "total_timesteps=15000",
        "eval.every_steps=15000", "eval.episodes=10", "logger.progress=false",
        run_dir=run_dir,
    )  # fmt: skip
    tags = {
        "charts/option_length", "options/1/usage", "options/1/termination", "charts/epsilon",
        "losses/policy_loss", "losses/termination_loss", "losses/td_loss",
    }  # fmt: skip
    assert tags <= set(scalars)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["final_eval"]["mean_return"] > 60
