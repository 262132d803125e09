"""Counted cleaning of a raw transaction log.

Every row that :func:`clean_transactions` removes is counted under exactly one problem of
the :class:`CleaningReport`, and every customer that disappears is listed with the
problem that removed their last row.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._validation import N_EXAMPLES, check_columns, raise_bad_rows
from ..exceptions import InvalidDataError, InvalidParameterError
from ._rfm import (
    _chunks,
    _show,
    check_hashable,
    missing_mask,
    offset_codes,
    parse_dates,
    parse_timestamp,
)

__all__ = ["clean_transactions", "CleaningReport", "ProblemRows", "PROBLEMS"]

#: The problems checked, in the order they are applied: a row is counted under the first
#: one it has.
PROBLEMS = ("missing_customer_id", "bad_date", "missing_amount", "duplicate_row",
            "after_observation_end", "non_positive_amount")

_MONEY = re.compile(
    r"^\s*(?P<s1>[-+])?\s*(?P<c1>[$£€¥])?\s*(?P<s2>[-+])?\s*"
    r"(?P<int>\d{1,3}(?:,\d{3})+|\d+)(?P<dec>\.\d+)?\s*(?P<c2>[$£€¥])?\s*$"
)


@dataclass(frozen=True)
class ProblemRows:
    """What :func:`clean_transactions` found and did about one problem.

    Attributes
    ----------
    name : str
        The problem (one of ``PROBLEMS``).
    n_rows : int
        Rows that have the problem (rows already counted under an earlier problem are
        not counted again).
    n_dropped : int
        Rows removed because of it. Usually ``n_rows`` or 0; with ``returns="net"`` it
        also counts the purchases netted down to zero.
    action : str
        ``"dropped"``, ``"kept"``, ``"netted"`` or ``"not checked"``.
    examples : DataFrame
        Up to five of the rows, as they were in the input.
    details : dict
        Extra counts (for netting: returns, purchases reduced or netted to zero,
        returned amount and the part of it matched by no earlier purchase).
    """

    name: str
    n_rows: int
    n_dropped: int
    action: str
    examples: pd.DataFrame = field(repr=False, compare=False)
    details: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-serialisable description; examples as records with their row label."""
        examples = json.loads(self.examples.reset_index(names="row").to_json(
            orient="records", date_format="iso", default_handler=str))
        return {"name": self.name, "n_rows": self.n_rows, "n_dropped": self.n_dropped,
                "action": self.action, "examples": examples,
                "details": json.loads(json.dumps(self.details, default=float))}


