"""TensorBoard logging: scalars on the global env step, the config as text, and hparams.

Hyperparameters go into the run's own event file through the hparams plugin's summaries (not
`SummaryWriter.add_hparams`, which writes a separate sub-run), so the HParams tab of a sweep shows
one row per job, with the last value of each scalar tag as its metrics.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import socket
import struct
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import google_crc32c
import numpy as np
from tensorboard.compat.proto.event_pb2 import Event, SessionLog
from tensorboard.compat.proto.summary_pb2 import Summary
from torch.utils.tensorboard import summary as summaries
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


def masked_crc32c(data: bytes) -> int:
    """The CRC-32C of `data`, masked as TFRecord files store it."""
    crc = google_crc32c.value(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


class EventFile:
    """A TensorBoard event file, written in the caller's thread: each Event one TFRecord
    (length, masked CRC-32C of the length, the serialized Event, masked CRC-32C of that), named
    and begun as torch's SummaryWriter names and begins its files.

    SummaryWriter hands every event to a background thread that reopens the file for each
    record and computes its CRCs in pure Python: ~30 us a scalar in a run, ~90 us when the 16
    members of a seed-batched group each have such a thread contending for the GIL, more than
    a tabular learner's whole step. Here a record is one write to the open file."""

    _uid = itertools.count()

    def __init__(self, run_dir: Path, purge_step: int | None) -> None:
        run_dir.mkdir(parents=True, exist_ok=True)
        name = "events.out.tfevents.%010d.%s.%s.%s" % (  # noqa: UP031 - SummaryWriter's pattern
            time.time(),
            socket.gethostname(),
            os.getpid(),
            next(self._uid),
        )
        self.path = run_dir / name
        # unbuffered: each record reaches the OS when written, so a run killed (SIGKILL) keeps
        # every event it logged, as its last checkpoint expects
        self._file = open(self.path, "wb", buffering=0)  # noqa: SIM115 - open until close()
        self.add(Event(wall_time=time.time(), file_version="brain.Event:2"))
        if purge_step is not None:  # TensorBoard hides the earlier files' steps from here on
            self.add(Event(step=purge_step, file_version="brain.Event:2"))
            self.add(Event(step=purge_step, session_log=SessionLog(status=SessionLog.START)))

    def add(self, event: Event) -> None:
        data = event.SerializeToString()
        header = struct.pack("<Q", len(data))
        self._file.write(
            header
            + struct.pack("<I", masked_crc32c(header))
            + data
            + struct.pack("<I", masked_crc32c(data))
        )

    def add_summary(self, summary: Summary, step: int | None = None) -> None:
        event = Event(wall_time=time.time(), summary=summary)
        if step is not None:
            event.step = int(step)
        self.add(event)

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()


class TensorBoardLogger:
    def __init__(self, run_dir: Path, purge_step: int | None = None) -> None:
        """`purge_step`: a resumed run hides whatever an earlier process logged at this step or
        later (after its last checkpoint), so the curves continue without duplicates. The event
        file is created at the first write."""
        self.run_dir, self.purge_step = run_dir, purge_step
        self._events: EventFile | None = None

    @property
    def opened(self) -> bool:
        return self._events is not None

    @property
    def events(self) -> EventFile:
        if self._events is None:
            after_earlier_files(self.run_dir)
            self._events = EventFile(self.run_dir, self.purge_step)
        return self._events

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """A failed write (a full disk): one line naming the directory, not its traceback."""
        try:
            yield
        except OSError as e:
            raise RlrunError(
                f"could not write TensorBoard events in {self.run_dir}: {e.strerror or e}"
            ) from None

    def scalar(self, tag: str, value: float, step: int) -> None:
        with self._writing():
            self.events.add_summary(summaries.scalar(tag, value), step)

    def image(self, tag: str, rgb: np.ndarray, step: int) -> None:
        """An (H, W, 3) uint8 image in TensorBoard's Images tab."""
        with self._writing():
            self.events.add_summary(summaries.image(tag, rgb, dataformats="HWC"), step)

    def gif(self, tag: str, data: bytes, step: int) -> None:
        """An animated GIF, shown (and played) in TensorBoard's Images tab."""
        import imageio.v3 as iio

        height, width = iio.improps(data, extension=".gif", index=0).shape[:2]
        image = Summary.Image(height=height, width=width, colorspace=3, encoded_image_string=data)
        with self._writing():
            self.events.add_summary(Summary(value=[Summary.Value(tag=tag, image=image)]), step)

    def margin_charts(self, category: str, charts: dict[str, tuple[str, str, str]]) -> None:
        """Custom Scalars charts of a value with its band: title -> (value, lower, upper) tags."""
        layout = {category: {title: ["Margin", list(tags)] for title, tags in charts.items()}}
        with self._writing():
            self.events.add_summary(summaries.custom_scalars(layout))

    def text(self, tag: str, text: str) -> None:
        with self._writing():
            self.events.add_summary(summaries.text(tag, text))

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
            self.events.add_summary(session_start)

    def hparams_end(self, status: str) -> None:
        _, _, session_end = hparams({}, {})
        # the plugin marks a session as failed through its status; a stopped (pruned) run is not
        if status not in FINISHED:
            from tensorboard.plugins.hparams import api_pb2

            session_end.value[0].metadata.plugin_data.content = _end_info(api_pb2.STATUS_FAILURE)
        with self._writing():
            self.events.add_summary(session_end)

    def close(self) -> None:
        if self._events is not None:
            with self._writing():
                self._events.close()


def _end_info(status: int) -> bytes:
    from tensorboard.plugins.hparams import plugin_data_pb2

    data = plugin_data_pb2.HParamsPluginData(
        version=0, session_end_info=plugin_data_pb2.SessionEndInfo(status=status)
    )
    return data.SerializeToString()
