"""The real `rlrun` command in a subprocess: help, errors, runs, sweeps, what TensorBoard shows."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

import rlrun.validate  # noqa: F401  (registers every component)
from rlrun.config.registry import AGENTS, BONUSES, ENCODERS, EXPLORATIONS

from .conftest import ROOT, TINY, get, read_scalars, run_cli, run_ok, tensorboard_server


def test_help_lists_groups(tmp_path):
    """(That --help imports no torch: tests/test_architecture.py.)"""
    proc = run_cli("--help", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    envs = sorted(p.stem for p in (ROOT / "conf" / "env").glob("*.yaml"))
    for group, options in (
        ("agent", sorted(AGENTS)),
        ("exploration", sorted([*EXPLORATIONS, "auto"])),
        ("bonus", sorted(BONUSES)),
        ("encoder", sorted(ENCODERS)),
        ("env", envs),
    ):
        assert f"{group}: {', '.join(options)}" in proc.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["agent=nope"],
            "agent=nope: no such option; choose one of: a2c, ",
        ),
        (
            ["-m", "--cfg", "job"],
            "Only one of --run, --multirun, --cfg, --info and --shell_completion",
        ),
        (
            ["agent.lr=0.1"],
            "agent.lr: unknown key; did you mean 'agent.learning_rate'?",
        ),
        (["agent.gamma=1.5"], "agent.gamma: must be <= 1, got 1.5"),
        (["env.num_envs=0"], "env.num_envs: must be > 0, got 0"),
        (
            ["agent=qlearning", "env=cartpole"],
            "agent 'qlearning' needs discrete observations",
        ),
        (
            ["agent=dqn", "env=pendulum"],
            "agent 'dqn' needs discrete actions",
        ),
        (["agent=ppo", "exploration=boltzmann"], "cannot use exploration=boltzmann"),
        (["env=custom", "env.id=NoSuchEnv-v0"], "env.id: cannot make 'NoSuchEnv-v0'"),
        (["device=cuda"], "device: cuda is not available"),
    ],
)
def test_bad_input_is_one_line_error_with_exit_2(tmp_path, args, message):
    proc = run_cli(*args, *TINY, cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("rlrun: error: ") and message in lines[0]


def test_cfg_job_prints_the_config_without_training(tmp_path):
    proc = run_cli("agent=dqn", "env=cartpole", "--cfg", "job", cwd=tmp_path)
    assert proc.returncode == 0
    cfg = yaml.safe_load(proc.stdout)
    assert cfg["agent"]["train_freq"] == 256  # the preset was applied
    assert not (tmp_path / "outputs").exists()


def test_single_run_writes_events_config_and_summary(tmp_path):
    run_dir = tmp_path / "run"
    proc = run_cli(
        "agent=qlearning",
        "env=frozenlake",
        *TINY,
        f"hydra.run.dir={run_dir}",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "rlrun summary" in proc.stdout
    scalars = read_scalars(run_dir)
    for tag in (
        "charts/episodic_return",
        "charts/episodic_length",
        "charts/SPS",
        "charts/epsilon",
        "losses/td_loss",
        "losses/q_values",
        "eval/mean_return",
        "eval/std_return",
        "eval/mean_length",
        "eval/success_rate",
    ):
        assert scalars.get(tag), f"{tag} missing from the event file"
    assert [step for step, _ in scalars["eval/mean_return"]] == [1000, 2000, 3000]
    epsilon = [v for _, v in scalars["charts/epsilon"]]
    assert epsilon == sorted(epsilon, reverse=True) and epsilon[0] < 1.0  # decays
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["steps"] == 3000
    assert summary["final_eval"]["episodes"] == 4
    assert summary["objective"] == summary["final_eval"]["mean_return"]
    assert scalars["eval/mean_return"][-1][1] == pytest.approx(summary["objective"])
    composed = yaml.safe_load((run_dir / ".hydra" / "config.yaml").read_text())
    assert composed["agent"]["name"] == "qlearning"


ON_POLICY_TAGS = (
    "losses/policy_loss",
    "losses/value_loss",
    "losses/entropy",
    "losses/approx_kl",
    "losses/explained_variance",
    "charts/learning_rate",
    "charts/episodic_return",
    "charts/SPS",
    "eval/mean_return",
)


@pytest.mark.parametrize(
    ("agent", "env", "extra_tags"),
    [
        ("ppo", "cartpole", ["losses/clipfrac"]),
        ("a2c", "acrobot", []),
        ("reinforce", "frozenlake", ["eval/success_rate"]),
        ("ppo", "pendulum", ["losses/clipfrac"]),
        ("a2c", "mountaincar_continuous", []),
    ],
)
def test_on_policy_agents_run_and_log_their_tags(tmp_path, agent, env, extra_tags):
    run_dir = tmp_path / "run"
    # 2 envs whatever the pair's preset says: 3000 steps must hold whole episodes
    overrides = (*TINY, "agent.n_steps=128", "env.num_envs=2")
    scalars = run_ok(f"agent={agent}", f"env={env}", *overrides, run_dir=run_dir)
    for tag in (*ON_POLICY_TAGS, *extra_tags):
        assert scalars.get(tag), f"{tag} missing"
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "completed"


def test_module_colon_id_imports_the_module(tmp_path):
    proc = run_cli(
        "agent=qlearning",
        "env=custom",
        "env.id=tests.envs:ForeverTimeLimitDiscrete-v0",
        *TINY,
        f"hydra.run.dir={tmp_path / 'run'}",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["objective"] == 5.0


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    """A real multirun of three jobs, the middle one failing validation."""
    cwd = tmp_path_factory.mktemp("sweep")
    proc = run_cli(
        "-m",
        "agent=qlearning",
        "env=frozenlake",
        "agent.gamma=0.9,1.5,0.99",
        *TINY,
        "hydra.sweep.dir=sweep",
        cwd=cwd,
    )
    return proc, cwd / "sweep"


def test_multirun_keeps_going_past_a_failed_job(sweep):
    proc, sweep_dir = sweep
    assert proc.returncode == 1
    assert "job failed #1 (agent=qlearning env=frozenlake agent.gamma=1.5" in proc.stderr
    assert "agent.gamma: must be <= 1, got 1.5" in proc.stderr
    assert "1 job(s) failed (#1)" in proc.stderr
    jobs = sorted(p for p in sweep_dir.iterdir() if p.is_dir())
    assert [p.name.split("_")[0] for p in jobs] == ["0", "1", "2"]
    status = [json.loads((p / "summary.json").read_text())["status"] for p in jobs]
    assert status == ["completed", "failed", "completed"]
    for job in (jobs[0], jobs[2]):
        assert read_scalars(job)["eval/mean_return"]


def test_tensorboard_server_shows_every_job_with_hparams(sweep):
    _, sweep_dir = sweep
    with tensorboard_server(sweep_dir, runs=2) as base:
        runs = get(f"{base}/data/runs")
        completed = sorted(r for r in runs if not r.startswith("1_"))
        assert len(completed) == 2, runs
        tags = get(f"{base}/data/plugin/scalars/tags")
        assert "eval/mean_return" in tags[completed[0]]
        points = get(f"{base}/data/plugin/scalars/scalars?run={completed[0]}&tag=eval/mean_return")
        assert [p[1] for p in points] == [1000, 2000, 3000]
        experiment = get(f"{base}/data/plugin/hparams/experiment", {"experimentName": ""})
        names = {h["name"] for h in experiment["hparamInfos"]}
        assert {"agent.gamma", "agent.learning_rate", "env.id", "seed"} <= names
        metrics = {m["name"]["tag"] for m in experiment["metricInfos"]}
        assert "eval/mean_return" in metrics
        sessions = get(
            f"{base}/data/plugin/hparams/session_groups",
            {
                "experimentName": "",
                "allowedStatuses": ["STATUS_SUCCESS"],
                "colParams": [],
                "startIndex": 0,
                "sliceSize": 100,
            },
        )
        gammas = sorted(g["hparams"]["agent.gamma"] for g in sessions["sessionGroups"])
        assert gammas == [0.9, 0.99]


def test_long_job_directory_names_are_cut_with_a_hash():
    from rlrun.cli import MAX_DIRNAME, short_dirname

    assert short_dirname("agent=ppo,seed=1") == "agent=ppo,seed=1"
    a = ",".join(f"agent.key_{i}={i}" for i in range(30))
    b = a.replace("=29", "=28")
    assert len(short_dirname(a).encode()) == MAX_DIRNAME
    assert short_dirname(a).startswith(a[:100])
    assert short_dirname(a) != short_dirname(b)  # same prefix, different overrides
