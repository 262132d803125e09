"""Reading and writing tables for the command line (custseg._io): separators, empty and
compressed files, Arrow and pandas readers agreeing, Parquet read column by column, and
outputs staged in temporary files."""

import gzip
import os

import numpy as np
import pandas as pd
import pytest

from custseg import _io
from custseg._io import (
    StagedOutputs,
    check_output_path,
    read_table,
    release_unused_memory,
    write_table,
)
from custseg.exceptions import CustsegError

LOG = pd.DataFrame({"customer_id": [3, 1, 3, 2],
                    "date": ["2024-01-02", "2024-01-05", "2024-02-01", "2024-01-03"],
                    "amount": [10.5, 3.0, 7.25, 1.0]})


def pandas_read(path, sep=","):
    """What pandas' own parser reads, with the dates parsed: the reference."""
    frame = pd.read_csv(path, sep=sep, encoding="utf-8-sig")
    return frame.assign(date=pd.to_datetime(frame["date"]))


def typed(frame):
    return frame.assign(date=pd.to_datetime(frame["date"]).astype("datetime64[ns]"))


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_separator_is_found(tmp_path, sep):
    path = tmp_path / "log.csv"
    LOG.to_csv(path, sep=sep, index=False)
    frame = read_table(path)
    assert list(frame.columns) == ["customer_id", "date", "amount"]
    pd.testing.assert_frame_equal(typed(frame), typed(pandas_read(path, sep)))


def test_tsv_and_gzip_and_byte_order_mark(tmp_path):
    tsv = tmp_path / "log.tsv"
    LOG.to_csv(tsv, sep="\t", index=False)
    with_bom = tmp_path / "bom.csv"
    with_bom.write_bytes(b"\xef\xbb\xbf" + LOG.to_csv(index=False).encode())
    packed = tmp_path / "log.csv.gz"
    with gzip.open(packed, "wt", encoding="utf-8") as f:
        f.write(LOG.to_csv(index=False, sep=";"))
    for path in (tsv, with_bom, packed):
        frame = read_table(path)
        assert list(frame.columns) == ["customer_id", "date", "amount"], path
        pd.testing.assert_frame_equal(typed(frame), typed(LOG))


def test_iso_dates_come_typed_and_text_stays_text(tmp_path):
    path = tmp_path / "log.csv"
    LOG.assign(note=["a", "", "c", "NA"]).to_csv(path, index=False)
    frame = read_table(path)
    assert pd.api.types.is_datetime64_dtype(frame["date"])
    assert pd.api.types.is_integer_dtype(frame["customer_id"])
    assert frame["note"].isna().tolist() == [False, True, False, True]


def test_empty_file_is_an_error(tmp_path):
    path = tmp_path / "log.csv"
    path.write_bytes(b"")
    with pytest.raises(CustsegError, match=r"Cannot read '.*log\.csv' as csv: the file is "
                                           r"empty\."):
        read_table(path)
    path.write_bytes(b"\n  \n")
    with pytest.raises(CustsegError, match=r"the file is empty"):
        read_table(path)