@dataclass(frozen=True)
class CleaningReport:
    """Account of what :func:`clean_transactions` did to a transaction log.

    ``n_input_rows == n_output_rows + n_dropped_rows`` and ``n_input_customers ==
    n_output_customers + len(dropped_customers)`` always hold.

    Attributes
    ----------
    n_input_rows, n_output_rows : int
        Rows before and after cleaning.
    n_input_customers, n_output_customers : int
        Distinct customer ids before (missing ids excluded) and after cleaning.
    missing_customer_id, bad_date, missing_amount, duplicate_row, \
after_observation_end, non_positive_amount : ProblemRows
        Count, action and examples of each problem.
    dropped_customers : Series
        Ids of the customers left without any row, with the problem that removed their
        last rows (the Series is named ``reason`` and indexed by customer id).

    Examples
    --------
    >>> import pandas as pd
    >>> from custseg.features import clean_transactions
    >>> log = pd.DataFrame({"customer_id": [1, 1, 2, None],
    ...                     "date": ["2024-01-02", "2024-01-02", "not a date", "2024-01-03"],
    ...                     "amount": [10.0, 10.0, 5.0, 3.0]})
    >>> clean, report = clean_transactions(log, monetary_value_col="amount")
    >>> report.n_input_rows, report.n_output_rows, report.n_dropped_rows
    (4, 1, 3)
    >>> report.summary()["n_dropped"].to_dict()  # doctest: +NORMALIZE_WHITESPACE
    {'missing_customer_id': 1, 'bad_date': 1, 'missing_amount': 0, 'duplicate_row': 1,
     'after_observation_end': 0, 'non_positive_amount': 0}
    >>> report.dropped_customers.to_dict()
    {2.0: 'bad_date'}
    """

    n_input_rows: int
    n_output_rows: int
    n_input_customers: int
    n_output_customers: int
    missing_customer_id: ProblemRows
    bad_date: ProblemRows
    missing_amount: ProblemRows
    duplicate_row: ProblemRows
    after_observation_end: ProblemRows
    non_positive_amount: ProblemRows
    dropped_customers: pd.Series = field(repr=False, compare=False)

    @property
    def problems(self) -> dict[str, ProblemRows]:
        """The problems in the order they were applied."""
        return {name: getattr(self, name) for name in PROBLEMS}

    @property
    def n_dropped_rows(self) -> int:
        """Rows removed, all problems together."""
        return sum(p.n_dropped for p in self.problems.values())

    def summary(self) -> pd.DataFrame:
        """One row per problem: ``n_rows`` found, ``n_dropped`` and the ``action``."""
        return pd.DataFrame(
            [(p.n_rows, p.n_dropped, p.action) for p in self.problems.values()],
            index=pd.Index(PROBLEMS, name="problem"),
            columns=["n_rows", "n_dropped", "action"],
        )

    def to_dict(self) -> dict:
        """JSON-serialisable description of the whole report."""
        return {
            "n_input_rows": self.n_input_rows, "n_output_rows": self.n_output_rows,
            "n_input_customers": self.n_input_customers,
            "n_output_customers": self.n_output_customers,
            "n_dropped_rows": self.n_dropped_rows,
            "problems": {name: p.to_dict() for name, p in self.problems.items()},
            "dropped_customers": [
                {"customer_id": _plain(k), "reason": v}
                for k, v in self.dropped_customers.items()
            ],
        }

    def __repr__(self) -> str:
        lines = [
            f"CleaningReport: {self.n_input_rows:,} rows in, {self.n_output_rows:,} out "
            f"({self.n_dropped_rows:,} dropped); {self.n_input_customers:,} customers in, "
            f"{self.n_output_customers:,} out ({len(self.dropped_customers):,} dropped)"
        ]
        for p in self.problems.values():
            extra = f", {p.n_dropped:,} rows dropped" if p.n_dropped != p.n_rows and \
                p.n_dropped else ""
            lines.append(f"  {p.name:<22} {p.n_rows:>10,} rows  {p.action}{extra}")
        return "\n".join(lines)


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def _check_choice(name, value, choices):
    if not isinstance(value, str) or value not in choices:
        raise InvalidParameterError(
            f"{name}={value!r} is not valid; choose one of {list(choices)}.")


def _parse_amounts(frame: pd.DataFrame, column: str, alive: np.ndarray) -> np.ndarray:
    """Amounts as float64, NaN where missing; raise on text that is not an amount.

    Numbers pass unchanged; text such as ``"$1,234.50"``, ``"-12.00 €"`` or ``"1234.5"``
    (an optional sign, one optional currency symbol among ``$ £ € ¥`` before or after,
    digits with optional ``,`` thousands separators every three digits and an optional
    ``.`` decimal part) is read. Anything else, such as ``"12,50"`` (a decimal comma),
    is an error, not a guess.
    """
    values = frame[column]
    if pd.api.types.is_bool_dtype(values.dtype):
        raise InvalidDataError(f"Column '{column}' holds booleans, not amounts.")
    if pd.api.types.is_numeric_dtype(values.dtype):
        # missing values are NaN already; float64 comes without a copy (maybe read-only)
        out = values.to_numpy(dtype=np.float64, na_value=np.nan)
        raise_bad_rows(frame, np.isinf(out) & alive, column, "are infinite")
        return out
    missing = missing_mask(values)
    out = np.array(pd.to_numeric(values, errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan))
    todo = np.isnan(out) & ~missing
    if todo.any():
        text = values[todo].astype(str)
        parts = text.str.extract(_MONEY)
        ok = np.array(parts["int"].notna().to_numpy())
        number = pd.to_numeric(
            parts["int"].str.replace(",", "", regex=False)
            + parts["dec"].fillna(""), errors="coerce").to_numpy(dtype=np.float64,
                                                                 na_value=np.nan)
        negative = (parts["s1"].fillna("") + parts["s2"].fillna("")).str.count("-")
        sign = np.where(negative.to_numpy() % 2 == 1, -1.0, 1.0)
        two_currencies = (parts["c1"].notna() & parts["c2"].notna()).to_numpy()
        ok &= ~two_currencies
        parsed = np.where(ok, sign * number, np.nan)
        out[todo] = parsed
        bad = np.zeros(len(frame), dtype=bool)
        bad[np.flatnonzero(todo)[~ok]] = True
        raise_bad_rows(frame, bad & alive, column, "are not amounts",
                       hint="Amounts are read as numbers or text like '$1,234.50' "
                            "(dot decimals, comma thousands); convert other formats, "
                            "such as '12,50', before cleaning.")
    raise_bad_rows(frame, np.isinf(out) & alive, column, "are infinite")
    out[missing] = np.nan
    return out


