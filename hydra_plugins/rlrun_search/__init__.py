"""rlrun's pruned Optuna sweeper, where Hydra looks for sweeper classes (the hydra_plugins
namespace). The code is rlrun.search; this module only names the class for Hydra."""

import rlrun.search as _search


class PrunedSweeper(_search.PrunedSweeper):
    """rlrun.search.PrunedSweeper: `rlrun -m ... hparams_search=<family>`."""
