"""Bad-input catalogue and file safety of ``custseg segment``.

Every case runs the command in-process through :func:`custseg.cli.main`. A user error
must exit with code 2 and print one line on stderr (no traceback); other cases must
succeed with one row per customer and no NaN. The command must never overwrite one of
its inputs, whatever path leads to it, and must write its outputs atomically: a job that
fails midway leaves no temporary file behind and the previous output untouched.
"""

import os
import re
import shutil

import numpy as np
import pandas as pd
import pytest

import custseg.report
from custseg.cli import main
from custseg.datasets import make_transactions
from custseg.exceptions import CustsegError

N_CUSTOMERS = 40

# the fits of 40 simulated customers may not converge; the subject here is the command
pytestmark = pytest.mark.filterwarnings("ignore::custseg.exceptions.ConvergenceWarning")


def make_log(n_customers=N_CUSTOMERS, seed=0) -> pd.DataFrame:
    """A simulated BG/NBD log (78 weeks from 2020-01-01), dates as ISO text."""
    log = make_transactions(n_customers, random_state=seed).transactions
    return log.assign(date=log["date"].dt.strftime("%Y-%m-%d"))


def rows_of(log, customer):
    return log.index[log["customer_id"] == customer]


def regular_customer(log):
    """The customer with the most purchases."""
    return int(log["customer_id"].value_counts().idxmax())


@pytest.fixture
def log():
    return make_log()


class Run:
    """One ``custseg segment`` run: exit code, stdout, stderr and the output table."""

    def __init__(self, tmp_path, capsys, data, *args, name="log.csv", out="out.csv"):
        self.input = tmp_path / name
        if isinstance(data, pd.DataFrame):
            data.to_csv(self.input, index=False)
        elif isinstance(data, bytes):
            self.input.write_bytes(data)
        else:
            self.input.write_text(data, encoding="utf-8")
        self.out = tmp_path / out
        self.code = main(["segment", str(self.input), "--out", str(self.out),
                          "--no-progress", *map(str, args)])
        captured = capsys.readouterr()
        self.stdout, self.stderr = captured.out, captured.err

    @property
    def table(self) -> pd.DataFrame:
        return pd.read_csv(self.out, index_col="customer_id")

    def assert_user_error(self, pattern, *, out_existed=False):
        """Exit code 2, one line on stderr matching ``pattern``, no output written."""
        assert self.code == 2, self.stderr
        assert self.stderr.count("\n") == 1, self.stderr
        assert self.stderr.startswith("custseg segment: error: ")
        assert "Traceback" not in self.stderr
        assert re.search(pattern, self.stderr), self.stderr
        if not out_existed:
            assert not self.out.exists()

    def assert_success(self, n_customers):
        assert self.code == 0, self.stderr
        assert f"({n_customers} customers)" in self.stdout
        table = self.table
        assert len(table) == n_customers and table.index.is_unique
        numeric = table.select_dtypes("number")
        assert not numeric.isna().any().any()
        for column in ("value_tier", "rfm_segment", "lifecycle", "segment_name"):
            assert table[column].notna().all()
        return table


@pytest.fixture(scope="module")
def base_table(tmp_path_factory):
    """The output of the clean log, to compare other runs with."""
    folder = tmp_path_factory.mktemp("base")
    make_log().to_csv(folder / "log.csv", index=False)
    assert main(["segment", str(folder / "log.csv"), "--out", str(folder / "out.csv"),
                 "--no-progress"]) == 0
    return pd.read_csv(folder / "out.csv", index_col="customer_id")


def no_temporary_files(folder):
    leftovers = [p.name for p in folder.iterdir()
                 if p.name.endswith((".tmp", ".partial")) or p.name.startswith(".")]
    assert leftovers == []


# ---- input files ----------------------------------------------------------------------------

def test_header_only(tmp_path, capsys):
    run = Run(tmp_path, capsys, "customer_id,date,amount\n")
    run.assert_user_error(r"no rows")
    assert "missing customer id" not in run.stderr


def test_zero_byte_file(tmp_path, capsys):
    Run(tmp_path, capsys, b"").assert_user_error(r"Cannot read .*log\.csv")


def test_binary_garbage(tmp_path, capsys):
    rng = np.random.default_rng(1)
    garbage = bytes(rng.integers(128, 256, 3000, dtype=np.uint8))
    Run(tmp_path, capsys, garbage).assert_user_error(r"Cannot read '.*log\.csv' as csv")