def _net_returns(codes: np.ndarray, n_codes: int, times: np.ndarray,
                 amounts: np.ndarray):
    """Net every return against the same customer's earlier purchases, latest first.

    Returns the new amounts (returns and zero amounts set to 0), how many purchases
    were reduced, and per-row the unmatched part of the returns (on the last row of each
    customer with a return).

    Within a customer, in time order (purchases before returns at the same time), the
    purchases still unreturned form a stack: a purchase pushes its amount on top, a
    return removes its amount from the top down. With :math:`S_k` the running sum of
    signed amounts, the height of the stack is the reflected walk
    :math:`H_k = S_k - \\min(0, \\min_{j \\le k} S_j)`, and purchase :math:`i`, which
    occupied levels :math:`[H_{i-1}, H_i)`, keeps
    :math:`\\max(0, \\min_{k \\ge i} H_k - H_{i-1})` of its amount.
    """
    new = np.where(amounts > 0, amounts, 0.0)
    has_return = np.bincount(codes[amounts < 0], minlength=n_codes) > 0
    sel = np.flatnonzero(has_return[codes] & (amounts != 0))
    if sel.size == 0:
        return new, 0, 0.0
    order = sel[np.lexsort((sel, amounts[sel] < 0, times[sel], codes[sel]))]
    g = codes[order]
    x = amounts[order]
    running = pd.Series(x).groupby(g, sort=False).cumsum().to_numpy()
    floor = np.minimum(pd.Series(running).groupby(g, sort=False).cummin().to_numpy(), 0.0)
    height = running - floor
    starts = np.empty(g.size, dtype=bool)
    starts[0] = True
    np.not_equal(g[1:], g[:-1], out=starts[1:])
    before = np.empty_like(height)
    before[0] = 0.0
    before[1:] = height[:-1]
    before[starts] = 0.0
    rev_min = pd.Series(height[::-1]).groupby(g[::-1], sort=False).cummin().to_numpy()
    later_min = rev_min[::-1]
    purchase = x > 0
    kept = np.where(later_min >= height, x, np.clip(later_min - before, 0.0, x))
    kept[kept <= 1e-9 * np.maximum(1.0, np.abs(before) + np.abs(x))] = 0.0
    kept = np.where(purchase, kept, 0.0)
    n_reduced = int(np.count_nonzero(purchase & (kept < x)))
    ends = np.append(np.flatnonzero(starts)[1:], g.size) - 1
    unmatched = float(-floor[ends].sum())
    new[order] = kept
    return new, n_reduced, unmatched


