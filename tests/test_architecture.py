"""One source of truth: every YAML default agrees with its registered dataclass; the config-error
path stays torch-free. (The import layers are pinned by `lint-imports`, in README's test
command.)"""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest
import yaml

import rlrun.validate  # noqa: F401  (registers every component)
from rlrun.config.registry import AGENTS, BONUSES, ENCODERS, EXPLORATIONS
from rlrun.config.run import EnvConfig

from .conftest import ROOT

GROUPS = {"agent": AGENTS, "exploration": EXPLORATIONS, "encoder": ENCODERS, "bonus": BONUSES}
OPTIONS = [
    (group, name)
    for group, registry in GROUPS.items()
    for name in sorted(registry)
    if (ROOT / "conf" / group / f"{name}.yaml").exists()
]


def defaults(schema: type) -> dict:
    out = {}
    for f in dataclasses.fields(schema):
        if f.default is not dataclasses.MISSING:
            out[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            out[f.name] = f.default_factory()
    return out


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_every_registered_option_has_its_yaml_and_every_yaml_is_registered(group):
    files = {p.stem for p in (ROOT / "conf" / group).glob("*.yaml")}
    # exploration=auto is the agent's own default strategy, resolved by validation
    assert files == set(GROUPS[group]) | ({"auto"} if group == "exploration" else set())


def read_option(group: str, name: str) -> dict:
    """A group option's YAML with the same-group options its defaults list extends merged in,
    in the list's order (`defaults: [dqn, _self_]`: dqn's keys, then its own), as Hydra does."""
    raw = yaml.safe_load((ROOT / "conf" / group / f"{name}.yaml").read_text())
    merged: dict = {}
    for entry in raw.pop("defaults", ["_self_"]):
        merged |= raw if entry == "_self_" else read_option(group, entry)
    return merged


@pytest.mark.parametrize(("group", "name"), OPTIONS)
def test_yaml_defaults_are_the_dataclass_defaults(group, name):
    """A group's YAML writes out its dataclass's defaults for users to read: the two must agree
    key for key and value for value (the dataclass is the source; presets change values)."""
    # what the primary config sets for every option of the group (`_self_` first), then its own
    shared = yaml.safe_load((ROOT / "conf" / "config.yaml").read_text()).get(group, {})
    written = shared | read_option(group, name)
    expected = defaults(GROUPS[group][name]) | {"name": name}
    differ = {k: (written.get(k), expected.get(k)) for k in written.keys() | expected.keys()}
    assert {k: v for k, v in differ.items() if v[0] != v[1]} == {}, f"conf/{group}/{name}.yaml"


def test_the_shared_env_block_is_the_env_defaults():
    config = yaml.safe_load((ROOT / "conf" / "config.yaml").read_text())
    expected = {k: v for k, v in defaults(EnvConfig).items() if k not in ("name", "id")}
    assert config["env"] == expected


@pytest.mark.parametrize(
    "args",
    [["--help"], ["agent.lr=0.1"], ["agent=qlearning", "agent.gamma=2"], ["agent=nope"]],
)
def test_help_and_config_errors_import_no_torch(args):
    code = (
        f"import sys; sys.argv = ['rlrun', *{args!r}]\n"
        "from rlrun.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
        "assert 'gymnasium' not in sys.modules, 'gymnasium imported'\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
