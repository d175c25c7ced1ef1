"""Typed, torch-free config: the field helpers, the registries components are found in by name,
and the schema of a whole run. Nothing above this package is imported here (architecture
contracts in pyproject.toml), so a config error answers before torch is even imported."""