def test_csv_named_parquet(tmp_path, capsys, log):
    path = tmp_path / "log.parquet"
    log.to_csv(path, index=False)
    run = Run(tmp_path, capsys, path.read_bytes(), name="log.parquet")
    run.assert_user_error(r"Cannot read '.*log\.parquet' as parquet")


def test_missing_input_file(tmp_path, capsys):
    code = main(["segment", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "o.csv")])
    assert code == 2
    assert re.fullmatch(r"custseg segment: error: Input file '.*nope\.csv' does not "
                        r"exist\.\n", capsys.readouterr().err)


# ---- columns --------------------------------------------------------------------------------

def test_renamed_columns(tmp_path, capsys, log):
    run = Run(tmp_path, capsys, log.rename(columns={"customer_id": "kunde", "date": "tag"}))
    run.assert_user_error(r"Cannot find the customer id column among \['kunde', 'tag', "
                          r"'amount'\]: name it with --customer-id COL\.")


def test_renamed_columns_named_on_the_command_line(tmp_path, capsys, log, base_table):
    renamed = log.rename(columns={"customer_id": "kunde", "date": "tag", "amount": "betrag"})
    run = Run(tmp_path, capsys, renamed, "--customer-id", "kunde", "--date", "tag",
              "--amount", "betrag")
    pd.testing.assert_frame_equal(run.assert_success(N_CUSTOMERS), base_table)


def test_named_column_absent(tmp_path, capsys, log):
    run = Run(tmp_path, capsys, log, "--amount", "revenue")
    run.assert_user_error(r"Column 'revenue' \(given as the amount column\) is not in the "
                          r"input")


def test_no_amount_column(tmp_path, capsys, log, base_table):
    run = Run(tmp_path, capsys, log.drop(columns="amount"))
    table = run.assert_success(N_CUSTOMERS)
    absent = ["monetary_value", "total_spend", "expected_spend", "clv", "M"]
    assert not set(absent) & set(table.columns)
    same = ["frequency", "recency", "T", "expected_purchases", "p_alive", "lifecycle"]
    pd.testing.assert_frame_equal(table[same], base_table[same])
    assert "note: no amount column: the table has no monetary_value" in run.stderr


# ---- customer ids ---------------------------------------------------------------------------

def test_some_missing_and_blank_ids(tmp_path, capsys, log):
    ids = log["customer_id"].astype(object)
    ids[rows_of(log, 1)] = np.nan  # every row of customer 1
    regular = regular_customer(log)
    ids[rows_of(log, regular)[:1]] = "   "  # one row of a customer with several
    run = Run(tmp_path, capsys, log.assign(customer_id=ids))
    table = run.assert_success(N_CUSTOMERS - 1)
    assert 1 not in table.index and regular in table.index


def test_all_ids_missing(tmp_path, capsys, log):
    run = Run(tmp_path, capsys, log.assign(customer_id=np.nan))
    run.assert_user_error(rf"Column 'customer_id': cleaning dropped all {len(log)} rows; "
                          rf"{len(log)} of them for missing customer id\. .*First 5 shown:")


def test_mixed_type_ids(tmp_path, capsys, log):
    ids = [f"c{i}" if i % 2 else i for i in log["customer_id"]]
    run = Run(tmp_path, capsys, log.assign(customer_id=ids))
    table = run.assert_success(N_CUSTOMERS)
    assert {"c1", "2"} <= set(table.index.astype(str))


# ---- dates ----------------------------------------------------------------------------------

def test_day_first_dates_with_their_format(tmp_path, capsys, log, base_table):
    dates = pd.to_datetime(log["date"]).dt.strftime("%d/%m/%Y")
    run = Run(tmp_path, capsys, log.assign(date=dates), "--date-format", "%d/%m/%Y")
    pd.testing.assert_frame_equal(run.assert_success(N_CUSTOMERS), base_table)


def test_day_first_dates_without_a_format(tmp_path, capsys, log, base_table):
    # the order is read from the dates (a first field above 12), not from the first one
    # only, and said on stderr; no date is dropped or read with day and month swapped
    dates = pd.to_datetime(log["date"]).dt.strftime("%d/%m/%Y")
    run = Run(tmp_path, capsys, log.assign(date=dates))
    assert re.search(r"'date'.*\b\d+ of \d+ rows\b|\b\d+ of \d+ rows\b.*date", run.stderr)
    pd.testing.assert_frame_equal(run.assert_success(N_CUSTOMERS), base_table)
    assert re.fullmatch(rf"custseg segment: note: column 'date': dates read day first "
                        rf"\('%d/%m/%Y'\): \d+ of {len(log)} rows have a first field above "
                        r"12, such as '\d\d/\d\d/\d{4}'; pass --date-format to read them "
                        r"otherwise\.\n", run.stderr)


