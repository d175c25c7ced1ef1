"""Checkpoints: the whole training state as plain data, written atomically, loaded safely.

`capture` walks an object's attributes (the agent, the env, the loop counters) and turns them into
tensors, bytes and builtins: networks and optimizers become their state dicts, numpy arrays their
raw bytes, random generators their states. `restore` writes such a tree back into a freshly built
object of the same configuration, in place, so references between parts (an optimizer's
parameters, a buffer's views) stay intact. One walker for every agent means no agent can forget
a piece of its state, and nothing but plain data is ever unpickled: files load with
`torch.load(..., weights_only=True)`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import functools
import importlib
import logging
import os
import pickle
import random
import types
from collections import deque
from pathlib import Path, PurePath
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium.envs.registration import EnvSpec

from rlrun.agents.base import Agent
from rlrun.buffers import NStepAccumulator, ReplayBuffer
from rlrun.config.registry import AgentConfig, BonusConfig, EncoderConfig, ExplorationConfig
from rlrun.config.run import RESUMABLE, RunConfig
from rlrun.errors import RlrunError
from rlrun.records import atomic_file, flatten
from rlrun.transition import Spaces

log = logging.getLogger(__name__)

FORMAT = "rlrun-checkpoint/1"

# State that lives in C extensions (or in other processes: async vector envs) cannot be read from
# Python attributes.
OPAQUE_MODULES = ("Box2D", "mujoco", "pygame", "ale_py", "multiprocessing")
# What an env draws with (PettingZoo's classic and MPE envs make a surface and a font up front):
# not its state, so left out (the restored env keeps the ones it made).
DRAWING_TOOLS = ("pygame.surface", "pygame.freetype")


class CheckpointError(RlrunError):
    """A checkpoint that is missing, damaged, foreign, or does not fit the run."""


class NotCapturable(Exception):
    """An attribute whose state cannot be expressed as plain data (e.g. a Box2D world)."""


_SKIP = {"__skip__": True}
# Functions and classes (a loss function, an env factory) are code, not state.
CODE = (
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    functools.partial,
    type,
)


def capture(obj: Any, skip: tuple[type, ...] = (), _seen: set[int] | None = None) -> Any:
    """`obj` as a tree of tensors, bytes and builtins; instances of `skip` and callables are left
    out (restore keeps whatever the fresh object has there)."""
    seen = set() if _seen is None else _seen
    if isinstance(obj, (np.ndarray, np.generic)):  # before float: np.float64 is a float
        arr = np.asarray(obj)
        if arr.dtype.hasobject:
            raise NotCapturable(f"array of Python objects ({type(obj).__name__})")
        scalar = isinstance(obj, np.generic)
        return {"__ndarray__": [arr.dtype.str, list(arr.shape), arr.tobytes(), scalar]}
    if obj is None or type(obj) in (bool, int, float, str, bytes):
        return obj
    if isinstance(obj, skip + CODE):
        return _SKIP
    if isinstance(obj, enum.Enum):  # before int: an IntEnum is an int, but not a plain one
        return {"__enum__": capture(obj.value)}
    if isinstance(obj, (bool, int, float, str, bytes)):
        raise NotCapturable(f"{type(obj).__qualname__} (a subclass of a builtin)")
    if isinstance(obj, PurePath):
        return {"__path__": str(obj)}
    if isinstance(obj, (set, frozenset)):
        return {
            "__set__": [capture(x, skip, seen) for x in obj],
            "frozen": isinstance(obj, frozenset),
        }
    if isinstance(obj, torch.dtype):
        return {"__torch_dtype__": str(obj).removeprefix("torch.")}
    if isinstance(obj, np.dtype):
        return {"__dtype__": obj.str}
    if isinstance(obj, torch.Tensor):  # a bare parameter (SAC's log_alpha) stays one
        return obj.detach().clone().requires_grad_(obj.requires_grad)
    if isinstance(obj, (torch.nn.Module, torch.optim.Optimizer)):
        return {"__state_dict__": obj.state_dict()}
    if isinstance(obj, np.random.Generator):
        return {"__np_rng__": obj.bit_generator.state}
    if isinstance(obj, np.random.RandomState):
        return {"__np_random_state__": capture(obj.get_state(legacy=False), skip, seen)}
    if isinstance(obj, torch.Generator):
        return {"__torch_rng__": obj.get_state()}
    if isinstance(obj, deque):
        return {
            "__deque__": [capture(x, skip, seen) for x in obj],
            "maxlen": obj.maxlen,
        }
    if isinstance(obj, list):
        return [capture(x, skip, seen) for x in obj]
    if isinstance(obj, tuple):  # named tuples are rebuilt as the live value's type
        return {"__tuple__": [capture(x, skip, seen) for x in obj]}
    if isinstance(obj, dict):
        return {
            "__map__": [[capture(k, skip, seen), capture(v, skip, seen)] for k, v in obj.items()]
        }
    cls = type(obj)
    if cls.__module__ in DRAWING_TOOLS:
        return _SKIP
    if cls.__module__.split(".")[0] in OPAQUE_MODULES or not hasattr(obj, "__dict__"):
        raise NotCapturable(f"{cls.__module__}.{cls.__qualname__}")
    if id(obj) in seen:
        return _SKIP  # already captured through another reference
    seen.add(id(obj))
    attrs = {}
    for name, value in vars(obj).items():
        try:
            attrs[name] = capture(value, skip, seen)
        except NotCapturable as e:
            raise NotCapturable(f"{cls.__qualname__}.{name}: {e}") from None
    return {"__object__": f"{cls.__module__}:{cls.__qualname__}", "attrs": attrs}


def restore(current: Any, saved: Any) -> Any:
    """The value `saved` describes, written into `current` in place where it can be; returns it.

    The caller assigns the result back (a no-op for in-place updates)."""
    if not isinstance(saved, dict):
        if isinstance(saved, list):
            if isinstance(current, list) and len(current) == len(saved):
                current[:] = [restore(c, s) for c, s in zip(current, saved, strict=True)]
                return current
            return [restore(None, s) for s in saved]
        if (
            isinstance(saved, torch.Tensor)
            and isinstance(current, torch.Tensor)
            and current.shape == saved.shape
        ):
            with torch.no_grad():  # e.g. SAC's log_alpha, a bare parameter
                return current.copy_(saved)
        return saved
    if saved.get("__skip__"):
        return current
    if "__ndarray__" in saved:
        dtype, shape, data, scalar = saved["__ndarray__"]
        arr = np.frombuffer(data, dtype=np.dtype(dtype)).reshape(shape).copy()
        if scalar:
            return arr[()]
        if (
            isinstance(current, np.ndarray)
            and current.shape == arr.shape
            and current.dtype == arr.dtype
        ):
            current[...] = arr
            return current
        return arr
    if "__dtype__" in saved:
        return np.dtype(saved["__dtype__"])
    if "__enum__" in saved:
        if not isinstance(current, enum.Enum):
            raise CheckpointError("checkpoint holds an enum value where the run has none")
        return type(current)(restore(None, saved["__enum__"]))
    if "__path__" in saved:
        return Path(saved["__path__"])
    if "__set__" in saved:
        members = [restore(None, x) for x in saved["__set__"]]
        return frozenset(members) if saved["frozen"] else set(members)
    if "__torch_dtype__" in saved:
        return getattr(torch, saved["__torch_dtype__"])
    # a network, optimizer or generator is built from the config, never unpickled
    if current is None and ("__state_dict__" in saved or "__torch_rng__" in saved):
        raise CheckpointError("checkpoint holds a network or generator the run lacks")
    if "__state_dict__" in saved:
        current.load_state_dict(saved["__state_dict__"])
        return current
    if "__np_rng__" in saved:
        rng = current if isinstance(current, np.random.Generator) else np.random.default_rng()
        rng.bit_generator.state = saved["__np_rng__"]
        return rng
    if "__np_random_state__" in saved:
        rs = current if isinstance(current, np.random.RandomState) else np.random.RandomState()
        rs.set_state(restore(None, saved["__np_random_state__"]))
        return rs
    if "__torch_rng__" in saved:
        with contextlib.suppress(RuntimeError):  # another device's generator: keep the fresh one
            current.set_state(saved["__torch_rng__"])
        return current
    if "__deque__" in saved:
        return deque((restore(None, x) for x in saved["__deque__"]), maxlen=saved["maxlen"])
    if "__tuple__" in saved:
        items = saved["__tuple__"]
        if isinstance(current, tuple) and len(current) == len(items):
            values = [restore(c, x) for c, x in zip(current, items, strict=True)]
            return type(current)(*values) if hasattr(current, "_fields") else tuple(values)
        return tuple(restore(None, x) for x in items)
    if "__map__" in saved:
        entries = {restore(None, k): v for k, v in saved["__map__"]}
        old = current if isinstance(current, dict) else {}
        new = {k: restore(old.get(k), v) for k, v in entries.items()}
        if isinstance(current, dict):
            current.clear()
            current.update(new)
            return current
        return new
    if "__object__" in saved:
        return _restore_object(current, saved)
    raise CheckpointError(f"unknown entry in checkpoint: {sorted(saved)[:3]}")


def _restore_object(current: Any, saved: dict[str, Any]) -> Any:
    module, qualname = saved["__object__"].split(":")
    if current is None:
        # Only rlrun's own classes are ever created from a checkpoint (e.g. a pending Transition).
        if module.split(".")[0] != "rlrun":
            raise CheckpointError(f"cannot recreate a {qualname} from a checkpoint")
        cls: Any = functools.reduce(getattr, qualname.split("."), importlib.import_module(module))
        current = cls.__new__(cls)
        for f in dataclasses.fields(cls) if dataclasses.is_dataclass(cls) else ():
            if f.name in saved["attrs"]:
                continue
            # a field added since the checkpoint was written: its default
            if f.default_factory is not dataclasses.MISSING:
                setattr(current, f.name, f.default_factory())
            elif f.default is not dataclasses.MISSING:
                setattr(current, f.name, f.default)
    elif type(current).__qualname__ != qualname:
        raise CheckpointError(
            f"checkpoint holds a {qualname} where the run has a {type(current).__qualname__}"
        )
    for name, value in saved["attrs"].items():
        setattr(current, name, restore(getattr(current, name, None), value))
    return current


# Rebuilt from the config on resume, never read from a checkpoint.
STRUCTURE = (
    gym.Space,
    EnvSpec,
    AgentConfig,
    ExplorationConfig,
    BonusConfig,
    EncoderConfig,
    Spaces,
    torch.device,
)
# The replay data: saved only on request (checkpoint.save_replay_buffer).
REPLAY = (ReplayBuffer, NStepAccumulator)


def capture_agent(agent: Agent, *, replay: bool) -> tuple[Any, dict[str, Any] | None]:
    """(the agent without its replay data, the replay data if asked for)."""
    tree = capture(agent, skip=STRUCTURE + REPLAY)
    if not replay:
        return tree, None
    return tree, {
        name: capture(value, skip=STRUCTURE)
        for name, value in vars(agent).items()
        if isinstance(value, REPLAY)
    }


def replay_nbytes(agent: Agent) -> int:
    """What the replay data adds to a checkpoint once the buffers are full, in bytes."""
    return sum(v.nbytes for v in vars(agent).values() if isinstance(v, ReplayBuffer))


def restore_agent(agent: Agent, tree: Any, replay: dict[str, Any] | None) -> None:
    restore(agent, tree)
    for name, value in (replay or {}).items():
        setattr(agent, name, restore(getattr(agent, name), value))


class Checkpoints:
    """checkpoints/: step_<N>.pt every interval (the newest `keep` kept), last.pt = the newest
    of them, best.pt = the agent at its best evaluation."""

    def __init__(self, directory: Path, keep: int) -> None:
        self.dir = directory
        self.keep = keep
        self.last = directory / "last.pt"
        self.best = directory / "best.pt"
        # A process killed mid-write leaves its temporary file; this one holds the run
        # directory's lock (rlrun.records.run_dir_lock), so no other process is writing them.
        for stale in directory.glob(".*.tmp"):
            stale.unlink(missing_ok=True)

    def save(self, step: int, payload: dict[str, Any]) -> Path:
        path = self.dir / f"step_{step}.pt"
        self._write(path, payload)
        link(path, self.last)
        steps = step_files(self.dir)
        for old in steps:  # beyond this step: a timeline that a resume from an earlier one left
            if int(old.stem[5:]) > step:
                old.unlink(missing_ok=True)
        for old in [p for p in steps if int(p.stem[5:]) <= step][: -self.keep]:
            old.unlink(missing_ok=True)
        return path

    def save_best(self, payload: dict[str, Any]) -> None:
        self._write(self.best, payload)

    def _write(self, path: Path, payload: dict[str, Any]) -> None:
        try:
            save(path, payload)
        except OSError as e:  # a full disk, a quota: the files written before stay whole
            intact = (
                f"{self.last.name} (step {_step_of(self.last)}) is intact"
                if (self.last.exists())
                else "no earlier checkpoint exists"
            )
            raise CheckpointError(
                f"could not write {path}: {e.strerror or e}; {intact}; free space and resume"
            ) from None


def step_files(directory: Path) -> list[Path]:
    """checkpoints/step_<N>.pt, oldest first."""
    found = [p for p in directory.glob("step_*.pt") if p.stem[5:].isdigit()]
    return sorted(found, key=lambda p: int(p.stem[5:]))


def _step_of(path: Path) -> str:
    """The step of the step_<N>.pt file `path` is a link to, or '?'."""
    try:
        inode = path.stat().st_ino
        return next(p.stem[5:] for p in step_files(path.parent) if p.stat().st_ino == inode)
    except (OSError, StopIteration):
        return "?"


def load_for_resume(path: Path, device: Any = "cpu") -> tuple[Path, dict[str, Any]]:
    """The checkpoint a resume continues from: `path` itself if it is a file, else the run
    directory's last.pt or, when that is damaged or missing, its newest intact step_<N>.pt (one
    warning line on stderr says which)."""
    if path.suffix == ".pt":
        return path, load(path, device)
    directory = path / "checkpoints"
    candidates = [directory / "last.pt", *reversed(step_files(directory))]
    first_error: CheckpointError | None = None
    for candidate in candidates:
        try:
            ckpt = load(candidate, device)
        except CheckpointError as e:
            first_error = first_error or e
            continue
        if first_error is not None and candidate != candidates[0]:
            damaged = str(first_error).split(";")[0]
            log.warning("%s; resuming from %s instead", damaged, candidate.name)
        return candidate, ckpt
    if not directory.is_dir() or first_error is None:
        raise CheckpointError(f"resume: {path} has no checkpoints/ to resume from")
    raise first_error


# What a resumed run may change (a group: any of its keys); anything else must match.
RESUMABLE_CHANGES = ", ".join(RESUMABLE)


# Env settings that change what is logged, not what is learned (nor a checkpoint's contents).
LOGGING_ONLY = ("episode_metrics",)


def identity(rc: RunConfig) -> dict[str, Any]:
    """The settings that make a run what it is: a checkpoint only continues under the same."""
    # The multi-agent keys only where they mean something (single-agent checkpoints from before
    # they existed still resume).
    multiagent = ("api", "share_parameters")
    ident = {
        "agent": {k: v for k, v in vars(rc.agent).items() if rc.multiagent or k not in multiagent},
        "env": {
            k: v
            for k, v in vars(rc.env).items()
            if k not in LOGGING_ONLY and (rc.multiagent or k not in multiagent)
        },
        "exploration": vars(rc.exploration),
        "encoder": vars(rc.encoder),
        "bonus": None if rc.bonus is None else vars(rc.bonus),
        "seed": rc.seed,
    }
    if rc.multiagent:
        ident["agents"] = rc.agents
    # what a run learns from (single-agent checkpoints from before these keys still resume)
    for key in ("demos", "reward"):
        if getattr(rc, key) is not None:
            ident[key] = getattr(rc, key)
    return ident


def check_resumable(ckpt: dict[str, Any], rc: RunConfig, *, ended: bool = True) -> None:
    """Refuse, saying what differs, to continue a checkpoint under another agent, env, etc.

    A checkpoint at the end of training continues only if the run did not record its end
    (`ended=False`: killed after its final checkpoint): it then just finishes, evaluating and
    writing its summary."""
    saved, now = flatten(ckpt["config"]), flatten(identity(rc))
    diffs = [
        f"{k}={saved.get(k, '<unset>')} in the checkpoint, {now.get(k, '<unset>')} now"
        for k in sorted(saved.keys() | now.keys())
        if saved.get(k) != now.get(k)
    ]
    if diffs:
        more = f" (and {len(diffs) - 3} more)" if len(diffs) > 3 else ""
        raise CheckpointError(
            f"resume: the config differs from the checkpoint's: {'; '.join(diffs[:3])}{more}; "
            f"only {RESUMABLE_CHANGES} may change"
        )
    if ckpt["step"] > rc.total_timesteps or (ckpt["step"] == rc.total_timesteps and ended):
        raise CheckpointError(
            f"resume: the run already finished ({ckpt['step']} of total_timesteps="
            f"{rc.total_timesteps} steps); pass a larger total_timesteps to train on"
        )


def global_rng_state() -> dict[str, Any]:
    """Python's, numpy's and torch's process-wide generators (libraries draw from these)."""
    state = {
        "python": random.getstate(),
        "numpy": capture(np.random.get_state(legacy=False)),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_global_rng_state(state: dict[str, Any]) -> None:
    random.setstate(_as_tuples(state["python"]))
    np.random.set_state(restore(None, state["numpy"]))
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        with contextlib.suppress(RuntimeError):
            torch.cuda.set_rng_state_all(state["cuda"])


def _as_tuples(x: Any) -> Any:
    return tuple(_as_tuples(v) for v in x) if isinstance(x, (list, tuple)) else x


def first_non_finite(tree: Any, path: str = "") -> str | None:
    """The path of the first float tensor or array in a captured tree holding a NaN or inf."""
    if isinstance(tree, torch.Tensor):
        ok = not tree.is_floating_point() or bool(torch.isfinite(tree).all())
        return None if ok else path
    if isinstance(tree, dict):
        if "__ndarray__" in tree:
            dtype, _shape, data, _ = tree["__ndarray__"]
            arr = np.frombuffer(data, dtype=np.dtype(dtype))
            ok = arr.dtype.kind != "f" or bool(np.isfinite(arr).all())
            return None if ok else path
        if "__state_dict__" in tree:
            return first_non_finite(dict(tree["__state_dict__"]), path)
        if "__map__" in tree:
            tree = {str(k): v for k, v in tree["__map__"]}
        elif "__tuple__" in tree or "__deque__" in tree:
            return first_non_finite(tree.get("__tuple__", tree.get("__deque__")), path)
        elif "__object__" in tree:
            tree = tree["attrs"]
        for key, value in tree.items():
            found = first_non_finite(value, f"{path}.{key}" if path else str(key))
            if found:
                return found
    if isinstance(tree, list):
        for i, value in enumerate(tree):
            found = first_non_finite(value, f"{path}[{i}]")
            if found:
                return found
    return None


def save(path: Path, payload: dict[str, Any]) -> None:
    """Write atomically: a temporary file in the same directory, synced, then renamed over
    `path`. A crash at any moment leaves either the old file or the new one, never half."""
    with atomic_file(path, "wb") as f:
        out = _WriteErrors(f)
        try:
            torch.save({"format": FORMAT, **payload}, out)
        except RuntimeError:
            if out.error is not None:  # torch reports a failed write (a full disk) as this
                raise out.error from None
            raise


class _WriteErrors:
    """A binary file that keeps the OSError of a failed write."""

    def __init__(self, f: Any) -> None:
        self.f = f
        self.error: OSError | None = None

    def write(self, data: bytes) -> int:
        try:
            return int(self.f.write(data))
        except OSError as e:
            self.error = e
            raise

    def __getattr__(self, name: str) -> Any:  # flush, tell, seek...: the file's own
        return getattr(self.f, name)


def link(src: Path, dst: Path) -> None:
    """Make `dst` the same file as `src` (a hard link, or a copy where links are not allowed),
    atomically."""
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        os.link(src, tmp)
    except OSError:
        import shutil

        shutil.copyfile(src, tmp)
    tmp.replace(dst)


def load(path: Path, device: Any = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by `save`; any problem is one CheckpointError line."""
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint")
    with open(path, "rb") as f:
        is_zip = f.read(4) == b"PK\x03\x04"  # torch.save writes a zip archive
    if not is_zip:
        raise CheckpointError(f"{path}: not a checkpoint file (not written by torch.save)")
    try:
        data = torch.load(path, map_location=device, weights_only=True)
    except pickle.UnpicklingError:
        raise CheckpointError(
            f"{path}: holds objects other than plain data, so it was not written by rlrun; "
            "not loading it"
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError) as e:
        raise CheckpointError(
            f"{path}: truncated or damaged ({type(e).__name__}); resume from another file in "
            f"{path.parent}: resume={path.parent}/step_<N>.pt"
        ) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an rlrun checkpoint (expected format {FORMAT})")
    return data
