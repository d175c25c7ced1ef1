"""The pruned Optuna search (rlrun.search): a real study of a few short PPO trials that prunes,
resumes from its storage, and fails in one line on bad settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_module

from rlrun.validate import validate
from tests.conftest import ROOT, compose_config, run_cli

optuna = pytest.importorskip("optuna")

SEARCH = (
    "-m",
    "agent=ppo",
    "env=cartpole",
    "hparams_search=ppo",
    # tiny budgets: 3,000 steps per seed, an evaluation every 500
    "total_timesteps=3000",
    "eval.every_steps=500",
    "eval.episodes=3",
    "eval.num_envs=3",
    "logger.progress=false",
    # two dimensions narrowed from the command line, so no trial takes long
    "agent.n_epochs=choice(1,5)",
    "agent.n_steps=choice(32,64,128)",
    "hydra.sweeper.seeds=2",
    "hydra.sweeper.smoothing=2",
    "hydra.sweeper.n_startup_trials=2",
    "hydra.sweeper.n_warmup_evals=1",
)


def load(sweep_dir: Path):
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(sweep_dir / "optuna.journal"))
    )
    return optuna.load_study(study_name="ppo_cartpole", storage=storage)


def summary(run_dir: str | Path) -> dict:
    return json.loads((Path(run_dir) / "summary.json").read_text())


def search(tmp_path: Path, sweep_dir: Path, *extra: str):
    proc = run_cli(*SEARCH, f"hydra.sweep.dir={sweep_dir}", *extra, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


@pytest.mark.slow
def test_search_prunes_scores_and_resumes(tmp_path):
    sweep = tmp_path / "sweep"
    proc = search(tmp_path, sweep, "hydra.sweeper.n_trials=5")
    study = load(sweep)
    states = optuna.trial.TrialState
    trials = study.get_trials()
    assert [t.state in (states.COMPLETE, states.PRUNED) for t in trials] == [True] * 5
    pruned = [t for t in trials if t.state == states.PRUNED]
    complete = [t for t in trials if t.state == states.COMPLETE]
    assert pruned and complete

    for t in complete:  # the objective: mean over seeds of the mean of the last k evaluations
        dirs = t.user_attrs["run_dirs"]
        assert [Path(d).name for d in dirs] == ["seed_0", "seed_1"]
        scores = []
        for d in dirs:
            s = summary(d)
            assert s["status"] == "completed" and s["search"]["pruned"] is False
            scores.append(sum(e[2] for e in s["evaluations"][-2:]) / 2)
        assert t.value == pytest.approx(sum(scores) / 2)
        assert t.user_attrs["env_steps"] == sum(summary(d)["steps"] for d in dirs)
    for t in pruned:  # stopped early, its run dirs kept, and the summary says why
        last = summary(t.user_attrs["run_dirs"][-1])
        assert last["status"] == "stopped"
        assert last["search"]["pruned"] is True
        assert last["steps"] < 3000
        assert t.user_attrs["env_steps"] < 2 * 3000
        assert t.intermediate_values

    # the choices given on the command line replaced the file's dimensions
    assert {t.params["agent.n_epochs"] for t in trials} <= {1, 5}
    # results: the best trial's overrides on the console, best.yaml and trials.csv
    best = study.best_trial
    assert best.value == max(t.value for t in complete)
    assert f"best trial {best.number}:" in proc.stdout
    best_yaml = (sweep / "best.yaml").read_text()
    assert f"n_steps: {best.params['agent.n_steps']}" in best_yaml
    rows = (sweep / "trials.csv").read_text().splitlines()
    assert len(rows) == 1 + 5 and rows[0].startswith("number,state,value,env_steps")
    # best.yaml is a config: composed after the search's overrides, it gives the best values
    cfg = compose_config(
        "agent=ppo",
        "env=cartpole",
        *(o for o in proc.stdout.split() if o.startswith("agent.")),
    )
    assert cfg.agent.learning_rate == pytest.approx(best.params["agent.learning_rate"])

    # the same command, with a trial left running by a killed process: only the missing trials
    # run, the interrupted one again with its values; the finished ones are kept as they were
    first = {t.number: (t.state, t.params, t.value) for t in trials}
    mtimes = {
        d: os.stat(Path(d) / "summary.json").st_mtime_ns
        for t in trials
        for d in t.user_attrs["run_dirs"]
    }
    study.enqueue_trial(trials[0].params)
    killed = study.ask(trials[0].distributions)  # RUNNING in the storage, as after kill -9
    search(tmp_path, sweep, "hydra.sweeper.n_trials=7")
    trials = load(sweep).get_trials()
    assert {t.number: (t.state, t.params, t.value) for t in trials[:5]} == first
    assert trials[killed.number].state == states.FAIL
    assert trials[killed.number].user_attrs["interrupted"] is True
    rerun = [t for t in trials[killed.number + 1 :] if t.params == killed.params]
    assert len(rerun) == 1 and rerun[0].state in (states.COMPLETE, states.PRUNED)
    done = [t for t in trials if t.state in (states.COMPLETE, states.PRUNED)]
    assert len(done) == 7
    assert all(os.stat(Path(d) / "summary.json").st_mtime_ns == m for d, m in mtimes.items())


@pytest.mark.slow
def test_search_is_deterministic(tmp_path):
    """Sampler seed + run seeds: the same search twice gives the same trials and states."""
    results = []
    for name in ("a", "b"):
        search(tmp_path, tmp_path / name, "hydra.sweeper.n_trials=4")
        results.append(
            [
                (t.params, t.state, t.value, t.intermediate_values)
                for t in load(tmp_path / name).get_trials()
            ]
        )
    assert results[0] == results[1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["hydra.sweeper.pruner=mean"],
            "rlrun: error: hydra.sweeper.pruner: got 'mean'; choose one of: median, none",
        ),
        (["hydra.sweeper.seeds=0"], "rlrun: error: hydra.sweeper.seeds: must be >= 1"),
        (
            ["agent.learning_rate=interval(0.1,0.01)"],
            "rlrun: error: hydra.sweeper.params.agent.learning_rate: need interval(low, high)",
        ),
        (["hydra.sweeper.n_trial=3"], "rlrun: error: "),
        (["env=cartpole,acrobot"], "rlrun: error: env: a pruned search cannot sweep"),
    ],
)
def test_bad_search_config_is_one_line(tmp_path, args, message):
    proc = run_cli(
        "-m",
        "agent=ppo",
        "hparams_search=ppo",
        f"hydra.sweep.dir={tmp_path}/s",
        *args,
        cwd=tmp_path,
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), proc.stderr
    assert not list(tmp_path.glob("s/trial_*"))


def test_missing_optuna_is_one_line(tmp_path):
    fake = tmp_path / "fake" / "optuna"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('no optuna here')\n")
    exe = Path(sys.executable).with_name("rlrun")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "rlrun"]
    proc = subprocess.run(
        [
            *cmd,
            "-m",
            "agent=ppo",
            "hparams_search=ppo",
            f"hydra.sweep.dir={tmp_path}/s",
        ],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": f"{fake.parent}{os.pathsep}{ROOT}"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert (
        proc.stderr.strip()
        == 'rlrun: error: hparams_search needs optuna: pip install -e ".[search]"'
    )


def test_help_imports_neither_optuna_nor_torch():
    code = (
        "import sys; sys.argv = ['rlrun', '--help']\n"
        "from rlrun.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "assert 'hydra_plugins.rlrun_search' in sys.modules, 'sweeper not registered'\n"
        "assert 'optuna' not in sys.modules and 'torch' not in sys.modules\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


FAMILIES = {
    "ppo": ("agent=ppo", "env=cartpole"),
    "a2c": ("agent=a2c", "env=cartpole"),
    "trpo": ("agent=trpo", "env=cartpole"),
    "ars": ("agent=ars", "env=pendulum"),
    "dqn": ("agent=dqn", "env=cartpole"),
    "sac": ("agent=sac", "env=pendulum"),
    "td3": ("agent=td3", "env=pendulum"),
    "qlearning": ("agent=qlearning", "env=frozenlake"),
}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_search_space_gives_valid_configs(family):
    """Each space's keys exist, and its lowest and highest values pass validation."""
    from rlrun.search import distribution, sampled_overrides

    base = (*FAMILIES[family], f"hparams_search={family}")
    with initialize_config_module("rlrun.conf", version_base="1.3"):
        cfg = compose("config", overrides=list(base), return_hydra_config=True)
    params = cfg.hydra.sweeper.params
    assert params and cfg.hydra.sweeper._target_ == "hydra_plugins.rlrun_search.PrunedSweeper"
    for pick in (0, -1):
        values = {}
        for key, spec in params.items():
            d = distribution(key, spec)
            if isinstance(d, optuna.distributions.CategoricalDistribution):
                values[key] = d.choices[pick]
            else:
                values[key] = d.low if pick == 0 else d.high
        validate(compose_config(*base, *sampled_overrides(values)))


def test_distributions_from_hydra_sweep_syntax():
    from rlrun.search import distribution

    d = optuna.distributions
    assert distribution("a", "tag(log, interval(1e-5, 1e-2))") == d.FloatDistribution(
        1e-5, 1e-2, log=True
    )
    assert distribution("a", "interval(0, 1)") == d.FloatDistribution(0.0, 1.0)
    assert distribution("a", "int(interval(1, 9))") == d.IntDistribution(1, 9)
    assert distribution("a", "range(2, 10, 2)") == d.IntDistribution(2, 8, step=2)
    assert distribution("a", "choice([64, 64], [256, 256])").choices == (
        "[64,64]",
        "[256,256]",
    )
    assert distribution("a", "0.1,0.2").choices == (0.1, 0.2)