def test_day_first_dates_starting_with_an_ambiguous_one(tmp_path, capsys, log, base_table):
    # pandas alone reads the column with the format of its first date: month first here
    log = log.sort_values("date", ignore_index=True)
    dates = pd.to_datetime(log["date"])
    assert dates.iloc[0].day <= 12 < dates.dt.day.max()
    run = Run(tmp_path, capsys, log.assign(date=dates.dt.strftime("%d/%m/%Y")))
    pd.testing.assert_frame_equal(run.assert_success(N_CUSTOMERS), base_table)
    assert "dates read day first ('%d/%m/%Y')" in run.stderr


def test_dates_written_in_both_orders(tmp_path, capsys, log):
    dates = pd.to_datetime(log["date"])
    text = dates.dt.strftime("%d/%m/%Y")
    flip = (dates.dt.day > 12) & (np.arange(len(log)) % 4 == 0)
    text[flip] = dates[flip].dt.strftime("%m/%d/%Y")
    run = Run(tmp_path, capsys, log.assign(date=text))
    run.assert_user_error(rf"Column 'date': {int(flip.sum())} of {len(log)} rows are "
                          r"written month first .* --date-format")


def test_unparseable_dates(tmp_path, capsys, log):
    run = Run(tmp_path, capsys, log.assign(date="someday"))
    run.assert_user_error(rf"Column 'date': cleaning dropped all {len(log)} rows; "
                          rf"{len(log)} of them for bad date\. Check the date column and "
                          rf"pass --date-format\. First 5 shown: .*someday")


def test_some_unparseable_dates_are_dropped(tmp_path, capsys, log):
    dates = log["date"].copy()
    dates[rows_of(log, 1)] = "31/02/2020"  # every row of customer 1
    run = Run(tmp_path, capsys, log.assign(date=dates))
    table = run.assert_success(N_CUSTOMERS - 1)
    assert 1 not in table.index
    n_bad = len(rows_of(log, 1))
    assert run.stderr == (f"custseg segment: note: cleaning dropped {n_bad} of {len(log)} "
                          f"rows: {n_bad} for bad date (column 'date').\n")


def test_dates_beyond_the_observation_end(tmp_path, capsys, log):
    end = "2020-02-15"  # customers arrive in the first 12 weeks
    dates = pd.to_datetime(log["date"])
    seen = log.loc[dates <= end, "customer_id"].nunique()
    assert 0 < seen < N_CUSTOMERS
    run = Run(tmp_path, capsys, log, "--observation-end", end)
    table = run.assert_success(seen)
    weeks = (pd.Timestamp(end) - dates.min()).days / 7
    assert (table["T"] <= weeks).all() and (table["recency"] <= table["T"]).all()


def test_observation_end_before_every_date(tmp_path, capsys, log):
    run = Run(tmp_path, capsys, log, "--observation-end", "2019-01-01")
    run.assert_user_error(rf"Column 'date': cleaning dropped all {len(log)} rows; "
                          rf"{len(log)} of them for after observation end")


def test_observation_end_long_after_the_last_purchase(tmp_path, capsys, log):
    # the optional holdout check is skipped, with a note, instead of failing the job
    run = Run(tmp_path, capsys, log, "--observation-end", "2022-06-30")
    run.assert_success(N_CUSTOMERS)
    assert re.search(r"note: holdout check skipped: no purchase in the holdout window "
                     r"\(\d{4}-\d\d-\d\d to 2022-06-30,", run.stderr)


def test_observation_end_that_is_not_a_date(tmp_path, capsys, log):
    run = Run(tmp_path, capsys, log, "--observation-end", "tomorrow-ish")
    run.assert_user_error(r"observation_period_end='tomorrow-ish' is not a date")


def test_dates_with_and_without_time_zones(tmp_path, capsys, log, base_table):
    # noon with a +02:00 offset, and naive dates: the same days whatever the reading
    dates = [f"{d}T12:00:00+02:00" if i % 2 else d for i, d in enumerate(log["date"])]
    run = Run(tmp_path, capsys, log.assign(date=dates))
    times = ["first_purchase", "last_purchase"]  # hold the time of day
    pd.testing.assert_frame_equal(run.assert_success(N_CUSTOMERS).drop(columns=times),
                                  base_table.drop(columns=times))


# ---- amounts --------------------------------------------------------------------------------

