"""Audit exports written to a file, in constant memory, with progress.

``ExportAudit`` streams whole lines (JSON Lines or CSV, or an integrity export: JSON Lines
with hashes and signed checkpoints) in chunks. The client writes each chunk as it arrives to a
temporary file beside the target and renames it into place only when the stream ended OK, so
a file at ``path`` is always a complete export. Reading from the connection stops while the
file is behind (back-pressure reaches the server), so memory stays bounded whatever the size.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from typing import IO, Callable, Optional, Tuple

from ._method import _enum_value
from ._proto import lockbox_pb2 as pb


@dataclass
class ExportProgress:
    """Where an export stands, after each chunk written."""

    bytes_written: int
    chunks: int
    lines: int
    elapsed: float


@dataclass
class ExportResult:
    """A finished export: where it is and how much it holds."""

    path: str
    bytes_written: int
    chunks: int
    lines: int
    elapsed: float
    format: str
    include_integrity: bool


ProgressCallback = Callable[[ExportProgress], None]


def export_format(value) -> int:
    """``"json_lines"``, ``"csv"``, an ``AuditExportFormat`` number or full name."""
    if isinstance(value, str) and value.lower() in ("jsonl", "ndjson", "json"):
        value = "json_lines"
    return _enum_value(pb.AuditExportFormat.DESCRIPTOR, value)


def format_name(number: int) -> str:
    return {0: "json_lines", 1: "json_lines", 2: "csv"}.get(number, str(number))


class _FileWriter:
    """Writes chunks to a temporary file, then renames it to ``path`` on success."""

    def __init__(self, path: str, progress: Optional[ProgressCallback]):
        self.path = os.fspath(path)
        self.progress = progress
        directory = os.path.dirname(os.path.abspath(self.path))
        fd, self.temporary = tempfile.mkstemp(prefix=".%s." % os.path.basename(self.path), suffix=".part", dir=directory)
        self.file: IO[bytes] = os.fdopen(fd, "wb")
        self.bytes_written = 0
        self.chunks = 0
        self.lines = 0
        self.started = time.monotonic()

    def write(self, data: bytes) -> ExportProgress:
        self.file.write(data)
        self.bytes_written += len(data)
        self.chunks += 1
        self.lines += data.count(b"\n")
        done = ExportProgress(self.bytes_written, self.chunks, self.lines, time.monotonic() - self.started)
        if self.progress is not None:
            self.progress(done)
        return done

    def commit(self) -> Tuple[str, int, int, int, float]:
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        os.replace(self.temporary, self.path)
        return self.path, self.bytes_written, self.chunks, self.lines, time.monotonic() - self.started

    def abandon(self) -> None:
        try:
            self.file.close()
        finally:
            try:
                os.unlink(self.temporary)
            except FileNotFoundError:
                pass
