"""Reading and writing tables for the command line: CSV or Parquet by extension, atomic
writes (temporary files renamed once every output is complete), and no output that
overwrites an input or a folder."""

from __future__ import annotations

import bz2
import csv
import gzip
import lzma
import os
import sys
import tempfile
from pathlib import Path

import pandas as pd

from .exceptions import CustsegError

__all__ = ["read_table", "write_table", "atomic_write_text", "check_output_path",
           "StagedOutputs", "release_unused_memory"]

_PARQUET = {".parquet", ".pq"}
_CSV = {".csv", ".txt", ".tsv"}
_OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
_SEPARATORS = ",;\t|"
_SNIFF_BYTES = 64 * 1024
_CSV_BLOCK_BYTES = 1 << 24  # Arrow reads a CSV file in blocks of this size


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


def _head(path: Path) -> bytes | None:
    """The first bytes of the (decompressed) file, or None when they cannot be had here."""
    opener = _OPENERS.get(path.suffix.lower(), open if path.suffix.lower() not in
                          {".zip", ".zst"} else None)
    if opener is None:
        return None
    with opener(path, "rb") as f:
        return f.read(_SNIFF_BYTES)


def _separator(path: Path) -> str | None:
    """The field separator among ``, ; tab |``, read from the head of the file.

    Returns None when the head cannot be read here (zip and zstd archives: pandas then
    sniffs it). Raises a CustsegError for an empty file.
    """
    if path.suffix.lower() == ".tsv" or (len(path.suffixes) > 1 and
                                         path.suffixes[-2].lower() == ".tsv"):
        return "\t"
    head = _head(path)
    if head is None:
        return None
    text = head.decode("utf-8-sig", errors="replace")
    if not text.strip():
        raise CustsegError(f"Cannot read '{path}' as csv: the file is empty.")
    lines = text.splitlines()
    if len(head) == _SNIFF_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut
    sample = "\n".join(lines[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters=_SEPARATORS).delimiter
    except csv.Error:
        header = lines[0]
        counts = {sep: header.count(sep) for sep in _SEPARATORS}
        best = max(counts, key=counts.get)
        return best if counts[best] else ","


def _read_parquet(path: Path) -> pd.DataFrame:
    """Read a Parquet file one column at a time.

    Each column is decoded and handed to pandas without a copy
    (``to_pandas(self_destruct=True, split_blocks=True)``) and the buffers of the decoding
    are given back before the next column, so the peak memory is the frame plus one
    column's buffers instead of about twice the frame. The result equals
    :func:`pandas.read_parquet` (dtypes from the pandas metadata, stored index restored).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    pool = pa.default_memory_pool()
    source = pq.ParquetFile(path)
    meta = source.schema_arrow.pandas_metadata or {}
    index_columns = [c for c in meta.get("index_columns", []) if isinstance(c, str)]
    columns = {}
    for name in source.schema_arrow.names:
        if name in index_columns:
            continue
        table = source.read(columns=[name], use_pandas_metadata=False)
        columns[name] = table.to_pandas(self_destruct=True, split_blocks=True).iloc[:, 0]
        del table
        pool.release_unused()
    index = source.read(columns=[], use_pandas_metadata=True).to_pandas().index
    frame = pd.DataFrame(columns, copy=False)
    if len(index) == len(frame):
        frame.index = index
    return frame


#: Text read as missing, as pandas.read_csv does by default.
_NA_VALUES = ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan",
              "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan",
              "null"]


def _read_csv_arrow(path: Path, sep: str) -> pd.DataFrame | None:
    """Read a CSV file with Arrow's streaming reader, or None to let pandas read it.

    Columns come typed (integers, floats, ISO dates and timestamps as ``datetime64``)
    instead of as text, the file is read in blocks rather than held whole, and each
    column is handed to pandas without a second copy, so the peak memory is about the
    typed frame plus one column. Anything Arrow reads differently from pandas (a type
    that changes after the first block, text that is not UTF-8, quoted line breaks,
    repeated column names) returns None, and the caller reads the file with pandas.
    """
    try:
        import pyarrow as pa
        import pyarrow.csv as pacsv
    except ImportError:
        return None
    try:
        reader = pacsv.open_csv(
            path, read_options=pacsv.ReadOptions(block_size=_CSV_BLOCK_BYTES),
            parse_options=pacsv.ParseOptions(delimiter=sep),
            convert_options=pacsv.ConvertOptions(null_values=_NA_VALUES,
                                                 strings_can_be_null=True))
        batches = list(reader)
        table = pa.Table.from_batches(batches, schema=reader.schema)
        del batches, reader
    except (pa.ArrowException, ValueError, OSError):
        return None
    names = table.column_names
    if len(set(names)) != len(names) or any(
            pa.types.is_binary(t) or pa.types.is_large_binary(t) for t in table.schema.types):
        return None
    frame = table.to_pandas(self_destruct=True, split_blocks=True, date_as_object=False)
    del table
    pa.default_memory_pool().release_unused()
    return frame


def release_unused_memory() -> None:
    """Give the memory that Arrow's allocator keeps after frees back to the system.

    A log read from Parquet lives in Arrow buffers; Arrow's allocator (mimalloc or
    jemalloc) keeps freed pages for reuse, so dropping the log would not lower the
    resident memory of the rest of the job without this call. No-op without pyarrow.
    """
    pa = sys.modules.get("pyarrow")
    if pa is not None:
        pa.default_memory_pool().release_unused()


def read_table(path, *, dtype_backend: str | None = None) -> pd.DataFrame:
    """Read a CSV (UTF-8, ``,`` ``;`` ``|`` or tab separated) or a Parquet file.

    The separator of a CSV file is found from its first lines; the file is then read by
    Arrow's CSV reader when pyarrow is installed (typed columns, low memory), else, or
    when Arrow would read it differently, by pandas' C parser. Unreadable files (empty,
    not UTF-8, malformed, not Parquet) raise a CustsegError that names the file.
    """
    path = Path(path)
    if not path.exists():
        raise CustsegError(f"Input file '{path}' does not exist.")
    if path.is_dir():
        raise CustsegError(f"Input '{path}' is a folder, not a file.")
    kind = _kind(path)
    try:
        if kind == "parquet":
            if dtype_backend is not None:
                return pd.read_parquet(path, dtype_backend=dtype_backend)
            return _read_parquet(path)
        sep = _separator(path)
        options = {} if dtype_backend is None else {"dtype_backend": dtype_backend}
        if sep is None:
            return pd.read_csv(path, sep=None, engine="python", encoding="utf-8-sig",
                               **options)
        if dtype_backend is None:
            frame = _read_csv_arrow(path, sep)
            if frame is not None:
                return frame
        return pd.read_csv(path, sep=sep, engine="c", encoding="utf-8-sig",
                           low_memory=False, **options)
    except ImportError as exc:
        raise CustsegError(
            f"Reading '{path}' needs an optional package: {exc}. "
            "Install it with: pip install 'custseg[parquet]'."
        ) from exc
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError,
            csv.Error, OSError, EOFError, ValueError) as exc:
        if isinstance(exc, CustsegError):
            raise
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CustsegError(f"Cannot read '{path}' as {kind}: {first_line}") from exc


def check_output_path(out, inputs=()) -> Path:
    """Refuse an output path that is one of the inputs (same file after resolving links),
    an existing folder, or a path in a folder that does not exist."""
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
    if out.is_dir():
        raise CustsegError(
            f"Output path '{out}' is an existing folder: give a file name such as "
            f"'{out / 'customers.csv'}'."
        )
    if out.parent and not out.parent.exists():
        raise CustsegError(f"The folder of the output path '{out}' does not exist.")
    return out


class StagedOutputs:
    """Write several outputs to temporary files and rename them all at the end.

    ``stage(path)`` gives a hidden temporary file in the folder of ``path``; after every
    output is written, ``commit()`` renames each onto its path (``os.replace``, atomic on
    one file system). Leaving the ``with`` block without a commit (an error, an
    interrupt) removes the temporary files and leaves the previous outputs untouched.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> with StagedOutputs() as staged:
    ...     tmp = staged.stage(folder / "a.txt")
    ...     _ = tmp.write_text("done")
    ...     staged.commit()
    >>> sorted(p.name for p in folder.iterdir())
    ['a.txt']
    """

    def __init__(self):
        self._staged: list[tuple[Path, Path]] = []

    def stage(self, path) -> Path:
        path = Path(path)
        folder = path.parent if str(path.parent) else Path(".")
        fd, tmp = tempfile.mkstemp(prefix=f".{_safe_name(path.name)}.", suffix=".tmp",
                                   dir=folder)
        os.close(fd)
        self._staged.append((Path(tmp), path))
        return Path(tmp)

    def commit(self) -> None:
        umask = os.umask(0)
        os.umask(umask)
        while self._staged:
            tmp, path = self._staged[0]
            os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the usual mode
            os.replace(tmp, path)
            self._staged.pop(0)

    def discard(self) -> None:
        while self._staged:
            tmp, _ = self._staged.pop()
            try:
                os.unlink(tmp)
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.discard()
        return False


def _safe_name(name: str) -> str:
    """A file name that the file system accepts back: undecodable bytes kept as they were
    (``surrogateescape``), other lone surrogates escaped."""
    try:
        os.fsencode(name)
        return name
    except UnicodeEncodeError:
        return name.encode("utf-8", "backslashreplace").decode("ascii", "replace")


def _write_frame(frame: pd.DataFrame, tmp: Path, path: Path, kind: str, index: bool):
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


def write_table(frame: pd.DataFrame, path, *, index: bool = True,
                staged: StagedOutputs | None = None) -> Path:
    """Write ``frame`` as CSV or Parquet (by extension) atomically.

    With ``staged``, the table goes to a temporary file of ``staged`` and reaches
    ``path`` only at ``staged.commit()``.
    """
    path = Path(path)
    kind = _kind(path)
    if staged is not None:
        _write_frame(frame, staged.stage(path), path, kind, index)
        return path
    with StagedOutputs() as own:
        _write_frame(frame, own.stage(path), path, kind, index)
        own.commit()
    return path


def atomic_write_text(path, text: str) -> Path:
    path = Path(path)
    with StagedOutputs() as staged:
        staged.stage(path).write_text(text, encoding="utf-8")
        staged.commit()
    return path