def test_all_amounts_negative(tmp_path, capsys, log):
    run = Run(tmp_path, capsys, log.assign(amount=-log["amount"]))
    run.assert_user_error(rf"Column 'amount': cleaning dropped all {len(log)} rows; "
                          rf"{len(log)} of them for non positive amount\. .*--returns keep")


def test_all_amounts_zero(tmp_path, capsys, log):
    run = Run(tmp_path, capsys, log.assign(amount=0.0))
    run.assert_user_error(r"Column 'amount': cleaning dropped all .* non positive amount")


@pytest.mark.parametrize("returns", ["drop", "net"])
def test_some_returns(tmp_path, capsys, log, returns):
    # a return of customer 1 after its purchases, larger than all of them together
    returned = pd.concat([log, pd.DataFrame({"customer_id": [1], "date": [log["date"].max()],
                                             "amount": [-1e6]})], ignore_index=True)
    run = Run(tmp_path, capsys, returned, "--returns", returns)
    table = run.assert_success(N_CUSTOMERS - (returns == "net"))
    if returns == "drop":
        assert table.loc[1, "total_spend"] == pytest.approx(
            log.loc[log["customer_id"] == 1, "amount"].sum())


def test_amounts_with_currency_symbols(tmp_path, capsys, log, base_table):
    text = [f"${a:,.2f}" if i % 2 else f"{a:.2f} €"
            for i, a in enumerate(log["amount"])]
    run = Run(tmp_path, capsys, log.assign(amount=text))
    pd.testing.assert_frame_equal(run.assert_success(N_CUSTOMERS), base_table)


def test_amounts_with_a_decimal_comma(tmp_path, capsys, log):
    text = log["amount"].map(lambda a: f"{a:.2f}".replace(".", ","))
    run = Run(tmp_path, capsys, log.assign(amount=text))
    run.assert_user_error(rf"Column 'amount': {len(log)} of {len(log)} rows are not "
                          r"amounts\. First 5 shown: .*\d,\d\d")


def test_infinite_amount(tmp_path, capsys, log):
    amounts = log["amount"].astype(object)
    amounts[7] = "inf"
    run = Run(tmp_path, capsys, log.assign(amount=amounts))
    run.assert_user_error(rf"Column 'amount': 1 of {len(log)} rows are infinite\. First 1 "
                          r"shown: .*inf")


# ---- duplicates and sizes -------------------------------------------------------------------

def test_duplicated_rows_are_dropped(tmp_path, capsys, log, base_table):
    run = Run(tmp_path, capsys, pd.concat([log, log.iloc[::2]]))
    pd.testing.assert_frame_equal(run.assert_success(N_CUSTOMERS), base_table)


def test_single_customer(tmp_path, capsys, log):
    run = Run(tmp_path, capsys, log[log["customer_id"] == regular_customer(log)])
    run.assert_user_error(r"only n_samples=1 customers; pass fewer segments or more "
                          r"customers")


def test_one_transaction_in_total(tmp_path, capsys, log):
    run = Run(tmp_path, capsys, log.iloc[:1])
    run.assert_user_error(r"frequency|repeat purchase")


def test_one_hundred_thousand_transactions_of_one_customer(tmp_path, capsys):
    days = np.arange(100_000) % 700
    big = pd.DataFrame({"customer_id": 42,
                        "date": (pd.Timestamp("2022-01-01")
                                 + pd.to_timedelta(days, unit="D")).strftime("%Y-%m-%d"),
                        "amount": 1.5})
    run = Run(tmp_path, capsys, big)
    run.assert_user_error(r"only n_samples=1 customers")


# ---- never overwrite an input ---------------------------------------------------------------

@pytest.fixture
def input_file(tmp_path, log):
    (tmp_path / "sub").mkdir()
    path = tmp_path / "log.csv"
    log.to_csv(path, index=False)
    return path


