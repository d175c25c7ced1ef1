"""Package discovery only (metadata is in pyproject.toml): every package under rlrun/ (so a new
agent family needs no line anywhere), the Hydra plugin in the hydra_plugins namespace, and conf/
shipped as rlrun.conf, none of which `[tool.setuptools.packages.find]` can express at once."""

from setuptools import find_namespace_packages, find_packages, setup

setup(
    packages=[
        *find_packages(include=["rlrun", "rlrun.*"]),
        *find_namespace_packages(include=["hydra_plugins.*"]),
        "rlrun.conf",
    ]
)
