"""Package discovery only (metadata is in pyproject.toml): every package under rlrun/ and
hydra_plugins/, plus conf/ shipped as rlrun.conf, which `packages.find` cannot express."""

from setuptools import find_packages, setup

setup(packages=[*find_packages(include=["rlrun*", "hydra_plugins*"]), "rlrun.conf"])
