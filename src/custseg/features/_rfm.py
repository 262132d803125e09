"""Transaction log -> customer table: recency, frequency, T and monetary value.

Everything here is vectorised over transactions: customer ids are turned into integer
codes once, dates into integer period numbers, and a single sort of packed
``(customer code, period)`` keys gives each customer's first and last purchase period and
the number of distinct purchase periods. Sums use :func:`numpy.bincount` and
:func:`numpy.add.at` (in row order, a chunk of rows at a time). There is no
Python loop over customers and no ``groupby().apply``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._validation import check_columns, check_not_empty, raise_bad_rows
from ..exceptions import EmptyDataError, InvalidDataError, InvalidParameterError

__all__ = ["rfm_summary", "calibration_holdout_split"]

EXTRA_COLUMNS = ("first_purchase", "last_purchase", "n_transactions", "n_periods",
                 "total_spend")
_NS = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000}
_NS_PER_DAY = 86_400 * 1_000_000_000


# --------------------------------------------------------------------------- periods
@dataclass(frozen=True)
class _PeriodSpec:
    """How to turn datetimes into integer period numbers for one ``freq``.

    ``kind`` is ``"tick"`` (fixed length of ``nanos`` nanoseconds, floor division of the
    epoch offset), ``"week"`` (seven days starting on day ``origin_day`` after the epoch,
    modulo 7) or ``"ordinal"`` (calendar periods such as months: pandas period ordinals).
    """

    freq: str
    kind: str
    nanos: int = 0
    origin_day: int = 0
    months: int = 0  # length of a calendar period in months (M, Q, Y), else 0


def _period_spec(freq) -> _PeriodSpec:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            offset = pd.PeriodDtype(freq).freq
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(
            f"freq={freq!r} is not a pandas period frequency ('D', 'W', 'h', 'min', 's', "
            f"'M', ...): {exc}"
        ) from None
    if offset.n != 1:
        raise InvalidParameterError(
            f"freq={freq!r} has a multiple ({offset.n}); pass the base frequency and "
            f"freq_multiplier={offset.n} instead."
        )
    name = type(offset).__name__
    if name == "Day":
        return _PeriodSpec(str(freq), "tick", nanos=_NS_PER_DAY)
    if isinstance(offset, pd.offsets.Tick):
        return _PeriodSpec(str(freq), "tick", nanos=int(offset.nanos))
    if name == "Week" and offset.weekday is not None:
        # The week ends on ``weekday`` (0 = Monday); 1970-01-01 was a Thursday (3), so day
        # number d starts such a week when (d + 3) % 7 == (weekday + 1) % 7.
        return _PeriodSpec(str(freq), "week", nanos=7 * _NS_PER_DAY,
                           origin_day=(offset.weekday - 2) % 7)
    months = {"MonthEnd": 1, "QuarterEnd": 3, "YearEnd": 12}.get(name, 0)
    return _PeriodSpec(str(freq), "ordinal", months=months)


_HOUR_NS = 3_600 * 1_000_000_000
_UNITS_BY_HOURS = {1: "h", 24: "D", 168: "W"}
_UNITS_BY_MONTHS = {1: "M", 3: "Q", 12: "Y"}


def _time_unit(spec: _PeriodSpec, freq_multiplier) -> str | None:
    """The time unit of recency and T ("h", "D", "W", "M", "Q", "Y"), when it is one.

    ``freq="D", freq_multiplier=7`` measures in weeks, ``freq="h", freq_multiplier=24``
    in days; a unit that is none of these (minutes, 2.5 days) gives None.
    """
    if spec.months:
        length, units = spec.months * freq_multiplier, _UNITS_BY_MONTHS
    elif spec.nanos:
        length, units = spec.nanos * freq_multiplier / _HOUR_NS, _UNITS_BY_HOURS
    else:
        return None
    if not float(length).is_integer():
        return None
    return units.get(int(length))


def _period_codes(values: np.ndarray, spec: _PeriodSpec) -> np.ndarray:
    """Integer period numbers of naive ``datetime64`` values (int32 when they fit).

    Differences of these numbers are the number of whole periods between the periods
    that contain two dates, which is what lifetimes computes as the difference of the
    periods' start timestamps divided by the period length.
    """
    unit, count = np.datetime_data(values.dtype)
    if spec.kind == "ordinal" or unit not in _NS:
        return pd.DatetimeIndex(values).to_period(spec.freq).asi8.astype(np.int64)
    unit_ns = _NS[unit] * count
    ticks = values.view(np.int64)
    if spec.kind == "week":
        days = _floor_div(ticks, _NS_PER_DAY // unit_ns)
        days -= spec.origin_day
        days //= 7
        return days
    if spec.nanos >= unit_ns:
        return _floor_div(ticks, spec.nanos // unit_ns)
    return ticks * (unit_ns // spec.nanos)


def _floor_div(ticks: np.ndarray, divisor: int) -> np.ndarray:
    """``ticks // divisor``, written straight into int32 when every quotient fits."""
    if ticks.size:
        lo, hi = int(ticks.min()) // divisor, int(ticks.max()) // divisor
        if -(2**31) + 8 <= lo and hi < 2**31 - 8:
            return np.floor_divide(ticks, divisor, out=np.empty(ticks.size, np.int32),
                                   casting="unsafe")
    return ticks // divisor


