"""Read the arrays and tables seqae wrote, with one line naming a damaged file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from seqae.errors import SeqaeError


def _damaged(path: Path, error: Exception, remedy: str) -> SeqaeError:
    reason = str(error).splitlines()[0] if str(error) else type(error).__name__
    return SeqaeError(f"{path}: damaged or cut short ({reason}); {remedy}")


def read_array(path: Path, remedy: str, mmap: bool = False) -> np.ndarray:
    """``np.load`` a ``.npy`` file (memory-mapped with ``mmap``)."""
    try:
        return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except FileNotFoundError:
        raise SeqaeError(f"{path}: missing; {remedy}") from None
    except (OSError, ValueError, EOFError) as error:
        raise _damaged(path, error, remedy) from None


def read_parquet(path: Path, remedy: str) -> pa.Table:
    """``pq.read_table`` a parquet file."""
    try:
        return pq.read_table(path)
    except FileNotFoundError:
        raise SeqaeError(f"{path}: missing; {remedy}") from None
    except (OSError, pa.ArrowException) as error:
        raise _damaged(path, error, remedy) from None
