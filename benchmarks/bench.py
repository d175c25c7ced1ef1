"""rlrun side by side with Stable-Baselines3 at identical hyperparameters, in one run.

    python benchmarks/bench.py dqn-cartpole --seeds 0 1 2
    python benchmarks/bench.py qlearning-frozenlake --seeds 0 1 2
    python benchmarks/bench.py dqn-sps --seeds 0 1 2

Every run is a fresh subprocess (rlrun's own CLI; SB3 through this file's internal `_sb3` mode),
timed from spawn to exit, the implementations (IMPLS) taking turns. A benchmark is one entry of
SPECS.
Results: a markdown table on stdout and in benchmarks/results/<name>-<time>.md, raw numbers
beside it in .json, rlrun run dirs and SB3 logs under benchmarks/results/<name>-<time>/.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
INF = float("inf")


@dataclass(frozen=True)
class Impl:
    """One implementation under test."""

    kind: str  # "rlrun" (its CLI) or "sb3" (this file's `_sb3` mode)
    # torch threads: for SB3, torch.set_num_threads(n) in the child, None: torch's default
    # (what an SB3 user gets out of the box); rlrun always runs with its own torch_threads
    threads: int | None
    about: str


# Table order is the run order for the first seed; it rotates by one each seed (see bench()).
IMPLS: dict[str, Impl] = {
    "rlrun": Impl("rlrun", None, "rlrun, its own default torch_threads=1"),
    "sb3": Impl("sb3", 1, "Stable-Baselines3, torch.set_num_threads(1) as rlrun"),
    "sb3-default-threads": Impl(
        "sb3", None, "Stable-Baselines3 out of the box: torch's default thread count"
    ),
}


@dataclass(frozen=True)
class Spec:
    """One benchmark: rlrun's Hydra overrides and, when there is one, the SB3 equivalent."""

    # rlrun overrides; the tuned preset (conf/hyperparams/) comes in through agent= and env=
    rlrun: tuple[str, ...]
    # "solved" when an evaluation reaches this: on any evaluation within the budget ("any")
    # or on the final one ("final")
    threshold: float
    solve_on: str = "any"
    # env-step budget for both; None: rlrun's preset decides (rlrun-only specs)
    total_timesteps: int | None = None
    # None: no evaluation during training (pure throughput), one after the clock stops
    eval_every: int | None = 5_000
    eval_episodes: int = 10
    # SB3: class name in stable_baselines3 (None: rlrun only), env id, constructor kwargs
    sb3_algo: str | None = None
    sb3_env: str = ""
    sb3_kwargs: dict[str, Any] = field(default_factory=dict)
    # acceptance: median rlrun SPS / median SB3 SPS at least this
    target_sps_ratio: float | None = None


# RL Zoo hyperparams/dqn.yml, CartPole-v1 (= conf/hyperparams/dqn_cartpole.yaml); SB3 defaults
# that rlrun must match too are spelled out, so check_preset covers them.
DQN_CARTPOLE_ZOO: dict[str, Any] = {
    "learning_rate": 2.3e-3,
    "batch_size": 64,
    "buffer_size": 100_000,
    "learning_starts": 1000,
    "gamma": 0.99,
    "target_update_interval": 10,
    "train_freq": 256,
    "gradient_steps": 128,
    "exploration_fraction": 0.16,
    "exploration_initial_eps": 1.0,
    "exploration_final_eps": 0.04,
    "tau": 1.0,
    "max_grad_norm": 10.0,
    "policy_kwargs": {"net_arch": [256, 256]},
}
DQN_CARTPOLE = {
    "rlrun": ("agent=dqn", "env=cartpole"),
    "threshold": 475,
    "total_timesteps": 50_000,
    "sb3_algo": "DQN",
    "sb3_env": "CartPole-v1",
    "sb3_kwargs": DQN_CARTPOLE_ZOO,
}

# The next algorithms are one entry each (PPO CartPole, A2C CartPole, SAC Pendulum, ...).
SPECS: dict[str, Spec] = {
    "dqn-cartpole": Spec(**DQN_CARTPOLE),
    "dqn-sps": Spec(**DQN_CARTPOLE, eval_every=None, target_sps_ratio=2.0),
    "qlearning-frozenlake": Spec(
        ("agent=qlearning", "env=frozenlake"), 0.70, "final", None, 20_000, 1000
    ),
}
# SB3 keyword -> rlrun config key, where the name differs (others are agent.<same name>).
SB3_TO_RLRUN = {
    "exploration_fraction": "exploration.fraction",
    "exploration_initial_eps": "exploration.start",
    "exploration_final_eps": "exploration.end",
    "net_arch": "agent.net_arch",
}


