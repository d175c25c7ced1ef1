"""Bad input, tried as a new user would: each command line ends in ONE line on stderr that starts
with `rlrun: error: ` and the words below, exit code 2, no traceback, nothing trained.

Also what the machine does to a run: a run directory in use by another process, an output
directory that cannot be written, a disk that fills during a checkpoint (a per-process file-size
limit, the way a quota stops a write): the previous checkpoint stays whole and the error says so.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import ROOT, TINY, run_cli

# (command line, what the one error line starts with after "rlrun: error: ")
BAD_INPUTS = [
    # config groups and their options
    ("agent=nope", "agent=nope: no such option; choose one of: a2c, "),
    (
        "env=nope",
        "env=nope: no such option; choose one of: acrobot, ant, atari, bernoulli_bandit, "
        "bipedalwalker, blocking_maze, breakout, cartpole",
    ),
    ("exploration=nope", "exploration=nope: no such option; choose one of: auto, boltzmann"),
    (
        "hyperparams=nosuch",
        "hyperparams=nosuch: no such option; choose one of: a2c_acrobot, a2c_atari, "
        "a2c_bipedalwalker",
    ),
    ("bonus=nope", "bonus=nope: no such option; choose one of: count, simhash"),
    ("encoder=nope", "encoder=nope: no such option; choose one of: auto, flatten, nature_cnn"),
    ("bonus=null", "bonus=null: a config group cannot be set to null; leave it out"),
    ("hparams_search=ppo", "hparams_search: a search runs many jobs; add -m"),
    ("-m --cfg job", "Only one of --run, --multirun, --cfg"),
    # keys and values
    ("agent.lr=0.1", "agent.lr: unknown key; did you mean 'agent.learning_rate'?"),
    ("foo=3", "foo: unknown key; valid keys: agent, agents, bonus, checkpoint"),
    ("+foo=3", "foo: unknown key; valid keys: agent, agents, bonus, checkpoint"),
    ("bonus.beta=0.1", "bonus.beta: no bonus is chosen; choose one first: bonus=count"),
    ("env.kwargs.nosuch=1", "env.kwargs.nosuch: not an argument this env config sets; pass it"),
    ("agent.gamma=1.5", "agent.gamma: must be <= 1, got 1.5"),
    ("agent.gamma=abc", "agent.gamma: Value 'abc' of type 'str' could not be converted"),
    ("env.num_envs=0", "env.num_envs: must be > 0, got 0"),
    ("env.num_envs=abc", "env.num_envs: Value 'abc' of type 'str' could not be converted"),
    ("seed=-1", "seed: must be >= 0, got -1"),
    ("total_timesteps=0", "total_timesteps: must be > 0, got 0"),
    ("torch_threads=0", "torch_threads: must be > 0, got 0"),
    ("eval.every_steps=0", "eval.every_steps: must be > 0, got 0"),
    ("eval.every_steps=abc", "eval.every_steps: Value 'abc' of type 'str' could not be"),
    ("eval.episodes=0", "eval.episodes: must be > 0, got 0"),
    ("eval.seed=-1", "eval.seed: must be >= 0, got -1"),
    ("checkpoint.keep=0", "checkpoint.keep: must be >= 1, got 0"),
    ("checkpoint.keep=abc", "checkpoint.keep: Value 'abc' of type 'str' could not be converted"),
    ("video.format=avi", "video.format: got 'avi'; choose one of: gif, mp4"),
    ("logger.log_every_steps=0", "logger.log_every_steps: must be > 0, got 0"),
    ("agent.net_arch=[0]", "agent.net_arch: must be > 0, got 0"),
    ("agent.net_arch=[a]", "agent.net_arch[0]: Value 'a' of type 'str' could not be converted"),
    ("agent.activation=sigmoid", "agent.activation: got 'sigmoid'; choose one of: relu, tanh"),
    ("agent=sac env=pendulum agent.ent_coef=auto_x", "agent.ent_coef: got 'auto_x'; use auto"),
    ("device=tpu", "device: got 'tpu'; use auto, cpu, cuda, cuda:N or mps"),
    ("device=cuda", "device: cuda is not available"),
    ("device=cuda:3", "device: cuda:3 is not available"),
    # envs
    ("env=custom env.id=NoSuchEnv-v0", "env.id: cannot make 'NoSuchEnv-v0'"),
    ("env=frozenlake env.kwargs.map_name=9x9", "env.kwargs: FrozenLake-v1 rejected its arguments"),
    ("env=frozenlake +env.kwargs.nosuch=1", "env.kwargs: FrozenLake-v1 rejected its arguments"),
    ("env.kwargs=nope", "env.kwargs: Cannot assign str to Dict"),
    ("env.wrappers=[1]", "env.wrappers[0]: Cannot assign int to Dict"),
    ("env.wrappers=[{_target_:nosuch.Wrapper}]", "env.wrappers[0]._target_: cannot import"),
    ("env.vectorization=threads", "env.vectorization: got 'threads'; choose one of: sync, async"),
    ("env.success=sometimes", "env.success: got 'sometimes'; choose one of: terminated"),
    # agents and envs, explorations and encoders that do not go together
    ("agent=qlearning env=cartpole", "agent: agent 'qlearning' needs discrete observations"),
    ("agent=dqn env=pendulum", "agent: agent 'dqn' needs discrete actions"),
    ("agent=ppo exploration=boltzmann", "exploration: agent 'ppo' cannot use exploration=boltz"),
    ("agent=sac env=pendulum encoder=flatten", "encoder: agent 'sac' has no encoder choice"),
    # values that cannot work together
    (
        "agent=dqn agent.buffer_size=10 agent.batch_size=64",
        "agent.batch_size: 64 is larger than agent.buffer_size=10",
    ),
    (
        "agent=sac env=pendulum agent.batch_size=512 agent.buffer_size=100",
        "agent.batch_size: 512 is larger than agent.buffer_size=100",
    ),
    (
        "agent=dqn agent.n_step=50 agent.buffer_size=40 agent.batch_size=32",
        "agent.n_step: 50 is larger than agent.buffer_size=40",
    ),
    (
        "agent=dqn agent.n_step=200000",
        "agent.n_step: 200000 is larger than agent.buffer_size=100000",
    ),
    (
        "agent=ars env=pendulum agent.n_delta=4 agent.n_top=6",
        "agent.n_top: 6 is above agent.n_delta=4: use at most 4, or null for all",
    ),
    ("agent=ars agent.policy=rnn", "agent.policy: got 'rnn'; choose one of: linear, mlp"),
    # bandits: the testbed runner and its envs
    ("agent=action_value env=cartpole", "agent: agent 'action_value' needs discrete observations"),
    ("agent=action_value env=frozenlake", "env.id: FrozenLake-v1 has no batched testbed"),
    (
        "agent=action_value env=testbed exploration=thompson exploration.posterior=beta",
        "exploration.posterior: beta needs 0/1 rewards (Bernoulli arms)",
    ),
    (
        "agent=action_value env=testbed total_timesteps=5 env.num_envs=10",
        "total_timesteps: 5 is less than one step of each of env.num_envs=10 problems",
    ),
    (
        "agent=action_value env=testbed env.max_episode_steps=10",
        "env.max_episode_steps: a testbed run takes none",
    ),
    ("agent=action_value env=testbed env.kwargs.k=1", "env.kwargs: rlrun/Bandit-v0 rejected"),
    ("agent=dqn exploration=ucb", "exploration: "),
    (
        "env.episode_metrics=[score,mean_return]",
        "env.episode_metrics[1]: 'mean_return' would be logged over rlrun's own",
    ),
    ("agent=gradient_bandit env=testbed exploration=epsilon_greedy", "exploration: "),
    # files and directories
    ("hydra.run.dir=/proc/rlrun", "hydra.run.dir=/proc/rlrun: cannot write /proc/rlrun"),
    ("-m seed=1,2 hydra.sweep.dir=/proc/rlrun", "hydra.sweep.dir=/proc/rlrun: cannot write"),
    ("resume=nothing", "resume: "),
    ("resume=nothing/checkpoints/step_9.pt", "resume: "),
    ("resume=nothing.pt", "resume: "),
]


def one_error_line(proc: subprocess.CompletedProcess) -> str:
    """The one line a bad input prints, after checking it is one line with exit code 2."""
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("rlrun: error: "), lines[0]
    return lines[0].removeprefix("rlrun: error: ")


def test_the_table_is_long_enough_and_has_no_repeats():
    assert len(BAD_INPUTS) >= 40
    assert len({line for line, _ in BAD_INPUTS}) == len(BAD_INPUTS)


@pytest.mark.parametrize(("line", "expected"), BAD_INPUTS, ids=[c for c, _ in BAD_INPUTS])
def test_bad_input_is_one_line_exit_2_and_trains_nothing(tmp_path, line, expected):
    # the bad overrides come last, to win over TINY's value for the same key; flags first
    words = line.split()
    first = next((i for i, w in enumerate(words) if "=" in w), len(words))
    flags, overrides = words[:first], words[first:]
    own_dir = flags or "dir=" in line or line.startswith("resume=")
    run_dir = [] if own_dir else ["hydra.run.dir=run"]
    proc = run_cli(*flags, *TINY, *run_dir, *overrides, cwd=tmp_path)
    assert one_error_line(proc).startswith(expected)
    assert not list(tmp_path.rglob("events.out.tfevents.*"))
    assert not list(tmp_path.rglob("*.pt"))


@pytest.mark.parametrize(
    ("line", "warning"),
    [
        (
            "agent=ppo agent.n_steps=4 env.num_envs=1 agent.batch_size=1000",
            "agent.batch_size=1000 is larger than a rollout (agent.n_steps=4 x env.num_envs=1 = 4",
        ),
        (
            "agent=ppo agent.n_steps=100 env.num_envs=2 agent.batch_size=64",
            "a rollout of 200 rows (agent.n_steps=100 x env.num_envs=2 = 200) is not a multiple",
        ),
        (
            "agent=ppo agent.n_steps=2048 env.num_envs=2",
            "total_timesteps=3000 is less than one rollout (agent.n_steps=2048 x env.num_envs=2",
        ),
        ("agent=dqn agent.learning_starts=5000", "agent.learning_starts=5000 >= total_timesteps"),
        (
            "agent=action_value env=testbed env.num_envs=7",
            "total_timesteps=3000 is not a multiple of env.num_envs=7: each problem runs 428 steps",
        ),
    ],
)
def test_values_that_waste_the_run_train_with_one_warning(tmp_path, line, warning):
    proc = run_cli(*TINY, "hydra.run.dir=run", *line.split(), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    warnings = [w for w in (proc.stdout + proc.stderr).splitlines() if "WARNING" in w]
    assert len(warnings) == 1 and warning in warnings[0], warnings


def quick_run(run_dir: Path, *extra: str) -> None:
    args = ["agent=qlearning", "env=frozenlake", "checkpoint.every_steps=1000", *TINY, *extra]
    proc = run_cli(*args, f"hydra.run.dir={run_dir}", cwd=run_dir.parent)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_a_disk_that_fills_during_a_checkpoint_keeps_the_last_one(tmp_path):
    run_dir = tmp_path / "run"
    quick_run(run_dir)  # checkpoints at 1000, 2000, 3000; last.pt is step 3000's
    last = run_dir / "checkpoints" / "last.pt"
    good = last.read_bytes()
    limit = len(good) // 2  # a checkpoint no longer fits; the small records still do

    def small_disk() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    exe = Path(sys.executable).with_name("rlrun")
    proc = subprocess.run(
        [str(exe), f"resume={run_dir}", "total_timesteps=5000", "checkpoint.every_steps=500"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        preexec_fn=small_disk,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    line = one_error_line(proc)
    assert line.startswith(f"could not write {run_dir}/checkpoints/step_3500.pt: File too large")
    assert "last.pt (step 3000) is intact; free space and resume" in line
    assert last.read_bytes() == good
    assert not list((run_dir / "checkpoints").glob(".*.tmp"))  # no half-written file left
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "failed" and "could not write" in summary["error"]

    # with space again, the same run resumes from that checkpoint and finishes
    proc = run_cli(f"resume={run_dir}", "total_timesteps=5000", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["resumed_from_step"] == 3000


def test_a_run_directory_in_use_is_refused_and_left_alone(tmp_path):
    run_dir = tmp_path / "run"
    quick_run(run_dir)
    summary = (run_dir / "summary.json").read_bytes()
    exe = Path(sys.executable).with_name("rlrun")
    first = subprocess.Popen(
        [str(exe), f"resume={run_dir}", "total_timesteps=10000000", "logger.progress=false"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        lock = run_dir / ".rlrun.lock"
        provenance = run_dir / "provenance.json"
        while time.monotonic() < deadline and len(json.loads(provenance.read_text())["runs"]) < 2:
            time.sleep(0.1)  # until the resume is accepted and training goes on
        assert lock.read_text().strip() == str(first.pid)
        line = one_error_line(run_cli(f"resume={run_dir}", "total_timesteps=20000", cwd=tmp_path))
        assert line == (
            f"{run_dir} is in use by another rlrun process (pid {first.pid}); "
            "wait for it to end or stop it"
        )
        # a new run into the same directory is refused the same way
        line = one_error_line(run_cli(*TINY, f"hydra.run.dir={run_dir}", cwd=tmp_path))
        assert line.startswith(f"{run_dir} is in use by another rlrun process")
        assert (run_dir / "summary.json").read_bytes() == summary
    finally:
        first.send_signal(signal.SIGINT)
        first.wait(timeout=60)
    # the first one stopped after a checkpoint and let go of the lock: a resume gets as far as
    # the checkpoint (which is past this budget)
    assert json.loads((run_dir / "summary.json").read_text())["status"] == "interrupted"
    line = one_error_line(run_cli(f"resume={run_dir}", "total_timesteps=1000", cwd=tmp_path))
    assert line.startswith("resume: the run already finished"), line