def test_header_only_gives_the_columns_and_no_row(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("customer_id;date;amount\n", encoding="utf-8")
    frame = read_table(path)
    assert list(frame.columns) == ["customer_id", "date", "amount"] and len(frame) == 0


def test_text_that_is_not_utf8_is_an_error(tmp_path):
    path = tmp_path / "log.csv"
    path.write_bytes("customer_id,date,amount\n1,2024-01-01,café\n".encode("latin-1"))
    with pytest.raises(CustsegError, match=r"Cannot read '.*log\.csv' as csv: 'utf-8' codec "
                                           r"can't decode"):
        read_table(path)


def test_malformed_rows_are_an_error(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("customer_id,date,amount\n1,2024-01-01,3\n2,2024-01-02,4,5,6\n",
                    encoding="utf-8")
    with pytest.raises(CustsegError, match=r"Cannot read '.*log\.csv' as csv: "):
        read_table(path)


def test_a_type_that_changes_after_the_first_block_is_read_as_pandas_does(tmp_path,
                                                                          monkeypatch):
    # Arrow infers the types of a block from the first one: ids that turn to text later
    # make it fail, and pandas reads the file instead
    monkeypatch.setattr(_io, "_CSV_BLOCK_BYTES", 64)
    ids = [str(i) for i in range(40)] + ["c1", "c2"]
    path = tmp_path / "log.csv"
    pd.DataFrame({"customer_id": ids, "date": "2024-01-01", "amount": 1.0}).to_csv(
        path, index=False)
    assert _io._read_csv_arrow(path, ",") is None
    frame = read_table(path)
    assert frame["customer_id"].tolist() == ids


def test_repeated_column_names_are_read_as_pandas_does(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("customer_id,date,amount,amount\n1,2024-01-01,3,4\n", encoding="utf-8")
    assert _io._read_csv_arrow(path, ",") is None
    assert list(read_table(path).columns) == ["customer_id", "date", "amount", "amount.1"]


def test_arrow_and_pandas_readers_agree(tmp_path, rng):
    n = 500
    frame = pd.DataFrame({
        "customer_id": rng.integers(0, 50, n),
        "date": pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 10**7, n),
                                                             unit="s"),
        "amount": np.round(rng.gamma(2.0, 20.0, n), 2),
        "channel": rng.choice(["web", "store", ""], n),
        "flag": rng.choice([True, False], n),
    })
    frame.loc[rng.choice(n, 20, replace=False), "amount"] = np.nan
    path = tmp_path / "log.csv"
    frame.to_csv(path, index=False)
    arrow = _io._read_csv_arrow(path, ",")
    reference = pandas_read(path)
    pd.testing.assert_frame_equal(arrow.assign(date=arrow["date"].astype("datetime64[ns]")),
                                  reference.assign(date=reference["date"].astype(
                                      "datetime64[ns]")),
                                  check_dtype=False)


@pytest.mark.parametrize("index", [None, "named", "range"])
def test_parquet_read_column_by_column_equals_pandas(tmp_path, index):
    frame = pd.DataFrame({
        "customer_id": ["a", "b", None, "d"],
        "date": pd.to_datetime(["2020-01-01", "2020-01-02", None, "2020-01-04"]
                               ).tz_localize("Europe/Paris"),
        "tier": pd.Categorical(["x", "y", "x", "y"]),
        "count": pd.array([1, None, 3, 4], dtype="Int64"),
        "amount": [1.0, np.nan, 2.5, 4.0],
    })
    if index == "named":
        frame.index = pd.Index([10, 11, 12, 13], name="row")
    elif index == "range":
        frame.index = pd.RangeIndex(5, 9)
    path = tmp_path / "log.parquet"
    frame.to_parquet(path)
    pd.testing.assert_frame_equal(read_table(path), pd.read_parquet(path))
    release_unused_memory()  # no-op or a release: never an error


def test_output_checks(tmp_path):
    (tmp_path / "folder.csv").mkdir()
    with pytest.raises(CustsegError, match=r"Output path '.*folder\.csv' is an existing "
                                           r"folder: give a file name such as "):
        check_output_path(tmp_path / "folder.csv")
    with pytest.raises(CustsegError, match=r"The folder of the output path '.*' does not "
                                           r"exist\."):
        check_output_path(tmp_path / "nope" / "out.csv")
    assert check_output_path(tmp_path / "out.csv") == tmp_path / "out.csv"


def test_staged_outputs_appear_together_or_not_at_all(tmp_path):
    table, report = tmp_path / "out.csv", tmp_path / "report.html"
    table.write_text("previous", encoding="utf-8")
    with pytest.raises(RuntimeError, match="the report failed"):
        with StagedOutputs() as staged:
            write_table(LOG, table, staged=staged)
            staged.stage(report).write_text("half a report", encoding="utf-8")
            raise RuntimeError("the report failed")
    assert table.read_text(encoding="utf-8") == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]
    with StagedOutputs() as staged:
        write_table(LOG, table, staged=staged)
        staged.stage(report).write_text("<html></html>", encoding="utf-8")
        assert table.read_text(encoding="utf-8") == "previous"  # nothing moved yet
        staged.commit()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv", "report.html"]
    pd.testing.assert_frame_equal(pd.read_csv(table, index_col=0), LOG)
    umask = os.umask(0)
    os.umask(umask)
    assert table.stat().st_mode & 0o777 == 0o666 & ~umask


def test_write_table_parquet_and_tsv(tmp_path):
    for name in ("out.parquet", "out.tsv"):
        path = write_table(LOG, tmp_path / name, index=False)
        pd.testing.assert_frame_equal(typed(read_table(path)), typed(LOG))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.parquet", "out.tsv"]