def eval_overrides(spec: Spec, steps: int | None) -> list[str]:
    out = [f"eval.episodes={spec.eval_episodes}"]
    if steps is not None:
        out.append(f"total_timesteps={steps}")
    # eval.every_steps >= total_timesteps: rlrun evaluates only after the clock stops.
    out.append(f"eval.every_steps={spec.eval_every or steps}")
    return out


def check_preset(spec: Spec, steps: int | None) -> dict[str, Any]:
    """Compose rlrun's config (`--cfg job`, no torch) and check it against the SB3 kwargs."""
    from omegaconf import OmegaConf

    from rlrun.schema import validate

    cmd = [*rlrun_cmd(), *spec.rlrun, *eval_overrides(spec, steps), "--cfg", "job"]
    text = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rc = validate(OmegaConf.create(text))
    kwargs = {**spec.sb3_kwargs, **spec.sb3_kwargs.get("policy_kwargs", {})}
    kwargs.pop("policy_kwargs", None)
    mismatches = []
    for key, want in kwargs.items():
        obj: Any = rc
        for part in SB3_TO_RLRUN.get(key, f"agent.{key}").split("."):
            obj = getattr(obj, part, "<missing>")
        if obj != want:
            mismatches.append(f"{key}: SB3 {want!r} vs rlrun {obj!r}")
    return {"rlrun_config": text, "mismatches": mismatches}


def rlrun_cmd() -> list[str]:
    # The console script beside this interpreter, not a pyenv shim (which adds start-up time).
    script = Path(sys.executable).with_name("rlrun")
    return [str(script)] if script.exists() else [sys.executable, "-m", "rlrun"]