# --------------------------------------------------------------------------- parsing
def _as_naive(parsed: pd.Series | pd.DatetimeIndex):
    """Drop the time zone of aware datetimes, keeping their local wall time.

    lifetimes (through ``DatetimeIndex.to_period``) assigns an aware timestamp to the
    period of its local wall-clock time, so a purchase at 23:30 in New York belongs to
    that New York day. We do the same.
    """
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        return parsed.dt.tz_localize(None) if isinstance(parsed, pd.Series) \
            else parsed.tz_localize(None)
    return parsed


def parse_dates(frame: pd.DataFrame, column: str, datetime_format=None) -> pd.Series:
    """Return ``frame[column]`` as naive ``datetime64`` (NaT where unparseable or missing).

    Aware datetimes of one time zone keep their local wall time (as lifetimes does);
    values in several zones, aware and naive values mixed, or ISO 8601 strings with and
    without UTC offsets, are converted to UTC (naive values taken as UTC). Numbers are
    only read as dates with an explicit ``datetime_format`` (``20200131`` with
    ``"%Y%m%d"``), never as epoch offsets.
    """
    values = frame[column]
    dtype = values.dtype
    if isinstance(dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(dtype):
        return _as_naive(values)
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        if not values.notna().any():  # an empty or all-missing column read as numbers
            return pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]",
                             name=values.name)
        if datetime_format is None:
            raise InvalidDataError(
                f"Column '{column}' holds numbers ({dtype}), not dates. Pass "
                f"datetime_format (for example '%Y%m%d') to read them as dates, or "
                f"convert the column with pandas.to_datetime first."
            )
        values = values.astype("string").str.replace(r"\.0$", "", regex=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "could not infer format" notices
        try:
            parsed = pd.to_datetime(values, errors="coerce", format=datetime_format)
        except (ValueError, TypeError):  # mixed UTC offsets
            parsed = None
        if parsed is None or not (isinstance(parsed.dtype, pd.DatetimeTZDtype)
                                  or pd.api.types.is_datetime64_dtype(parsed.dtype)):
            return _to_utc(values, datetime_format)
        lost = parsed.isna().to_numpy() & values.notna().to_numpy()
        if lost.any():
            # pandas reads a column with the format (or time zone) of its first value
            # and turns the rest into NaT: stamps in several zones, aware and naive ones
            # mixed, ISO strings with and without offsets. Read those in UTC.
            retry = _to_utc(values, datetime_format)
            if retry.isna().sum() < parsed.isna().sum():
                return retry
    return _as_naive(parsed)


def _to_utc(values: pd.Series, datetime_format) -> pd.Series:
    """Dates in several time zones as naive UTC (naive ones are taken to be UTC)."""
    fmt = "ISO8601" if datetime_format is None else datetime_format
    try:
        parsed = pd.to_datetime(values, errors="coerce", format=fmt, utc=True)
    except (ValueError, TypeError):
        parsed = pd.to_datetime(values, errors="coerce", utc=True)
    return parsed.dt.tz_localize(None)


def missing_mask(values: pd.Series) -> np.ndarray:
    """Writable boolean mask of missing values: NaN, None, or blank text."""
    mask = np.array(values.isna().to_numpy(dtype=bool))
    if values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
        blank = values.astype("string").str.strip() == ""
        mask |= blank.fillna(False).to_numpy(dtype=bool)
    return mask


def _checked_dates(frame: pd.DataFrame, column: str, datetime_format) -> pd.Series:
    parsed = parse_dates(frame, column, datetime_format)
    values = parsed.to_numpy()
    if len(values) and values.view(np.int64).min() != np.iinfo(np.int64).min:
        return parsed  # no NaT: nothing missing, nothing unparseable
    missing = frame[column].isna().to_numpy()
    raise_bad_rows(frame, missing, column, "have no date",
                   hint="Drop them, or use custseg.features.clean_transactions.")
    raise_bad_rows(frame, parsed.isna().to_numpy(), column, "cannot be parsed as dates",
                   hint="Pass datetime_format explicitly (for example '%d/%m/%Y').")
    return parsed


def parse_timestamp(value, datetime_format=None, *, name="observation_period_end"):
    """One date given by the user as a naive Timestamp (aware ones keep local wall time)."""
    try:
        stamp = pd.to_datetime(value, format=datetime_format)
    except (ValueError, TypeError):
        try:
            stamp = pd.to_datetime(value)
        except (ValueError, TypeError) as exc:
            raise InvalidParameterError(f"{name}={value!r} is not a date: {exc}") from None
    if not isinstance(stamp, pd.Timestamp) or pd.isna(stamp):
        raise InvalidParameterError(f"{name}={value!r} is not a single date.")
    return stamp.tz_localize(None) if stamp.tzinfo is not None else stamp


def _show(stamp: pd.Timestamp) -> str:
    """A timestamp as text, without the time of day when it is midnight."""
    return stamp.strftime("%Y-%m-%d") if stamp == stamp.normalize() else str(stamp)


def _stamp_code(stamp: pd.Timestamp, spec: _PeriodSpec) -> int:
    return int(_period_codes(np.array([stamp.to_datetime64()]), spec)[0])


def _checked_amounts(frame: pd.DataFrame, column: str) -> np.ndarray:
    values = frame[column]
    if not (pd.api.types.is_numeric_dtype(values.dtype)
            and not pd.api.types.is_bool_dtype(values.dtype)):
        converted = pd.to_numeric(values, errors="coerce")
        raise_bad_rows(frame, converted.isna().to_numpy() & values.notna().to_numpy(),
                       column, "are not numbers",
                       hint="custseg.features.clean_transactions reads amounts written "
                            "like '$1,234.50'; convert other formats yourself.")
        values = converted
    if values.dtype == np.float64:
        arr = values.to_numpy()  # no copy
    else:
        arr = values.to_numpy(dtype=np.float64, na_value=np.nan)
    with np.errstate(all="ignore"):  # inf - inf or a sum above 1.8e308: slow path
        fast = bool(len(arr)) and np.isfinite(arr.sum()) and arr.min() >= 0
    if fast:
        return arr  # no NaN, no infinity, nothing negative
    raise_bad_rows(frame, ~np.isfinite(arr), column, "are missing, NaN or infinite",
                   hint="Drop them, or use custseg.features.clean_transactions.")
    raise_bad_rows(frame, arr < 0, column, "are negative (returns or refunds)",
                   hint="Use custseg.features.clean_transactions with returns='drop' or "
                        "returns='net' to decide what a return means first.")
    return arr


# --------------------------------------------------------------------------- customer ids
def check_hashable(frame: pd.DataFrame, column: str) -> None:
    """Raise an InvalidDataError listing the values of an object column that cannot be
    customer ids (lists, dicts, sets ...: values without a hash)."""
    values = frame[column]
    if values.dtype != object:
        return
    try:
        pd.factorize(values)
    except TypeError:
        def unhashable(v):
            try:
                hash(v)
            except TypeError:
                return True
            return False

        bad = values.map(unhashable).to_numpy(dtype=bool)  # only on this error path
        raise_bad_rows(frame, bad, column, "are not valid ids (lists, dicts or other "
                       "values without a hash)",
                       hint="Turn each id into a number or a string first.")


@dataclass
class _Ids:
    codes: np.ndarray  # one integer code per row, 0 <= code < n_codes
    n_codes: int
    labels: object  # callable(present_codes) -> Index


def _encode_ids(ids: pd.Series, column: str) -> _Ids:
    """Integer codes for the customer ids, in the sort order of the ids.

    Categorical ids use their category codes (category order, as lifetimes sorts them);
    integer ids in a compact range are offset by their minimum (no hashing); other ids
    go through :func:`pandas.factorize` with ``sort=True``.
    """
    n = len(ids)
    dtype = ids.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        codes = ids.cat.codes.to_numpy()
        return _Ids(codes, len(dtype.categories), lambda present: pd.CategoricalIndex(
            pd.Categorical.from_codes(present, dtype=dtype), name=column))
    if pd.api.types.is_integer_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        values = ids.to_numpy()
        if values.dtype.kind in "iu":
            lo, hi = int(values.min()), int(values.max())
            span = hi - lo + 1
            if span <= max(4 * n, 1 << 16) and span < 2**31 and hi < 2**63:
                codes = offset_codes(values, lo)
                return _Ids(codes, span, lambda present: pd.Index(
                    (present.astype(np.int64) + lo).astype(values.dtype), name=column))
    try:
        codes, uniques = pd.factorize(ids, sort=True)
    except TypeError:
        check_hashable(ids.to_frame(), column)
        raise
    uniques = pd.Index(uniques, name=column)
    return _Ids(codes, len(uniques), lambda present: uniques[present])


def offset_codes(values: np.ndarray, lo: int) -> np.ndarray:
    """``values - lo`` as int32 codes, for integer ids whose range spans fewer than 2**31
    values: the offsets fit in int32 even when the ids do not."""
    return np.subtract(values, values.dtype.type(lo), out=np.empty(len(values), np.int32),
                       casting="unsafe")


# --------------------------------------------------------------------------- core
@dataclass
class _Log:
    """A validated transaction log as arrays (one entry per transaction)."""

    ids: _Ids
    dates: np.ndarray  # naive datetime64
    periods: np.ndarray  # int64 period numbers
    amounts: np.ndarray | None  # float64 or None
    spec: _PeriodSpec


def _read_log(transactions, customer_id_col, datetime_col, monetary_value_col, freq,
              datetime_format) -> _Log:
    spec = _period_spec(freq)
    columns = [customer_id_col, datetime_col]
    if monetary_value_col is not None:
        columns.append(monetary_value_col)
    check_columns(transactions, columns, what="transaction log")
    check_not_empty(transactions, what="transaction log")
    ids = transactions[customer_id_col]
    if not (isinstance(ids.dtype, np.dtype) and ids.dtype.kind in "iu"):  # else no NaN
        raise_bad_rows(transactions, missing_mask(ids), customer_id_col,
                       "are missing (NaN, None or empty string)",
                       hint="Drop them, or use custseg.features.clean_transactions.")
    dates = _checked_dates(transactions, datetime_col, datetime_format).to_numpy()
    amounts = None
    if monetary_value_col is not None:
        amounts = _checked_amounts(transactions, monetary_value_col)
    codes = _encode_ids(ids, customer_id_col)
    if amounts is not None:
        _check_spend_fits(transactions, monetary_value_col, codes, amounts)
    return _Log(codes, dates, _period_codes(dates, spec), amounts, spec)


def _check_spend_fits(frame: pd.DataFrame, column: str, ids: _Ids,
                      amounts: np.ndarray) -> None:
    """Raise if the amounts of a customer sum to more than the largest float (they would
    become inf); only looked at when the sum of all amounts overflows."""
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(amounts.sum()):
            return
        per_customer = np.bincount(ids.codes, weights=amounts, minlength=ids.n_codes)
    overflow = ~np.isfinite(per_customer)
    raise_bad_rows(frame, overflow[ids.codes], column,
                   f"belong to {int(overflow.sum())} customer(s) whose amounts sum to more "
                   "than the largest float (1.8e308)",
                   hint="Check the unit of the amounts.")


@dataclass
class _Summary:
    present: np.ndarray  # codes of the customers in the table, ascending
    first: np.ndarray  # first purchase period
    last: np.ndarray  # last purchase period
    n_periods: np.ndarray  # distinct purchase periods
    n_rows: np.ndarray  # transactions
    repeat_spend: np.ndarray | None  # spend in the purchase periods after the first
    total_spend: np.ndarray | None


def _summarise(codes: np.ndarray, n_codes: int, periods: np.ndarray,
               amounts: np.ndarray | None, need_total: bool = False) -> _Summary:
    """Per-customer first/last period, distinct periods and spend from row arrays.

    One sort of the packed keys ``code * span + (period - min period)`` orders the rows
    by customer then period: runs of equal keys are one purchase period, runs of equal
    ``key // span`` one customer. Spend is summed with :func:`numpy.bincount` over the
    rows in their original order, leaving out the rows of the first purchase period.
    """
    p0 = int(periods.min())
    span = int(periods.max()) - p0 + 1
    if n_codes * span >= 2**62:  # tiny periods over a long time: number them densely
        distinct, dense = np.unique(periods, return_inverse=True)
        s = _summarise(codes, n_codes, dense.astype(np.int64), amounts, need_total)
        s.first, s.last = distinct[s.first], distinct[s.last]
        return s
    # 32-bit keys sort about 3 times faster than 64-bit ones; the arithmetic below stays
    # within the key's range: code * span - p0 >= -p0 and the sum ends in [0, n * span)
    dtype = np.int32 if n_codes * span < 2**31 else np.int64
    key = np.multiply(codes, span, dtype=dtype)
    if np.can_cast(periods.dtype, dtype):
        key -= p0
        key += periods
    else:
        key += np.subtract(periods, p0, dtype=dtype)
    key.sort()
    n = key.size
    new_pair = np.empty(n, dtype=bool)
    new_pair[0] = True
    np.not_equal(key[1:], key[:-1], out=new_pair[1:])
    scratch = np.floor_divide(key, span)  # customer code of every sorted key
    new_cust = np.empty(n, dtype=bool)
    new_cust[0] = True
    np.not_equal(scratch[1:], scratch[:-1], out=new_cust[1:])
    starts = np.flatnonzero(new_cust)
    del new_cust
    ends = np.empty_like(starts)
    ends[:-1] = starts[1:] - 1
    ends[-1] = n - 1
    key_starts = key[starts].astype(np.int64)
    present = key_starts // span
    first = key_starts - present * span + p0
    last = key[ends].astype(np.int64) - present * span + p0
    del key
    pair_count = np.cumsum(new_pair, dtype=scratch.dtype, out=scratch)
    n_periods = pair_count[ends].astype(np.int64) - pair_count[starts] + 1
    del new_pair, pair_count, scratch
    repeat_spend = total_spend = None
    if amounts is not None:
        first_of_code = np.zeros(n_codes, dtype=periods.dtype)
        first_of_code[present] = first
        repeat_spend = np.zeros(n_codes)
        total_spend = np.zeros(n_codes) if need_total else None
        # a chunk of rows at a time (bounded temporaries); np.add.at adds in row order,
        # so the sums are those of one pass, to the last bit, whatever the chunks
        for rows in _chunks(n):
            chunk_codes = codes[rows]
            spend = amounts[rows]
            if need_total:
                np.add.at(total_spend, chunk_codes, spend)
            in_first = np.equal(periods[rows], first_of_code[chunk_codes])
            np.add.at(repeat_spend, chunk_codes, np.where(in_first, 0.0, spend))
        repeat_spend = repeat_spend[present]
        if need_total:
            total_spend = total_spend[present]
    return _Summary(present, first, last, n_periods, ends - starts + 1,
                    repeat_spend, total_spend)


#: Rows per chunk of the loops that bound the size of temporaries.
CHUNK_ROWS = 1 << 20


def _chunks(n: int, size: int | None = None):
    """Slices of ``range(n)`` of ``size`` rows (``CHUNK_ROWS`` by default)."""
    size = size or CHUNK_ROWS
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


def _distinct_periods(codes: np.ndarray, n_codes: int, periods: np.ndarray) -> np.ndarray:
    """Number of distinct purchase periods of every code (0 for absent codes)."""
    out = np.zeros(n_codes, dtype=np.int64)
    if codes.size:
        s = _summarise(codes, n_codes, periods, None)
        out[s.present] = s.n_periods
    return out


def _check_end_after_first(log: _Log, first_code_period: np.ndarray, present, end_code,
                           end: pd.Timestamp, datetime_col: str, customer_id_col: str):
    late = first_code_period > end_code
    if late.any():
        first_date = np.full(log.ids.n_codes, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(first_date, log.ids.codes, log.dates.view(np.int64))
        first_date = first_date.view(log.dates.dtype)
        table = pd.DataFrame({"first_purchase": first_date[present]},
                             index=log.ids.labels(present))
        raise_bad_rows(
            table, late, datetime_col,
            f"(customers, shown by {customer_id_col}) make their first purchase after "
            f"observation_period_end={_show(end)} (in a later {log.spec.freq!r} period), so "
            f"their age T would be negative",
            hint="Move observation_period_end later, filter the log first, or use "
                 "custseg.features.clean_transactions(..., future='drop').",
            error=InvalidDataError)


def _keep_rows(log: _Log, keep: np.ndarray) -> _Log:
    if keep.all():
        return log
    ids = _Ids(log.ids.codes[keep], log.ids.n_codes, log.ids.labels)
    amounts = None if log.amounts is None else log.amounts[keep]
    return _Log(ids, log.dates[keep], log.periods[keep], amounts, log.spec)


def _check_freq_multiplier(freq_multiplier):
    if isinstance(freq_multiplier, bool) or not isinstance(
            freq_multiplier, (int, float, np.integer, np.floating)) or not (
            np.isfinite(freq_multiplier) and freq_multiplier > 0):
        raise InvalidParameterError(
            f"freq_multiplier must be a positive number, got {freq_multiplier!r}.")


def _extra_columns(extra_columns, monetary_value_col) -> list[str]:
    if extra_columns is False or extra_columns is None:
        return []
    if extra_columns is True:
        return [c for c in EXTRA_COLUMNS
                if c != "total_spend" or monetary_value_col is not None]
    if isinstance(extra_columns, str):
        extra_columns = [extra_columns]
    wanted = list(extra_columns)
    unknown = [c for c in wanted if c not in EXTRA_COLUMNS]
    if unknown:
        raise InvalidParameterError(
            f"extra_columns: unknown column(s) {unknown}; choose among {list(EXTRA_COLUMNS)}.")
    if "total_spend" in wanted and monetary_value_col is None:
        raise InvalidParameterError(
            "extra_columns: 'total_spend' needs monetary_value_col.")
    return [c for c in EXTRA_COLUMNS if c in wanted]


def _frame(log: _Log, s: _Summary, end_code: int, freq_multiplier, include_first: bool,
           extras: list[str], suffix: str = "") -> pd.DataFrame:
    fm = float(freq_multiplier)
    n_purchases = s.n_periods if include_first else s.n_periods - 1
    cols = {
        "frequency": n_purchases.astype(np.float64),
        "recency": (s.last - s.first) / fm,
        "T": (end_code - s.first) / fm,
    }
    if s.repeat_spend is not None:
        spend = s.total_spend if include_first else s.repeat_spend
        with np.errstate(invalid="ignore", divide="ignore"):
            cols["monetary_value"] = np.where(n_purchases > 0, spend / n_purchases, 0.0)
    out = pd.DataFrame({k + suffix: v for k, v in cols.items()},
                       index=log.ids.labels(s.present))
    if extras:
        ticks = log.dates.view(np.int64)
        codes = log.ids.codes
        for name in extras:
            if name in ("first_purchase", "last_purchase"):
                big = np.iinfo(np.int64)
                fill = big.max if name == "first_purchase" else big.min
                acc = np.full(log.ids.n_codes, fill, dtype=np.int64)
                ufunc = np.minimum if name == "first_purchase" else np.maximum
                ufunc.at(acc, codes, ticks)
                out[name] = acc[s.present].view(log.dates.dtype)
            elif name == "n_transactions":
                out[name] = s.n_rows.astype(np.int64)
            elif name == "n_periods":
                out[name] = s.n_periods.astype(np.int64)
            else:
                out[name] = s.total_spend
    return out


# --------------------------------------------------------------------------- public
def rfm_summary(transactions, customer_id_col="customer_id", datetime_col="date",
                monetary_value_col=None, observation_period_end=None, freq="D",
                freq_multiplier=1, include_first_transaction=False, datetime_format=None,
                extra_columns=False) -> pd.DataFrame:
    """Summarise a transaction log into one row per customer: frequency, recency, T.

    Transactions are grouped into periods of ``freq`` per customer (several purchases
    in one period count as one purchase whose amount is their sum). The first purchase
    period of a customer is their birth; the customer table holds, per customer, the
    number of repeat purchase periods (``frequency``), the age at the last purchase
    (``recency``), the age at the end of the observation window (``T``) and the mean
    spend of the repeat purchase periods (``monetary_value``), as
    ``lifetimes.utils.summary_data_from_transaction_data`` computes them, without a
    Python loop over customers.

    Parameters
    ----------
    transactions : DataFrame
        One row per transaction.
    customer_id_col : str, default="customer_id"
        Column of customer ids: integers, strings or a categorical (the table is then
        sorted in category order and unobserved categories are left out).
    datetime_col : str, default="date"
        Column of purchase dates: ``datetime64`` (naive or time-zone aware), or strings
        parsed with ``datetime_format``.
    monetary_value_col : str, optional
        Column of amounts (non-negative numbers). Adds ``monetary_value``.
    observation_period_end : str or Timestamp, optional
        End of the observation window; defaults to the last date of the log. Rows in
        periods after the period of this date are left out (as lifetimes does); rows
        later in the same period are kept.
    freq : str, default="D"
        Period length, a pandas period alias: ``"D"``, ``"W"`` (weeks ending on Sunday,
        or ``"W-MON"`` ...), ``"h"``, ``"min"``, ``"s"``, or calendar periods ``"M"``,
        ``"Q"``, ``"Y"`` (counted in whole calendar periods).
    freq_multiplier : float, default=1
        ``recency`` and ``T`` are divided by it (``freq="D", freq_multiplier=7`` gives
        weeks measured to the day).
    include_first_transaction : bool, default=False
        Count the first purchase period in ``frequency`` and ``monetary_value``. Keep
        ``False`` for the BTYD models.
    datetime_format : str, optional
        ``strftime`` format of the date strings (and of ``observation_period_end``).
    extra_columns : bool or list of str, default=False
        ``True``, or a list among ``first_purchase``, ``last_purchase`` (first and last
        transaction dates), ``n_transactions`` (rows), ``n_periods`` (distinct purchase
        periods) and ``total_spend`` (sum of all amounts, needs ``monetary_value_col``).

    Returns
    -------
    DataFrame
        Indexed by customer id (index named ``customer_id_col``, sorted), float columns
        ``frequency``, ``recency``, ``T`` and, with a monetary column,
        ``monetary_value``, followed by the requested extra columns. ``attrs["time_unit"]``
        holds the unit of ``recency`` and ``T`` (``"h"``, ``"D"``, ``"W"``, ``"M"``,
        ``"Q"`` or ``"Y"``; ``freq="D", freq_multiplier=7`` is ``"W"``) when it is one of
        these; the models read it.

    Raises
    ------
    CustsegError
        Missing columns, an empty log, missing ids, missing or unparseable dates,
        non-numeric, missing or negative amounts (use
        :func:`~custseg.features.clean_transactions` to decide what a return means),
        customers whose first purchase falls after ``observation_period_end``, or an
        invalid ``freq``/``freq_multiplier``/``extra_columns``.

    See Also
    --------
    calibration_holdout_split : the same table on a calibration window with holdout
        counts.
    clean_transactions : counted cleaning of a raw log before summarising it.

    Notes
    -----
    With :math:`\\tau_1 < \\dots < \\tau_{n}` the distinct purchase periods of a customer
    (integer period numbers), :math:`\\tau_{end}` the period of
    ``observation_period_end`` and :math:`m` = ``freq_multiplier``:

    .. math::

        x = n - 1, \\quad t_x = (\\tau_n - \\tau_1) / m, \\quad
        T = (\\tau_{end} - \\tau_1) / m, \\quad
        \\bar z = \\frac{1}{x}\\sum_{k=2}^{n} z_{\\tau_k} \\;(0 \\text{ if } x = 0),

    where :math:`z_{\\tau}` is the customer's spend summed over period :math:`\\tau`.
    These are the sufficient statistics :math:`(x, t_x, T)` of the BG/NBD and Pareto/NBD
    models (Fader, Hardie & Lee 2005a, section 2) and the average repeat transaction
    value :math:`\\bar z` of the Gamma-Gamma model (Fader, Hardie & Lee 2005b).

    The result equals ``lifetimes.utils.summary_data_from_transaction_data`` (0.11.3)
    with the same arguments, with three differences: a customer whose first purchase
    lies after ``observation_period_end`` is an error (lifetimes drops the customer
    silently), negative or missing amounts are errors, and calendar frequencies
    (``"M"``, ``"Q"``, ``"Y"``), which lifetimes rejects, count whole calendar periods.
    Time-zone aware dates are assigned to periods by their local wall time, as lifetimes
    does; the ``first_purchase``/``last_purchase`` columns are that naive wall time.

    References
    ----------
    .. [1] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005a). "Counting your
       customers" the easy way: an alternative to the Pareto/NBD model. Marketing
       Science 24(2), 275-284.
    .. [2] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005b). RFM and CLV: using
       iso-value curves for customer base analysis. Journal of Marketing Research 42(4),
       415-430.

    Examples
    --------
    >>> import pandas as pd
    >>> from custseg.features import rfm_summary
    >>> log = pd.DataFrame({
    ...     "customer_id": [1, 1, 1, 2],
    ...     "date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-11",
    ...                             "2024-01-05"]),
    ...     "amount": [10.0, 5.0, 20.0, 7.0]})
    >>> rfm_summary(log, monetary_value_col="amount", observation_period_end="2024-01-31")
    ... # doctest: +NORMALIZE_WHITESPACE
                 frequency  recency     T  monetary_value
    customer_id
    1                  1.0     10.0  30.0            20.0
    2                  0.0      0.0  26.0             0.0
    """
    _check_freq_multiplier(freq_multiplier)
    extras = _extra_columns(extra_columns, monetary_value_col)
    log = _read_log(transactions, customer_id_col, datetime_col, monetary_value_col, freq,
                    datetime_format)
    if observation_period_end is None:
        end = pd.Timestamp(log.dates.max())
        end_code = int(log.periods.max())
    else:
        end = parse_timestamp(observation_period_end, datetime_format)
        end_code = _stamp_code(end, log.spec)
    need_total = include_first_transaction or "total_spend" in extras
    s = _summarise(log.ids.codes, log.ids.n_codes, log.periods, log.amounts, need_total)
    _check_end_after_first(log, s.first, s.present, end_code, end, datetime_col,
                           customer_id_col)
    if s.last.max() > end_code:  # rows after the end's period: left out, as lifetimes does
        log = _keep_rows(log, log.periods <= end_code)
        s = _summarise(log.ids.codes, log.ids.n_codes, log.periods, log.amounts,
                       need_total)
    table = _frame(log, s, end_code, freq_multiplier, include_first_transaction, extras)
    unit = _time_unit(log.spec, freq_multiplier)
    if unit is not None:
        table.attrs["time_unit"] = unit
    return table


def calibration_holdout_split(transactions, customer_id_col="customer_id",
                              datetime_col="date", calibration_period_end=None,
                              observation_period_end=None, freq="D", freq_multiplier=1,
                              monetary_value_col=None, datetime_format=None,
                              include_first_transaction=False) -> pd.DataFrame:
    """Customer table of a calibration window and the purchases of the holdout window.

    The calibration rows (dates ``<= calibration_period_end``) are summarised by
    :func:`rfm_summary` with ``observation_period_end=calibration_period_end``; the
    holdout rows (``calibration_period_end < date <= observation_period_end``) are
    counted for the same customers. Customers first seen in the holdout are left out.

    Parameters
    ----------
    transactions : DataFrame
        One row per transaction.
    customer_id_col, datetime_col : str
        Columns of customer ids and purchase dates (see :func:`rfm_summary`).
    calibration_period_end : str or Timestamp
        Last moment of the calibration window (inclusive).
    observation_period_end : str or Timestamp, optional
        Last moment of the holdout window (inclusive); defaults to the last date.
    freq : str, default="D"
        Period length (see :func:`rfm_summary`).
    freq_multiplier : float, default=1
        Divides ``recency_cal``, ``T_cal`` and ``duration_holdout``.
    monetary_value_col : str, optional
        Column of amounts; adds ``monetary_value_cal`` and ``monetary_value_holdout``.
    datetime_format : str, optional
        ``strftime`` format of the date strings and of the two end dates.
    include_first_transaction : bool, default=False
        As in :func:`rfm_summary`, for the calibration columns.

    Returns
    -------
    DataFrame
        Indexed by customer id, float columns ``frequency_cal``, ``recency_cal``,
        ``T_cal``, [``monetary_value_cal``], ``frequency_holdout``,
        [``monetary_value_holdout``], ``duration_holdout``; ``attrs["time_unit"]`` as in
        :func:`rfm_summary`.

    Raises
    ------
    CustsegError
        As :func:`rfm_summary`; also when ``calibration_period_end`` is missing, or the
        holdout window holds no transaction (an ``EmptyDataError``).

    See Also
    --------
    rfm_summary : the calibration columns.

    Notes
    -----
    ``frequency_holdout`` counts the distinct purchase periods of a customer in the
    holdout window, :math:`(\\tau_{end} - \\tau_{cal}) / m` is ``duration_holdout``
    (periods of the two end dates, :math:`m` = ``freq_multiplier``), and
    ``monetary_value_holdout`` is the mean amount of the customer's holdout
    *transactions* (not of holdout periods), 0 without one. These are the semantics of
    ``lifetimes.utils.calibration_and_holdout_data`` (0.11.3), which this function
    reproduces, also without a monetary column (where lifetimes fails). The window is
    split on the timestamps themselves, the periods are counted afterwards.

    References
    ----------
    .. [1] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "Counting your
       customers" the easy way: an alternative to the Pareto/NBD model. Marketing
       Science 24(2), 275-284 (section 4, calibration and holdout periods).

    Examples
    --------
    >>> import pandas as pd
    >>> from custseg.features import calibration_holdout_split
    >>> log = pd.DataFrame({
    ...     "customer_id": [1, 1, 1, 2, 3],
    ...     "date": pd.to_datetime(["2024-01-01", "2024-01-03", "2024-02-10",
    ...                             "2024-01-05", "2024-02-01"])})
    >>> table = calibration_holdout_split(log, calibration_period_end="2024-01-31",
    ...                                   observation_period_end="2024-02-29")
    >>> print(table.to_string())  # doctest: +NORMALIZE_WHITESPACE
                 frequency_cal  recency_cal  T_cal  frequency_holdout  duration_holdout
    customer_id
    1                      1.0          2.0   30.0                1.0              29.0
    2                      0.0          0.0   26.0                0.0              29.0
    """
    if calibration_period_end is None:
        raise InvalidParameterError("calibration_period_end is required.")
    _check_freq_multiplier(freq_multiplier)
    log = _read_log(transactions, customer_id_col, datetime_col, monetary_value_col, freq,
                    datetime_format)
    cal_end = parse_timestamp(calibration_period_end, datetime_format,
                              name="calibration_period_end")
    if observation_period_end is None:
        obs_end = pd.Timestamp(log.dates.max())
    else:
        obs_end = parse_timestamp(observation_period_end, datetime_format)
    cal_stamp = cal_end.to_datetime64()
    obs_stamp = obs_end.to_datetime64()
    in_cal = log.dates <= cal_stamp
    in_hold = ~in_cal & (log.dates <= obs_stamp)
    if not in_cal.any():
        raise EmptyDataError(
            f"No transaction on or before calibration_period_end={_show(cal_end)} (the "
            f"log starts on {_show(pd.Timestamp(log.dates.min()))}).")
    if not in_hold.any():
        raise EmptyDataError(
            f"No transaction in the holdout window ({_show(cal_end)}, {_show(obs_end)}]: "
            f"check calibration_period_end and observation_period_end.")
    cal_code = _stamp_code(cal_end, log.spec)
    cal = _keep_rows(log, in_cal)
    s = _summarise(cal.ids.codes, cal.ids.n_codes, cal.periods, cal.amounts,
                   include_first_transaction)
    out = _frame(cal, s, cal_code, freq_multiplier, include_first_transaction, [],
                 suffix="_cal")
    hold = _keep_rows(log, in_hold)
    out["frequency_holdout"] = _distinct_periods(
        hold.ids.codes, hold.ids.n_codes, hold.periods)[s.present].astype(np.float64)
    if hold.amounts is not None:
        n = np.bincount(hold.ids.codes, minlength=hold.ids.n_codes)[s.present]
        total = np.bincount(hold.ids.codes, weights=hold.amounts,
                            minlength=hold.ids.n_codes)[s.present]
        with np.errstate(invalid="ignore", divide="ignore"):
            out["monetary_value_holdout"] = np.where(n > 0, total / np.maximum(n, 1), 0.0)
    out["duration_holdout"] = (_stamp_code(obs_end, log.spec) - cal_code) / float(
        freq_multiplier)
    unit = _time_unit(log.spec, freq_multiplier)
    if unit is not None:
        out.attrs["time_unit"] = unit
    return out
