"""Rock-paper-scissors self-play: the exploitability of two independent Q-learners' average policy.

    python benchmarks/rps_selfplay.py --seeds 3 --steps 300000 [--rounds 15] [overrides...]

`rlrun agent=qlearning env=rps` (PettingZoo's rps_v2) trains one tabular Q-learner per player,
with rlrun's defaults (learning rate 0.1, epsilon 1 -> 0.05 over the first 10% of the steps).
By default an episode is one play (`--rounds 1`): the normal-form game, where a player's only
observation is "no move yet". With more rounds each player observes the other's last move and
its policy depends on it. Every `--every` steps the
benchmark reads each learner's greedy policy (one action per observation) through the runner's
evaluation callback; the average policy is their mean over the run, as fictitious play averages.
Its exploitability is what a best responder gains per play against it, averaged over the two
players: each best response is an exact finite-horizon MDP solve (the responder's last move is
the opponent's observation), so 0 is a Nash equilibrium and 1 a policy beaten at every play.
The greedy policies themselves cycle (each one exploitable); their average is what converges.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from hydra import compose, initialize_config_module

from rlrun.envs.multiagent import parallel_env_factory
from rlrun.experiment import build
from rlrun.validate import validate

ENV_ID = "pettingzoo.classic.rps_v2"
NONE = 3  # rps_v2's observation before the first play


def payoff_matrix() -> np.ndarray:
    """player_0's payoff for each joint action, read from the env itself."""
    make = parallel_env_factory(ENV_ID, {})
    u = np.zeros((3, 3))
    for a in range(3):
        for b in range(3):
            env = make()
            env.reset(seed=0)
            _, rewards, _, _, _ = env.step({"player_0": a, "player_1": b})
            u[a, b] = rewards["player_0"]
    return u


def best_response_value(opponent: np.ndarray, payoff: np.ndarray, rounds: int) -> float:
    """The best average payoff per play against `opponent` (obs -> action probabilities, its
    obs being the responder's last move); `payoff[mine, theirs]`."""
    expected = opponent @ payoff.T  # [responder's last move, its move now]
    value = np.zeros(4)
    for _ in range(rounds):
        value = (expected + value[:3]).max(axis=1)
    return float(value[NONE] / rounds)


def exploitability(policies: dict[str, np.ndarray], payoff: np.ndarray, rounds: int) -> float:
    """What a best responder gains per play, averaged over the two players (`payoff`:
    player_0's, [its action, player_1's])."""
    gain_0 = best_response_value(policies["player_1"], payoff, rounds)
    gain_1 = best_response_value(policies["player_0"], -payoff.T, rounds)
    return (gain_0 + gain_1) / 2


def train(
    seed: int, steps: int, every: int, rounds: int, overrides: list[str], run_dir: Path
) -> tuple[float, float]:
    """(exploitability of the average policy, mean exploitability of the greedy snapshots)."""
    with initialize_config_module("rlrun.conf", version_base="1.3"):
        cfg = compose(
            "config",
            [
                "agent=qlearning",
                "env=rps",
                f"env.kwargs.max_cycles={rounds}",
                *overrides,
                f"seed={seed}",
                f"total_timesteps={steps}",
                f"eval.every_steps={every}",
                "eval.episodes=1",
                "eval.num_envs=1",
                "checkpoint.every_steps=null",
                "logger.progress=false",
            ],
        )
    rc = validate(cfg)
    snapshots: dict[str, list[np.ndarray]] = {"player_0": [], "player_1": []}

    def snapshot(_step: int, _result: object) -> bool:
        for name, learner in runner.team.learners.items():
            snapshots[name].append(np.eye(3)[learner.q.argmax(axis=1)])
        return False

    runner, logger = build(rc, cfg, run_dir, on_eval=snapshot)
    try:
        runner.train()
    finally:
        logger.close()
    payoff, rounds = payoff_matrix(), rc.env.kwargs["max_cycles"]
    average = {name: np.mean(s, axis=0) for name, s in snapshots.items()}
    greedy = np.mean(
        [
            exploitability({n: snapshots[n][i] for n in snapshots}, payoff, rounds)
            for i in range(len(snapshots["player_0"]))
        ]
    )
    return exploitability(average, payoff, rounds), float(greedy)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--steps", type=int, default=300_000)
    p.add_argument("--every", type=int, default=300)
    p.add_argument("--rounds", type=int, default=1, help="plays an episode (env.kwargs.max_cycles)")
    p.add_argument("overrides", nargs="*", help="rlrun overrides, e.g. agent.learning_rate=0.05")
    args = p.parse_args()
    print("| seed | average policy's exploitability | greedy snapshots' (mean) |")
    print("|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.seeds):
            avg, greedy = train(
                seed, args.steps, args.every, args.rounds, args.overrides, Path(tmp) / str(seed)
            )
            print(f"| {seed} | {avg:.4f} | {greedy:.3f} |", flush=True)


if __name__ == "__main__":
    main()
