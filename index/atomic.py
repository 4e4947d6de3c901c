"""Replace a whole directory at once, so readers see the old one or the new one, never a mix.

Every file is written into a temporary directory beside the target; files kept from the old
directory are hard-linked in (no copy, however large). Then the two directories trade places in
one ``renameat2(RENAME_EXCHANGE)`` call where Linux offers it, and the old one is deleted. A
crash before that call leaves the old directory untouched; elsewhere two renames follow each
other, and a crash between them leaves the old directory beside the target, named
``.NAME.*.old``.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import tempfile
from collections.abc import Callable, Collection
from pathlib import Path

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def replace_dir(
    out: Path,
    write: Callable[[Path], None],
    keep_from: Path | None = None,
    skip: Collection[str] = (),
) -> None:
    """Build a new ``out`` with ``write(temp)``, keeping ``keep_from``'s files not in ``skip``."""
    out = Path(out).resolve()  # "." cannot be renamed; its absolute path can
    out.parent.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp"))
    try:
        umask = os.umask(0)
        os.umask(umask)
        temp.chmod(0o777 & ~umask)  # mkdtemp makes it private; an index is not
        if keep_from is not None:
            for path in sorted(keep_from.iterdir()):
                if path.is_file() and path.name not in skip:
                    _link_or_copy(path, temp / path.name)
        write(temp)
        _swap_in(temp, out)
    finally:
        shutil.rmtree(temp, ignore_errors=True)  # after the swap it holds the old directory


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)  # a file system without hard links


def _swap_in(temp: Path, out: Path) -> None:
    """Put ``temp`` at ``out``; the old ``out``, if any, ends up at ``temp``."""
    if not out.exists():
        os.replace(temp, out)
        return
    if _exchange(temp, out):
        return
    old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".old"))
    os.replace(out, old / out.name)
    os.replace(temp, out)
    os.replace(old / out.name, temp)
    old.rmdir()


def _exchange(first: Path, second: Path) -> bool:
    """Swap two paths atomically (Linux renameat2); False where that is not available."""
    try:
        renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    except (OSError, TypeError):  # no C library to look in (Windows)
        return False
    if renameat2 is None:
        return False
    result = renameat2(
        _AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE
    )
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False  # the file system or kernel cannot exchange
    raise OSError(code, os.strerror(code), str(second))