def clean_transactions(transactions, customer_id_col="customer_id", datetime_col="date",
                       monetary_value_col=None, observation_period_end=None,
                       returns="drop", duplicates="drop", missing_ids="drop",
                       bad_dates="drop", future="drop", datetime_format=None,
                       missing_amounts="drop"):
    """Clean a raw transaction log and account for every row removed.

    The problems below are looked for in this order; a row is counted under the first
    one it has, so the counts add up: ``n_input_rows == n_output_rows + n_dropped_rows``.

    1. ``missing_customer_id``: NaN, None or blank id (``missing_ids``).
    2. ``bad_date``: missing or unparseable date (``bad_dates``).
    3. ``missing_amount``: missing amount, with a monetary column (``missing_amounts``).
    4. ``duplicate_row``: a row equal in every column to an earlier row, dates and
       amounts compared after parsing (``duplicates``; the first one is kept).
    5. ``after_observation_end``: a date after ``observation_period_end`` (``future``).
    6. ``non_positive_amount``: an amount <= 0, with a monetary column (``returns``).

    Parameters
    ----------
    transactions : DataFrame
        One row per transaction; other columns are carried along.
    customer_id_col, datetime_col : str
        Columns of customer ids and purchase dates.
    monetary_value_col : str, optional
        Column of amounts: numbers, or text such as ``"$1,234.50"`` (see Notes).
    observation_period_end : str or Timestamp, optional
        Rows dated strictly after it are ``after_observation_end`` (a date without a
        time is midnight at its start). Without it this problem is not checked.
    returns : {"drop", "net", "keep"}, default="drop"
        Amounts <= 0: drop those rows; net returns against the customer's purchases
        (Notes); or keep them.
    duplicates : {"drop", "keep"}, default="drop"
        Rows equal in every column to an earlier row: drop them or keep them.
    missing_ids : {"drop", "raise"}, default="drop"
        Rows without a customer id: drop them or raise an error listing them.
    bad_dates : {"drop", "raise"}, default="drop"
        Rows with a missing or unparseable date: drop them or raise.
    future : {"drop", "keep", "raise"}, default="drop"
        Rows dated after ``observation_period_end``: drop, keep or raise.
    datetime_format : str, optional
        ``strftime`` format of the date strings and of ``observation_period_end``.
    missing_amounts : {"drop", "raise"}, default="drop"
        Rows without an amount (NaN, None, blank text): drop them or raise.

    Returns
    -------
    cleaned : DataFrame
        The rows kept, in input order with their index labels. Text dates are parsed
        to naive ``datetime64`` (aware dates are kept as they are) and text amounts to
        float; with ``returns="net"`` the amounts are the netted ones.
    report : CleaningReport
        Per problem: rows found, rows dropped, action and up to five examples; the
        customers that disappeared and why.

    Raises
    ------
    CustsegError
        A policy ``"raise"`` meets its problem, text amounts cannot be read, numeric
        dates come without ``datetime_format``, a column is missing or a policy is not
        one of its choices.

    See Also
    --------
    rfm_summary : summarise the cleaned log into a customer table.

    Notes
    -----
    ``returns="net"`` treats a negative amount as a return of goods bought earlier by
    the same customer. Each return is subtracted from that customer's purchases made at
    or before its time, the most recent purchase first, then the one before, and so on.
    Purchases whose amount falls to 0 are dropped; the return rows and zero-amount rows
    are dropped too; all of them are counted under ``non_positive_amount``. The part of
    a return larger than the earlier purchases (``unmatched_return_amount`` in the
    details) is discarded. The matching is computed for all customers at once from
    running sums (see the stack formula in ``_net_returns``), without a loop over
    customers.

    Amounts given as text are read when they look like ``"$1,234.50"``: an optional
    sign, at most one currency symbol among ``$ £ € ¥`` (before or after the number),
    digits with optional ``,`` thousands separators and an optional ``.`` decimal part.
    Other text (``"12,50"``, ``"EUR 12"``) raises an error listing the rows.

    Examples
    --------
    >>> import pandas as pd
    >>> from custseg.features import clean_transactions
    >>> log = pd.DataFrame({"customer_id": ["a", "a", "a", "b"],
    ...                     "date": pd.to_datetime(["2024-01-01", "2024-01-05",
    ...                                             "2024-01-09", "2024-01-02"]),
    ...                     "amount": ["$30.00", "$1,000.00", "-$1,010.00", "$8.00"]})
    >>> clean, report = clean_transactions(log, monetary_value_col="amount",
    ...                                    returns="net")
    >>> clean  # doctest: +NORMALIZE_WHITESPACE
      customer_id       date  amount
    0           a 2024-01-01    20.0
    3           b 2024-01-02     8.0
    >>> report.non_positive_amount.n_rows, report.non_positive_amount.n_dropped
    (1, 2)
    """
    _check_choice("returns", returns, ("drop", "net", "keep"))
    _check_choice("duplicates", duplicates, ("drop", "keep"))
    _check_choice("missing_ids", missing_ids, ("drop", "raise"))
    _check_choice("bad_dates", bad_dates, ("drop", "raise"))
    _check_choice("future", future, ("drop", "keep", "raise"))
    _check_choice("missing_amounts", missing_amounts, ("drop", "raise"))
    columns = [customer_id_col, datetime_col]
    if monetary_value_col is not None:
        columns.append(monetary_value_col)
    check_columns(transactions, columns, what="transaction log")
    end = None
    if observation_period_end is not None:
        end = parse_timestamp(observation_period_end, datetime_format)

    frame = transactions
    n = len(frame)
    alive = np.ones(n, dtype=bool)
    removed_at = np.full(n, -1, dtype=np.int8)
    found: dict[str, ProblemRows] = {}

    def record(step, mask, policy, *, problem, hint="", drop=None, details=None):
        name = PROBLEMS[step]
        mask = mask & alive
        if policy == "raise":
            raise_bad_rows(frame, mask, problem_column[name], problem, hint=hint)
        if drop is None:
            drop = mask if policy == "drop" else np.zeros(n, dtype=bool)
        action = {"drop": "dropped", "keep": "kept", "raise": "dropped",
                  "net": "netted"}.get(policy, policy)
        found[name] = ProblemRows(
            name, int(mask.sum()), int(drop.sum()), action,
            frame.iloc[np.flatnonzero(mask)[:N_EXAMPLES]], details or {})
        alive[drop] = False
        removed_at[drop] = step

    problem_column = {
        "missing_customer_id": customer_id_col, "bad_date": datetime_col,
        "missing_amount": monetary_value_col, "duplicate_row": datetime_col,
        "after_observation_end": datetime_col, "non_positive_amount": monetary_value_col,
    }

    customers = _Customers.of(frame, customer_id_col)
    missing_id = customers.missing()
    record(0, missing_id, missing_ids, problem="have no customer id (NaN, None or blank)")

    dates = parse_dates(frame, datetime_col, datetime_format)
    record(1, dates.isna().to_numpy(), bad_dates, problem="have a missing or unparseable "
           "date", hint="Pass datetime_format explicitly (for example '%d/%m/%Y').")

    amounts = None
    if monetary_value_col is None:
        found["missing_amount"] = _not_checked("missing_amount", frame)
    else:
        amounts = _parse_amounts(frame, monetary_value_col, alive)
        record(2, np.isnan(amounts), missing_amounts, problem="have no amount")

    dup = _duplicated(frame, columns, {datetime_col: dates, monetary_value_col: amounts},
                      alive)
    record(3, dup, duplicates, problem="duplicate an earlier row")
    del dup

    if end is None:
        found["after_observation_end"] = _not_checked("after_observation_end", frame)
    else:
        late = (dates > end).to_numpy()
        record(4, late, future, problem=f"are dated after observation_period_end={_show(end)}",
               hint="Use future='drop' to leave them out.")

    new_amounts = amounts
    if amounts is None:
        found["non_positive_amount"] = _not_checked("non_positive_amount", frame)
    else:
        nonpos = alive & (amounts <= 0)
        if returns == "net":
            live = np.flatnonzero(alive)
            times = dates.to_numpy()[live].view(np.int64)
            netted, n_reduced, unmatched = _net_returns(
                customers.codes[live], customers.n_codes, times, amounts[live])
            new_amounts = amounts.copy()
            new_amounts[live] = netted
            drop = np.zeros(n, dtype=bool)
            drop[live] = netted <= 0
            purchases = alive & (amounts > 0)
            details = {
                "n_returns": int((nonpos & (amounts < 0)).sum()),
                "n_zero_amounts": int((nonpos & (amounts == 0)).sum()),
                "n_purchases_reduced": n_reduced,
                "n_purchases_netted_to_zero": int((drop & purchases).sum()),
                "returned_amount": float(-amounts[nonpos].sum()),
                "unmatched_return_amount": unmatched,
            }
            record(5, nonpos, "net", problem="", drop=drop, details=details)
        else:
            record(5, nonpos, returns, problem="")

    # one take of the rows kept (none when every row is kept: the columns are shared)
    kept = None if alive.all() else np.flatnonzero(alive)
    cleaned = frame.copy(deep=False) if kept is None else frame.take(kept)
    if not (isinstance(frame[datetime_col].dtype, pd.DatetimeTZDtype)
            or pd.api.types.is_datetime64_dtype(frame[datetime_col].dtype)):
        date_values = dates.to_numpy()
        cleaned[datetime_col] = date_values if kept is None else date_values[kept]
    if amounts is not None and (new_amounts is not amounts or not
                                pd.api.types.is_numeric_dtype(frame[monetary_value_col])):
        cleaned[monetary_value_col] = new_amounts if kept is None else new_amounts[kept]
    del kept, dates, amounts, new_amounts

    n_input_customers, gone, reasons = customers.dropped(alive, removed_at)
    dropped = pd.Series(np.asarray(PROBLEMS, dtype=object)[reasons],
                        index=pd.Index(customers.labels(gone), name=customer_id_col),
                        name="reason", dtype=object)
    try:
        dropped = dropped.sort_index()
    except TypeError:  # ids of mixed types
        pass
    report = CleaningReport(
        n_input_rows=n, n_output_rows=int(alive.sum()),
        n_input_customers=n_input_customers,
        n_output_customers=n_input_customers - len(gone),
        dropped_customers=dropped,
        **{name: found[name] for name in PROBLEMS},
    )
    return cleaned, report


