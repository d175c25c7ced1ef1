"""rlrun's seed-batching launcher, where Hydra looks for launcher classes (the hydra_plugins
namespace). The code is rlrun.launcher; this module only names the class for Hydra."""

import rlrun.launcher as _launcher


class BatchedLauncher(_launcher.BatchedLauncher):
    """rlrun.launcher.BatchedLauncher: `rlrun -m seed=range(8) hydra/launcher=batched`."""
