"""TensorBoard logging: scalars on the global env step, the config as text, and hparams.

Hyperparameters go into the run's own event file through the hparams plugin's summaries (not
`SummaryWriter.add_hparams`, which writes a separate sub-run), so the HParams tab of a sweep shows
one row per job, with the last value of each scalar tag as its metrics.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from torch.utils.tensorboard import SummaryWriter
from torch.utils.tensorboard.summary import hparams

from rlrun.errors import RlrunError
from rlrun.records import FINISHED


def after_earlier_files(run_dir: Path) -> None:
    """Wait, if need be, until a new event file will sort after the run directory's others.

    TensorBoard reads a directory's event files in name order, and a name is the creation
    second, then the pid and a counter, neither zero-padded: a file made in the same second as
    an earlier one (a run resumed at once) can sort before it ("...pid.10" < "...pid.9"), and its
    purge of the steps after the checkpoint would then be read before the steps it purges."""
    seconds = [
        int(parts[3])
        for p in run_dir.glob("events.out.tfevents.*")
        if len(parts := p.name.split(".")) > 3 and parts[3].isdigit()
    ]
    while seconds and int(time.time()) <= max(seconds):
        time.sleep(0.02)


class TensorBoardLogger:
    def __init__(self, run_dir: Path, purge_step: int | None = None) -> None:
        """`purge_step`: a resumed run hides whatever an earlier process logged at this step or
        later (after its last checkpoint), so the curves continue without duplicates. The event
        file is created at the first write."""
        self.run_dir, self.purge_step = run_dir, purge_step
        self._writer: SummaryWriter | None = None

    @property
    def opened(self) -> bool:
        return self._writer is not None

    @property
    def writer(self) -> SummaryWriter:
        if self._writer is None:
            after_earlier_files(self.run_dir)
            self._writer = SummaryWriter(log_dir=str(self.run_dir), purge_step=self.purge_step)
        return self._writer

    def _file_writer(self) -> Any:
        writer = self.writer.file_writer
        assert writer is not None  # created with the SummaryWriter, None only once closed
        return writer

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """The event file is written by a background thread, which reports a failed write (a
        full disk) at the next call: one line naming the directory instead of its traceback."""
        try:
            yield
        except OSError as e:
            raise RlrunError(
                f"could not write TensorBoard events in {self.run_dir}: {e.strerror or e}"
            ) from None

    def scalar(self, tag: str, value: float, step: int) -> None:
        with self._writing():
            self.writer.add_scalar(tag, value, step)

    def image(self, tag: str, rgb: np.ndarray, step: int) -> None:
        """An (H, W, 3) uint8 image in TensorBoard's Images tab."""
        with self._writing():
            self.writer.add_image(tag, rgb, step, dataformats="HWC")

    def gif(self, tag: str, data: bytes, step: int) -> None:
        """An animated GIF, shown (and played) in TensorBoard's Images tab."""
        import imageio.v3 as iio
        from tensorboard.compat.proto.summary_pb2 import Summary

        height, width = iio.improps(data, extension=".gif", index=0).shape[:2]
        image = Summary.Image(height=height, width=width, colorspace=3, encoded_image_string=data)
        summary = Summary(value=[Summary.Value(tag=tag, image=image)])
        with self._writing():
            self._file_writer().add_summary(summary, step)

    def margin_charts(self, category: str, charts: dict[str, tuple[str, str, str]]) -> None:
        """Custom Scalars charts of a value with its band: title -> (value, lower, upper) tags."""
        layout = {category: {title: ["Margin", list(tags)] for title, tags in charts.items()}}
        with self._writing():
            self.writer.add_custom_scalars(layout)

    def text(self, tag: str, text: str) -> None:
        with self._writing():
            self.writer.add_text(tag, text)

    def hparams_start(self, params: dict[str, Any]) -> None:
        """This run's session: its hyperparameters. No experiment summary is written, on purpose.

        TensorBoard reads the HParams columns from ONE experiment summary, the first it finds
        among the runs (tensorflow/tensorboard#5596, #6965): with one per job, a sweep over
        agents with different hyperparameters (or `--logdir outputs` over many sweeps) shows the
        columns of whichever job comes first, and the other jobs' own hyperparameters vanish.
        Without any, the plugin builds the experiment from every run's session: the union of
        all hyperparameters (with their domains and which of them differ), and as metrics every
        scalar tag, each job showing its last value (eval/mean_return, eval/success_rate, ...).
        """
        _, session_start, _ = hparams(params, {})
        with self._writing():
            self._file_writer().add_summary(session_start)

    def hparams_end(self, status: str) -> None:
        _, _, session_end = hparams({}, {})
        # the plugin marks a session as failed through its status; a stopped (pruned) run is not
        if status not in FINISHED:
            from tensorboard.plugins.hparams import api_pb2

            session_end.value[0].metadata.plugin_data.content = _end_info(api_pb2.STATUS_FAILURE)
        with self._writing():
            self._file_writer().add_summary(session_end)

    def close(self) -> None:
        if self._writer is not None:
            with self._writing():
                self._writer.flush()
                self._writer.close()


def _end_info(status: int) -> bytes:
    from tensorboard.plugins.hparams import plugin_data_pb2

    data = plugin_data_pb2.HParamsPluginData(
        version=0, session_end_info=plugin_data_pb2.SessionEndInfo(status=status)
    )
    return data.SerializeToString()
