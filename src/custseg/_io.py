"""Reading and writing tables for the command line: CSV or Parquet by extension, atomic
writes (temporary file then rename), and no output that overwrites an input."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

from .exceptions import CustsegError

__all__ = ["read_table", "write_table", "atomic_write_text", "check_output_path"]

_PARQUET = {".parquet", ".pq"}
_CSV = {".csv", ".txt", ".tsv"}


def _kind(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in {".gz", ".bz2", ".zip", ".xz", ".zst"}:
        suffixes = suffixes[:-1]
    ext = suffixes[-1] if suffixes else ""
    if ext in _PARQUET:
        return "parquet"
    if ext in _CSV:
        return "csv"
    raise CustsegError(
        f"Cannot tell the format of '{path}': use a .csv, .tsv or .parquet file name."
    )


def read_table(path, *, dtype_backend: str | None = None) -> pd.DataFrame:
    """Read a CSV (any encoding-safe UTF-8, ``,`` ``;`` or tab separated) or Parquet file."""
    path = Path(path)
    if not path.exists():
        raise CustsegError(f"Input file '{path}' does not exist.")
    if path.is_dir():
        raise CustsegError(f"Input '{path}' is a folder, not a file.")
    kind = _kind(path)
    try:
        if kind == "parquet":
            return pd.read_parquet(path)
        sep = "\t" if path.suffix.lower() == ".tsv" else None
        return pd.read_csv(path, sep=sep, engine="python" if sep is None else "c",
                           encoding="utf-8-sig")
    except ImportError as exc:
        raise CustsegError(
            f"Reading '{path}' needs an optional package: {exc}. "
            "Install it with: pip install 'custseg[parquet]'."
        ) from exc
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError,
            OSError, ValueError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CustsegError(f"Cannot read '{path}' as {kind}: {first_line}") from exc


def check_output_path(out, inputs=()) -> Path:
    """Refuse an output path that is one of the inputs (same file after resolving links)."""
    out = Path(out)
    for inp in inputs:
        inp = Path(inp)
        if out.resolve() == inp.resolve() or (
            out.exists() and inp.exists() and os.path.samefile(out, inp)
        ):
            raise CustsegError(
                f"Output path '{out}' is the input file: choose another output name "
                "(custseg never overwrites its input)."
            )
    if out.parent and not out.parent.exists():
        raise CustsegError(f"The folder of the output path '{out}' does not exist.")
    return out


def _atomic(path: Path, write):
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp",
                               dir=str(path.parent) if str(path.parent) else ".")
    os.close(fd)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the usual mode
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_table(frame: pd.DataFrame, path, *, index: bool = True) -> Path:
    """Write ``frame`` as CSV or Parquet (by extension) atomically."""
    path = Path(path)
    kind = _kind(path)

    def write(tmp):
        if kind == "parquet":
            try:
                frame.to_parquet(tmp, index=index)
            except ImportError as exc:
                raise CustsegError(
                    f"Writing '{path}' needs an optional package: {exc}. "
                    "Install it with: pip install 'custseg[parquet]'."
                ) from exc
        else:
            frame.to_csv(tmp, index=index, sep="\t" if path.suffix.lower() == ".tsv" else ",")

    _atomic(path, write)
    return path


def atomic_write_text(path, text: str) -> Path:
    path = Path(path)

    def write(tmp):
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)

    _atomic(path, write)
    return path