class _Customers:
    """Integer codes of the customer ids, computed once for the whole cleaning.

    Integer ids in a compact range are offset by their minimum (no hashing); other ids
    are factorized once, missing ones coded -1, and blank text is looked for among the
    distinct ids only, so no text copy of the id column is made.
    """

    def __init__(self, codes: np.ndarray, uniques, n_codes: int, blank=None):
        self.codes = codes
        self.uniques = uniques  # callable(codes) -> labels
        self.n_codes = n_codes
        self.blank = blank  # bool per code: the id is blank text

    @classmethod
    def of(cls, frame: pd.DataFrame, column: str) -> _Customers:
        ids = frame[column]
        dtype = ids.dtype
        if (pd.api.types.is_integer_dtype(dtype) and isinstance(dtype, np.dtype)
                and len(ids)):
            values = ids.to_numpy()
            lo, hi = int(values.min()), int(values.max())
            span = hi - lo + 1
            if span <= max(4 * len(values), 1 << 16) and span < 2**31:
                codes = offset_codes(values, lo)
                return cls(codes, lambda c: (c.astype(np.int64) + lo).astype(dtype), span)
        try:
            codes, uniques = pd.factorize(ids, use_na_sentinel=True)
        except TypeError:
            check_hashable(frame, column)
            raise
        blank = None
        if len(uniques) and (uniques.dtype == object
                             or pd.api.types.is_string_dtype(uniques.dtype)):
            blank = missing_mask(pd.Series(uniques, copy=False))
        uniques = pd.Index(uniques, copy=False)
        return cls(np.asarray(codes), lambda c: uniques[c], len(uniques), blank)

    def missing(self) -> np.ndarray:
        """Rows without a customer id: NaN, None or blank text."""
        missing = self.codes < 0
        if self.blank is not None and self.blank.any():
            missing |= self.blank[np.maximum(self.codes, 0)] & ~missing
        return missing

    def present(self) -> np.ndarray:
        """Which codes occur (with a valid id) in the log."""
        present = np.zeros(self.n_codes + 1, dtype=bool)
        present[self.codes] = True  # a missing id (-1) marks the spare last entry
        present = present[:-1]
        if self.blank is not None:
            present &= ~self.blank
        return present

    def dropped(self, alive: np.ndarray, removed_at: np.ndarray):
        """Customers in the input, the codes of those left without a row, and for each
        the step that removed their last row."""
        present = self.present()
        if alive.all():
            return int(present.sum()), np.zeros(0, dtype=np.intp), np.zeros(0, np.int64)
        valid = ~self.missing()
        kept = np.zeros(self.n_codes, dtype=bool)
        kept[self.codes[alive & valid]] = True
        gone = np.flatnonzero(present & ~kept)
        reasons = np.full(self.n_codes, -1, dtype=np.int64)
        removed = np.flatnonzero(valid & (removed_at >= 0))
        np.maximum.at(reasons, self.codes[removed], removed_at[removed].astype(np.int64))
        return int(present.sum()), gone, reasons[gone]

    def labels(self, codes: np.ndarray):
        return self.uniques(codes)


