"""Atomic artefact writes: a file is either its old version or its complete new one, never half written.

``atomic_write`` writes to a temporary file in the target's directory, flushes and fsyncs it, then
``os.replace``s it over the target (and fsyncs the directory), so a kill or a crash mid-write leaves the previous
file (or none) behind. ``save_weights`` (``torch.save`` of plain data), ``write_text_atomic`` and ``savefig_atomic``
are the three ways batpal writes its artefacts.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import torch

from batpal.safe_load import check_plain


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "wb", **open_kwargs: Any) -> Iterator[IO]:
    """A file object to write ``path``'s new content into; ``path`` is replaced only when the block succeeds.

    ``mode`` is "wb" or "w" (text: UTF-8 unless ``encoding`` is given; ``newline=""`` for csv).
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write writes a whole new file: mode 'w' or 'wb', not {mode!r}.")
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    if "b" not in mode:
        open_kwargs.setdefault("encoding", "utf-8")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)  # umask applies
    try:
        with os.fdopen(fd, mode, **open_kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def save_weights(obj: Any, path: str | Path, what: str = "artefact") -> None:
    """``torch.save(obj)`` to ``path`` atomically; ``obj`` must be plain (tensors and plain containers) so that the
    file loads with ``weights_only=True`` (a ``TypeError`` before anything is written otherwise)."""
    check_plain(obj, f"{what} {Path(path).name}")
    with atomic_write(path) as f:
        torch.save(obj, f)


def write_text_atomic(path: str | Path, text: str) -> None:
    """``path.write_text(text)`` (UTF-8), atomically."""
    with atomic_write(path, "w") as f:
        f.write(text)


def savefig_atomic(fig: Any, path: str | Path, **kwargs: Any) -> None:
    """``fig.savefig(path, **kwargs)`` atomically; the format is ``path``'s suffix (png unless it says otherwise)."""
    path = Path(path)
    kwargs.setdefault("format", path.suffix.lstrip(".") or "png")
    with atomic_write(path) as f:
        fig.savefig(f, **kwargs)


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where directories cannot be opened (Windows)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
