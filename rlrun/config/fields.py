"""Dataclass fields with allowed ranges, and the merge that turns a bad value into one line."""

from __future__ import annotations

import dataclasses
import difflib
import re
from dataclasses import field
from typing import Any

from omegaconf import OmegaConf
from omegaconf.errors import (
    ConfigKeyError,
    MissingMandatoryValue,
    OmegaConfBaseException,
    ValidationError,
)

from rlrun.errors import ConfigError

ACTIVATIONS = ("relu", "tanh", "elu", "gelu", "silu")
SCHEDULES = ("constant", "linear", "exponential")
# rmsprop: PyTorch's (alpha 0.99); rmsprop_tf: TensorFlow's (SB3's RMSpropTFLike, which the RL
# Zoo's Atari A2C uses); each agent says which eps (rlrun.networks.optim.make_optimizer)
OPTIMIZERS = ("adam", "rmsprop", "rmsprop_tf")


def param(
    default: Any = dataclasses.MISSING,
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    choices: tuple[Any, ...] | None = None,
    pattern: tuple[str, str] | None = None,  # (regular expression, what it accepts)
) -> Any:
    """A dataclass field whose allowed range, choices or pattern `build` checks."""
    meta = {"ge": ge, "gt": gt, "le": le, "choices": choices, "pattern": pattern}
    return field(default=default, metadata=meta)


def build(schema: type, values: Any, prefix: str) -> Any:
    """Merge `values` into `schema`, turning OmegaConf's errors into one-line ConfigErrors."""
    if not isinstance(values, dict):
        raise ConfigError(prefix, f"expected a mapping, got {values!r}")
    try:
        merged = OmegaConf.merge(OmegaConf.structured(schema), values)
        obj = OmegaConf.to_object(merged)
    except ConfigKeyError as e:
        key = str(e.key)
        known = [f.name for f in dataclasses.fields(schema)]
        raise ConfigError(
            key_of(prefix, key), f"unknown key{suggest(key, known, prefix)}"
        ) from None
    except MissingMandatoryValue as e:
        key = key_of(prefix, e.key)
        raise ConfigError(key, f"has no value; set it: {key}=<value>") from None
    except ValidationError as e:  # full_key: a nested field's (eval.every_steps) whole path
        key = e.full_key or e.key
        if isinstance(key, int) or str(key).isdigit():  # OmegaConf names a list item by index only
            key = list_item(values, int(key)) or key
        raise ConfigError(key_of(prefix, key), first_line(e)) from None
    except OmegaConfBaseException as e:
        raise ConfigError(prefix, first_line(e)) from None
    check_ranges(obj, prefix)
    return obj


def list_item(values: dict[str, Any], index: int) -> str | None:
    """`name[index]` for the one list in `values` long enough to have that item, else None."""
    names = [k for k, v in values.items() if isinstance(v, list) and len(v) > index]
    return f"{names[0]}[{index}]" if len(names) == 1 else None


def suggest(key: str, known: list[str], prefix: str = "") -> str:
    """A 'did you mean' hint: a close spelling, or the name the key abbreviates (lr)."""
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.5)
    close += [k for k in known if "".join(w[0] for w in k.split("_")) == key]
    if close:
        return f"; did you mean '{key_of(prefix, close[0])}'?"
    return f"; valid keys: {', '.join(known)}"


def key_of(prefix: str, name: Any) -> str:
    return f"{prefix}.{name}" if prefix else str(name)


def first_line(e: Exception) -> str:
    return str(e).strip().splitlines()[0]


def check_ranges(obj: Any, prefix: str) -> None:
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        key = key_of(prefix, f.name)
        if dataclasses.is_dataclass(value):
            check_ranges(value, key)
            continue
        m = f.metadata
        if m.get("choices") is not None and value not in m["choices"]:
            valid = ", ".join(str(c) if c is not None else "null" for c in m["choices"])
            raise ConfigError(key, f"got {value!r}; choose one of: {valid}")
        if m.get("pattern") is not None and not re.fullmatch(m["pattern"][0], str(value)):
            raise ConfigError(key, f"got {value!r}; use {m['pattern'][1]}")
        if value is None or isinstance(value, (bool, str)):
            continue
        for item in value if isinstance(value, list) else [value]:
            if m.get("gt") is not None and not item > m["gt"]:
                raise ConfigError(key, f"must be > {m['gt']}, got {item}")
            if m.get("ge") is not None and not item >= m["ge"]:
                raise ConfigError(key, f"must be >= {m['ge']}, got {item}")
            if m.get("le") is not None and not item <= m["le"]:
                raise ConfigError(key, f"must be <= {m['le']}, got {item}")