def _row_hashes(columns: list[pd.Series], rows: np.ndarray | None) -> np.ndarray:
    """A 32-bit hash of every row (of ``rows`` only, when given) over ``columns``.

    Each column is hashed by :func:`pandas.util.hash_pandas_object`, which gives equal
    values equal hashes whatever their bit pattern (-0.0 and 0.0, every NaN, 1 and 1.0
    in an object column); the column hashes are mixed with an odd multiplier and folded
    to 32 bits. The rows are hashed in chunks, so the temporaries stay small whatever
    the size of the log. 32 bits are enough: the hashes only select the rows to compare
    exactly (about ``n**2 / 2**33`` extra rows from collisions: 7,500 for 8 million).
    """
    n = len(columns[0]) if rows is None else len(rows)
    out = np.empty(n, dtype=np.uint32)
    multiplier = np.uint64(0x9E3779B97F4A7C15)
    for part in _chunks(n):
        where = part if rows is None else rows[part]
        mixed = None
        for column in columns:
            hashed = pd.util.hash_pandas_object(column.iloc[where], index=False).to_numpy()
            if mixed is None:
                mixed = np.array(hashed)
            else:
                mixed *= multiplier
                mixed ^= hashed
        mixed ^= mixed >> np.uint64(32)
        out[part] = mixed  # the low 32 bits: collisions only add rows to compare exactly
    return out