def _refused(capsys, input_file, *args):
    before = input_file.read_bytes()
    code = main(["segment", str(input_file), "--no-progress", *map(str, args)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert re.fullmatch(r"custseg segment: error: Output path '.*' is the input file: "
                        r"choose another output name \(custseg never overwrites its "
                        r"input\)\.\n", err)
    assert input_file.read_bytes() == before
    no_temporary_files(input_file.parent)


def test_output_is_the_input(capsys, input_file):
    _refused(capsys, input_file, "--out", input_file)


def test_output_is_the_input_through_a_relative_path(capsys, input_file, monkeypatch):
    monkeypatch.chdir(input_file.parent / "sub")
    _refused(capsys, input_file, "--out", "../sub/./../log.csv")


def test_output_is_a_symlink_to_the_input(capsys, input_file):
    link = input_file.parent / "link.csv"
    link.symlink_to(input_file)
    _refused(capsys, input_file, "--out", link)


def test_output_is_a_hard_link_to_the_input(capsys, input_file):
    link = input_file.parent / "hard.csv"
    os.link(input_file, link)
    _refused(capsys, input_file, "--out", link)


def test_input_given_through_a_symlink(capsys, input_file):
    link = input_file.parent / "sub" / "alias.csv"
    link.symlink_to(input_file)
    before = input_file.read_bytes()
    code = main(["segment", str(link), "--out", str(input_file), "--no-progress"])
    assert code == 2 and "is the input file" in capsys.readouterr().err
    assert input_file.read_bytes() == before


def test_report_is_the_input(capsys, input_file):
    _refused(capsys, input_file, "--out", input_file.parent / "out.csv", "--report",
             input_file)


def test_output_is_an_existing_folder(tmp_path, capsys, log):
    (tmp_path / "out.csv").mkdir()
    (tmp_path / "out.csv" / "kept.txt").write_text("untouched", encoding="utf-8")
    run = Run(tmp_path, capsys, log)
    run.assert_user_error(r"Output path '.*out\.csv' is an existing folder: give a file "
                          r"name such as '.*customers\.csv'", out_existed=True)
    assert [p.name for p in (tmp_path / "out.csv").iterdir()] == ["kept.txt"]
    no_temporary_files(tmp_path)


# ---- atomic outputs -------------------------------------------------------------------------

@pytest.fixture
def previous_output(tmp_path):
    """The output of an earlier run, which the failing runs must leave untouched."""
    out = tmp_path / "out.csv"
    out.write_text("customer_id,frequency\n1,0.0\n", encoding="utf-8")
    return out, out.read_bytes()


def _failing_report(*args, **kwargs):
    raise CustsegError("Cannot build the report: the plotting backend failed.")


def test_failed_report_leaves_no_temporary_file(tmp_path, capsys, log, previous_output,
                                                monkeypatch):
    monkeypatch.setattr(custseg.report, "build_report", _failing_report)
    run = Run(tmp_path, capsys, log, "--report", tmp_path / "report.html")
    assert run.code == 2 and "the plotting backend failed" in run.stderr
    assert not (tmp_path / "report.html").exists()
    no_temporary_files(tmp_path)


def test_failed_report_keeps_the_previous_output(tmp_path, capsys, log, previous_output,
                                                 monkeypatch):
    out, before = previous_output
    monkeypatch.setattr(custseg.report, "build_report", _failing_report)
    Run(tmp_path, capsys, log, "--report", tmp_path / "report.html")
    assert out.read_bytes() == before


def test_failure_while_writing_the_table(tmp_path, capsys, log, previous_output,
                                         monkeypatch):
    out, before = previous_output
    real_to_csv = pd.DataFrame.to_csv

    def half_then_full_disk(self, path, *args, **kwargs):
        real_to_csv(self.iloc[: len(self) // 2], path, *args, **kwargs)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", half_then_full_disk)
    log_path = tmp_path / "log.csv"
    real_to_csv(log, log_path, index=False)
    with pytest.raises(OSError, match="No space left on device"):
        main(["segment", str(log_path), "--out", str(out), "--no-progress"])
    assert out.read_bytes() == before
    no_temporary_files(tmp_path)


def test_interrupted_job(tmp_path, capsys, log, previous_output, monkeypatch):
    out, before = previous_output

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("custseg.models.CLVEstimator.fit", interrupt)
    run = Run(tmp_path, capsys, log, out=out.name)
    assert run.code == 130 and run.stderr == "custseg: interrupted\n"
    assert out.read_bytes() == before
    no_temporary_files(tmp_path)


def test_report_for_an_input_name_that_is_not_utf8(tmp_path, capsys, log, monkeypatch):
    # the sections are left out to keep the test fast: the failure is in writing the page
    monkeypatch.setattr("custseg.report._html._BUILDERS", {})
    name = os.fsdecode(b"caf\xe9.csv")
    log.to_csv(tmp_path / "log.csv", index=False)
    shutil.copy(tmp_path / "log.csv", tmp_path / name)
    code = main(["segment", str(tmp_path / name), "--out", str(tmp_path / "out.csv"),
                 "--report", str(tmp_path / "report.html"), "--no-progress"])
    assert code == 0
    assert (tmp_path / "report.html").exists()
    no_temporary_files(tmp_path)
