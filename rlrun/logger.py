"""TensorBoard logging: scalars on the global env step, the config as text, and hparams.

Hyperparameters go into the run's own event file through the hparams plugin's summaries (not
`SummaryWriter.add_hparams`, which writes a separate sub-run), so the HParams tab of a sweep shows
one row per job, with the last value of each metric tag.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch.utils.tensorboard import SummaryWriter
from torch.utils.tensorboard.summary import hparams

# The metrics the HParams tab shows beside the hyperparameters (last logged value of each tag).
HPARAM_METRICS = (
    "eval/mean_return",
    "eval/success_rate",
    "eval/mean_length",
    "charts/SPS",
)


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"agent": {"gamma": 0.9}} -> {"agent.gamma": 0.9}; lists become strings, None "null"."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}."))
        elif isinstance(value, (bool, int, float, str)):
            out[name] = value
        else:
            out[name] = "null" if value is None else str(value)
    return out


class TensorBoardLogger:
    def __init__(self, run_dir: Path) -> None:
        self.writer = SummaryWriter(log_dir=str(run_dir))

    def scalar(self, tag: str, value: float, step: int) -> None:
        self.writer.add_scalar(tag, value, step)

    def text(self, tag: str, text: str) -> None:
        self.writer.add_text(tag, text)

    def hparams_start(self, params: dict[str, Any]) -> None:
        experiment, session_start, _ = hparams(params, {m: 0.0 for m in HPARAM_METRICS})
        self.writer.file_writer.add_summary(experiment)
        self.writer.file_writer.add_summary(session_start)

    def hparams_end(self, status: str) -> None:
        _, _, session_end = hparams({}, {})
        # the plugin marks a session as failed through its status; a stopped (pruned) run is not
        if status not in ("completed", "stopped"):
            from tensorboard.plugins.hparams import api_pb2

            session_end.value[0].metadata.plugin_data.content = _end_info(
                api_pb2.STATUS_FAILURE
            )
        self.writer.file_writer.add_summary(session_end)

    def close(self) -> None:
        self.writer.flush()
        self.writer.close()


def _end_info(status: int) -> bytes:
    from tensorboard.plugins.hparams import plugin_data_pb2

    data = plugin_data_pb2.HParamsPluginData(
        version=0, session_end_info=plugin_data_pb2.SessionEndInfo(status=status)
    )
    return data.SerializeToString()