def timed(cmd: list[str], log: Path) -> tuple[dict[str, float], int]:
    """Run `cmd` to the end; ({spawn: epoch seconds, process_wall_s, process_cpu_s (user +
    system, all threads)}, exit code)."""

    def cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    cpu0, spawn, t0 = cpu(), time.time(), time.perf_counter()
    with log.open("w") as f:
        proc = subprocess.run(cmd, check=False, stdout=f, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - t0
    row = {"spawn": spawn, "process_wall_s": wall, "process_cpu_s": cpu() - cpu0}
    return row, proc.returncode


def run_rlrun(
    name: str, impl: Impl, label: str, seed: int, steps: int | None, out: Path
) -> dict[str, Any]:
    """rlrun through its CLI; `impl.threads` is unused: rlrun keeps its own torch_threads."""
    from omegaconf import OmegaConf

    spec = SPECS[name]
    run_dir = out / f"{label}-seed{seed}"
    cmd = [*rlrun_cmd(), *spec.rlrun, f"seed={seed}", "logger.progress=false"]
    cmd += [*eval_overrides(spec, steps), f"hydra.run.dir={run_dir}"]
    run_dir.mkdir(parents=True, exist_ok=True)
    proc, code = timed(cmd, out / f"{label}-seed{seed}.log")
    spawn, wall = proc["spawn"], proc["process_wall_s"]
    path = run_dir / "summary.json"
    summary = json.loads(path.read_text()) if path.exists() else {"status": "missing"}
    if code or summary["status"] != "completed":
        return {"error": summary.get("error", f"exit code {code}"), "cmd": cmd}
    # The absolute time of each evaluation is in the TensorBoard events (wall_time of
    # eval/mean_return); summary.json has it only relative to the start of training.
    evals = [tuple(e) for e in summary["evaluations"]]
    try:
        from tensorboard.backend.event_processing.event_accumulator import (
            EventAccumulator,
        )

        events = EventAccumulator(str(run_dir)).Reload().Scalars("eval/mean_return")
        train_start = events[-1].wall_time - evals[-1][1]
        method = "TensorBoard eval/mean_return wall_time"
    except (ImportError, KeyError, IndexError):
        # An upper bound: it also counts the teardown after the last evaluation.
        train_start = spawn + wall - evals[-1][1]
        method = "process end - last evaluation (upper bound)"
    final = summary["final_eval"]
    config = OmegaConf.load(run_dir / ".hydra" / "config.yaml")
    return {
        "cmd": cmd,
        **proc,
        "torch_threads": config.get("torch_threads"),
        "train_start": train_start,
        "timing": method,
        "steps": summary["steps"],
        "sps": summary["sps"],
        "evaluations": evals,
        "final_eval": final["mean_return"],
        "success_rate": final["success_rate"],
        "run_dir": str(run_dir),
    }


def run_sb3(
    name: str, impl: Impl, label: str, seed: int, steps: int | None, out: Path
) -> dict[str, Any]:
    result, log = out / f"{label}-seed{seed}.json", out / f"{label}-seed{seed}.log"
    cmd = [sys.executable, __file__, "_sb3", name, "--seed", str(seed)]
    cmd += ["--steps", str(steps or 0), "--out", str(result)]
    if impl.threads is not None:
        cmd += ["--threads", str(impl.threads)]
    proc, code = timed(cmd, log)
    if code:
        return {"error": f"exit code {code}, see {log}"}
    return {**json.loads(result.read_text()), "cmd": cmd, **proc}


RUNNERS = {"rlrun": run_rlrun, "sb3": run_sb3}


def sb3_child(name: str, seed: int, steps: int, out: Path, threads: int | None) -> None:
    """Internal mode: train SB3 with the spec's kwargs and `threads` torch threads (None:
    torch's default); write JSON."""
    import torch

    if threads is not None:
        torch.set_num_threads(threads)
    import stable_baselines3
    from stable_baselines3.common.callbacks import BaseCallback, EvalCallback
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.evaluation import evaluate_policy

    spec = SPECS[name]
    eval_env = make_vec_env(spec.sb3_env, n_envs=1, seed=seed + 10_000)  # as rlrun's
    model = getattr(stable_baselines3, spec.sb3_algo)(
        "MlpPolicy", spec.sb3_env, seed=seed, device="cpu", **spec.sb3_kwargs
    )
    evals: list[tuple[int, float, float]] = []

    class Record(BaseCallback):
        def _on_step(self) -> bool:
            secs = time.perf_counter() - t0
            evals.append((self.model.num_timesteps, secs, self.parent.last_mean_reward))
            return True

    callback = None
    if spec.eval_every is not None:
        callback = EvalCallback(
            eval_env,
            callback_after_eval=Record(),
            eval_freq=spec.eval_every,
            n_eval_episodes=spec.eval_episodes,
            deterministic=True,
            verbose=0,
        )
    train_start, t0 = time.time(), time.perf_counter()
    model.learn(total_timesteps=steps, callback=callback)
    train_s = time.perf_counter() - t0
    if not evals or evals[-1][0] != model.num_timesteps:  # as rlrun: after the clock
        mean, _ = evaluate_policy(
            model, eval_env, spec.eval_episodes, deterministic=True
        )
        evals.append((model.num_timesteps, time.perf_counter() - t0, float(mean)))
    row = {
        "torch_threads": torch.get_num_threads(),
        "train_start": train_start,
        "timing": "time.time() in the child",
        "steps": model.num_timesteps,
        "sps": model.num_timesteps / train_s,
        "evaluations": evals,
        "final_eval": evals[-1][2],
        "success_rate": None,
    }
    out.write_text(json.dumps(row, indent=1))


def metrics(row: dict[str, Any], spec: Spec) -> dict[str, Any]:
    """Best eval and the first evaluation >= threshold (env step, seconds from process start)."""
    if "error" in row:
        return row
    hits = [(s, sec) for s, sec, v in row["evaluations"] if v >= spec.threshold]
    startup = row["train_start"] - row["spawn"]
    final_ok = row["final_eval"] >= spec.threshold
    return {
        **row,
        "startup_s": startup,
        "best_eval": max(v for *_, v in row["evaluations"]),
        "solve_step": hits[0][0] if hits else None,
        "solve_s": startup + hits[0][1] if hits else None,
        "final_ok": final_ok,
        "solved": final_ok if spec.solve_on == "final" else bool(hits),
    }


def summarize(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Medians over seeds; an unsolved seed counts as never solving (inf), a failed run as
    not solved."""
    ok = [r for r in rows if "error" not in r]

    def med(key: str) -> float:
        values = [INF if r[key] is None else r[key] for r in ok]
        return statistics.median(values) if values else float("nan")

    keys = ("sps", "solve_step", "solve_s", "process_wall_s", "process_cpu_s")
    keys += ("startup_s",)
    final = sum(r["final_ok"] for r in ok)
    return {
        "solved": sum(r["solved"] for r in ok),
        "final": final,
        "runs": len(rows),
    } | {k: med(k) for k in keys}


def times(x: float) -> str:
    """A ratio for the report; nan is inf/inf (neither solved), inf: only rlrun solved."""
    if math.isnan(x):
        return "– (neither solved)"
    return "inf (baseline unsolved)" if math.isinf(x) else f"{x:.2f}x"


def report(name: str, spec: Spec, rows: list[dict[str, Any]], meta: dict) -> str:
    t = spec.threshold
    lines = [f"# {name}", "", *(f"- {k}: {v}" for k, v in meta.items()), ""]
    lines.append(
        f"| impl | seed | torch threads | load 1-min before | final eval | best eval "
        f"| steps to {t} | s to {t} (from process start) | train SPS | process wall s "
        "| process CPU s |\n" + "|---" * 11 + "|"
    )
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['impl']} | {r['seed']} | error: {r['error']} |")
            continue
        step = "–" if r["solve_step"] is None else f"{r['solve_step']:,}"
        secs = "–" if r["solve_s"] is None else f"{r['solve_s']:.1f}"
        lines.append(
            f"| {r['impl']} | {r['seed']} | {r['torch_threads']} | {r['load1']:.2f} "
            f"| {r['final_eval']:.3f} | {r['best_eval']:.3f} | {step} | {secs} "
            f"| {r['sps']:,.0f} | {r['process_wall_s']:.1f} | {r['process_cpu_s']:.1f} |"
        )
    lines.append("")
    med = {i: summarize([r for r in rows if r["impl"] == i]) for i in IMPLS}
    for impl, m in med.items():
        if m["runs"]:
            lines.append(
                f"- {impl}: solved {m['solved']}/{m['runs']} ({spec.solve_on} eval >= {t}), "
                f"final eval >= {t} {m['final']}/{m['runs']}; "
                f"median: SPS {m['sps']:,.0f}, steps to solve {m['solve_step']:,.0f}, "
                f"s to solve {m['solve_s']:.1f}, process wall {m['process_wall_s']:.1f} s "
                f"(CPU {m['process_cpu_s']:.1f} s), start-up (process start -> training "
                f"start) {m['startup_s']:.1f} s"
            )
    r = med["rlrun"]
    baselines = [i for i, m in med.items() if i != "rlrun" and m["runs"]]
    if baselines:
        lines += [
            "",
            "Ratios, median rlrun vs median baseline (> 1: rlrun better):",
            "",
            "| rlrun vs | train SPS (rlrun / baseline) | s to solve (baseline / rlrun) "
            + "| steps to solve (baseline / rlrun) | process wall s (baseline / rlrun) |",
            "|---|---|---|---|---|",
        ]
        for b in baselines:
            s = med[b]
            lines.append(
                f"| {b} | {times(r['sps'] / s['sps'])} | {times(s['solve_s'] / r['solve_s'])} "
                f"| {times(s['solve_step'] / r['solve_step'])} "
                f"| {times(s['process_wall_s'] / r['process_wall_s'])} |"
            )
        lines.append("")
    if spec.target_sps_ratio is not None:
        verdicts = [
            f"vs {b} {r['sps'] / med[b]['sps']:.2f}x "
            + (
                "MET"
                if r["sps"] / med[b]["sps"] >= spec.target_sps_ratio
                else "NOT MET"
            )
            for b in baselines
        ]
        lines.append(
            f"- target rlrun SPS >= {spec.target_sps_ratio}x SB3: "
            + "; ".join(verdicts)
        )
    else:
        ok = r["solved"] == r["runs"]
        lines.append(
            f"- target rlrun solved on every seed ({spec.solve_on} eval >= {t}): "
            f"{r['solved']}/{r['runs']} {'MET' if ok else 'NOT MET'}"
        )
    return "\n".join(lines) + "\n"


def rlrun_source() -> tuple[Path, Path]:
    """(rlrun's package dir, its config dir) as the runs import them: the editable install's
    checkout, or a pinned one put first on PYTHONPATH (README: "Pinning a commit")."""
    from importlib.util import find_spec

    pkg, conf = find_spec("rlrun"), find_spec("rlrun.conf")
    assert pkg and pkg.origin and conf and conf.submodule_search_locations
    return Path(pkg.origin).resolve().parent, Path(
        next(iter(conf.submodule_search_locations))
    ).resolve()


def git_state() -> str:
    root = rlrun_source()[0].parent

    def git(*a: str) -> str:
        cmd = ["git", "-C", str(root), *a]
        return subprocess.run(cmd, check=False, capture_output=True, text=True).stdout

    commit = git("rev-parse", "--short", "HEAD").strip()
    if not commit:
        return f"unknown ({root} is not a git checkout)"
    dirty = git("status", "--porcelain", "--", "rlrun", "conf").splitlines()
    extra = f" + {len(dirty)} uncommitted file(s) in rlrun/ conf/" if dirty else ""
    return commit + extra


def source_hash() -> str:
    """Hash of rlrun's *.py and its config *.yaml as they are on disk now (what the next run
    imports), to catch edits made while a benchmark runs."""
    digest = hashlib.sha256()
    for top, pattern in zip(rlrun_source(), ("*.py", "*.yaml"), strict=True):
        for path in sorted(top.rglob(pattern)):
            try:
                digest.update(f"{path.relative_to(top)}\0".encode() + path.read_bytes())
            except FileNotFoundError:  # deleted since the glob
                continue
    return digest.hexdigest()[:10]


def bench(name: str, seeds: list[int], steps: int | None) -> None:
    spec = SPECS[name]
    steps = steps or spec.total_timesteps
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out = RESULTS / f"{name}-{stamp}"
    out.mkdir(parents=True)
    check = check_preset(spec, steps) if spec.sb3_algo else {}
    for m in check.get("mismatches", []):
        print(f"bench: WARNING hyperparameter mismatch {m}", file=sys.stderr)
    names = [n for n, i in IMPLS.items() if spec.sb3_algo or i.kind == "rlrun"]
    load_start = os.getloadavg()
    rows: list[dict[str, Any]] = []
    for i, seed in enumerate(seeds):
        k = i % len(names)
        # The order rotates by one per seed, so each implementation takes each place in turn
        # and machine noise hits all (with two implementations: alternation).
        for label in names[k:] + names[:k]:
            impl, load = IMPLS[label], os.getloadavg()
            info = {"impl": label, "seed": seed, "load1": load[0], "loadavg": load}
            info["source"] = source_hash()
            shown = "/".join(f"{x:.2f}" for x in load)
            print(f"bench: {name} {label} seed {seed}, load {shown}", file=sys.stderr)
            row = RUNNERS[impl.kind](name, impl, label, seed, steps, out)
            rows.append(info | metrics(row, spec))
    rows.sort(key=lambda r: (list(IMPLS).index(r["impl"]), r["seed"]))
    packages = ("rlrun", "torch", "gymnasium", "stable-baselines3")
    mismatches = "; ".join(check.get("mismatches", [])) or "identical"
    loads = [load_start, os.getloadavg()]
    sources = sorted({r["source"] for r in rows})
    meta = {
        "date": stamp,
        "rlrun commit": git_state(),
        "rlrun imported from": "{} (config {})".format(*rlrun_source()),
        "rlrun/ conf/ on disk (hash before each run)": sources[0]
        if len(sources) == 1
        else f"CHANGED during the benchmark: {', '.join(sources)} (see the JSON rows)",
        "versions": ", ".join(f"{p} {version(p)}" for p in packages),
        "machine": f"{os.cpu_count()} cores, runs one at a time",
        "implementations": "; ".join(f"{n}: {IMPLS[n].about}" for n in names),
        "run order": f"{', '.join(names)} for the first seed, rotated by one per seed",
        "load averages (1/5/15 min) at start, at end": " / ".join(
            ", ".join(f"{x:.2f}" for x in la) for la in loads
        ),
        "hyperparameters vs SB3": mismatches if check else "n/a (rlrun only)",
    }
    md = report(name, spec, rows, meta)
    print(md)
    (RESULTS / f"{name}-{stamp}.md").write_text(md)
    impls = {n: asdict(IMPLS[n]) for n in names}
    raw = {"spec": asdict(spec), "impls": impls, "meta": meta, "preset": check}
    raw["rows"] = rows
    (RESULTS / f"{name}-{stamp}.json").write_text(json.dumps(raw, indent=1))
    print(f"bench: wrote {out}.md, {out}.json, run dirs in {out}/", file=sys.stderr)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("name", choices=[*SPECS, "_sb3"])
    p.add_argument("extra", nargs="?", help=argparse.SUPPRESS)  # _sb3: the spec name
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--steps", type=int, help="override the env-step budget (all impls)")
    p.add_argument("--seed", type=int, help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    p.add_argument(
        "--threads", type=int, help=argparse.SUPPRESS
    )  # _sb3: None = default
    a = p.parse_args()
    if a.name == "_sb3":
        sb3_child(a.extra, a.seed, a.steps, a.out, a.threads)
    else:
        bench(a.name, a.seeds, a.steps)


if __name__ == "__main__":
    main()
