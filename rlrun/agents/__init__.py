"""The agents, one folder per family: `<family>/config.py` holds its torch-free, registered
configs, the other modules its learners. Importing this package registers every family's agents
(only their configs are imported), so a new family is a new folder and nothing else."""

import importlib
import pkgutil

for _family in pkgutil.iter_modules(__path__):
    if _family.ispkg:
        importlib.import_module(f"{__name__}.{_family.name}.config")