def _hashable_columns(frame: pd.DataFrame, subset) -> list[pd.Series]:
    """The columns to hash; object columns as the codes of one factorization of the
    whole column: pandas hashes the objects of each chunk after factorizing that chunk,
    so 1 and 1.0 (equal, as ``duplicated`` sees them) could hash differently in two
    chunks, while their codes are equal."""
    columns = []
    for j in range(frame.shape[1]):
        column = frame.iloc[:, j]
        if subset is not None and column.name not in subset:
            continue
        if column.dtype == object:
            column = pd.Series(pd.factorize(column)[0], copy=False)
        columns.append(column)
    return columns


def _duplicated(frame: pd.DataFrame, key_columns: list, replaced: dict,
                alive: np.ndarray) -> np.ndarray:
    """Rows equal in every column to an earlier live row (``keep="first"``).

    ``replaced`` holds the parsed values of some columns (dates, amounts), compared
    instead of the raw ones. Every live row gets a 64-bit hash of its values
    (:func:`_row_hashes`); only the rows whose hash occurs more than once are compared
    exactly (``DataFrame.duplicated``), so a hash collision never makes a duplicate and
    the memory is a few arrays of 4 bytes per row, not a copy of the log. With values
    that have no hash (lists ...) in other columns, only ``key_columns`` are compared.
    """
    n = len(frame)
    compare = frame.copy(deep=False)
    for column, values in replaced.items():
        if column is not None and values is not None:
            compare[column] = values
    live = None if alive.all() else np.flatnonzero(alive)
    subset = None
    try:
        hashes = _row_hashes(_hashable_columns(compare, None), live)
    except TypeError:  # unhashable cells: compare the columns that matter
        subset = key_columns
        hashes = _row_hashes(_hashable_columns(compare, subset), live)
    ordered = np.sort(hashes)
    repeated = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
    del ordered
    dup = np.zeros(n, dtype=bool)
    if not repeated.size:
        return dup
    candidates = np.flatnonzero(pd.Series(hashes, copy=False).isin(repeated).to_numpy())
    del hashes
    rows = candidates if live is None else live[candidates]
    dup[rows] = compare.take(rows).duplicated(subset=subset, keep="first").to_numpy()
    return dup

def _not_checked(name: str, frame: pd.DataFrame) -> ProblemRows:
    # a copy: a slice of the log would keep the whole log alive with the report
    return ProblemRows(name, 0, 0, "not checked", frame.iloc[:0].copy())
