"""The one place that checks user data: columns, dtypes, NaN, negatives, recency <= T.

Every check raises a :class:`~custseg.exceptions.CustsegError` whose message names the
column, the number of offending rows and shows up to five of them.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from .exceptions import EmptyDataError, InvalidDataError, MissingColumnError

__all__ = [
    "N_EXAMPLES",
    "format_examples",
    "raise_bad_rows",
    "check_columns",
    "check_not_empty",
    "check_no_nan",
    "check_finite_numeric",
    "check_nonnegative",
    "to_datetime_column",
    "check_customer_table",
    "as_customer_frame",
    "check_unique_columns",
    "validate_input",
]

N_EXAMPLES = 5


def format_examples(frame: pd.DataFrame | pd.Series, mask, n: int = N_EXAMPLES) -> str:
    """Render up to ``n`` rows of ``frame`` selected by boolean ``mask`` as text."""
    mask = np.asarray(mask, dtype=bool)
    rows = frame[mask] if isinstance(frame, pd.Series) else frame.loc[mask]
    shown = rows.head(n)
    if isinstance(shown, pd.Series):
        shown = shown.to_frame()
    with pd.option_context("display.width", 120, "display.max_columns", 12):
        return shown.to_string(max_colwidth=40)


def raise_bad_rows(frame, mask, column: str, problem: str, *, hint: str = "",
                   error=InvalidDataError):
    """Raise ``error`` if any row of ``mask`` is True; the message names the column,
    the count and shows up to five offending rows."""
    mask = np.asarray(mask, dtype=bool)
    n_bad = int(mask.sum())
    if n_bad == 0:
        return
    total = len(mask)
    msg = (
        f"Column '{column}': {n_bad} of {total} rows {problem}. "
        f"First {min(n_bad, N_EXAMPLES)} shown:\n{format_examples(frame, mask)}"
    )
    if hint:
        msg += f"\n{hint}"
    raise error(msg)


def check_columns(frame, columns: Iterable[str], *, what: str = "input") -> None:
    """Raise :class:`MissingColumnError` listing the missing columns and close matches."""
    if not isinstance(frame, pd.DataFrame):
        raise InvalidDataError(
            f"The {what} must be a pandas DataFrame, got {type(frame).__name__}."
        )
    columns = list(columns)
    present = [str(c) for c in frame.columns]
    missing = [c for c in columns if c not in frame.columns]
    if not missing:
        check_unique_columns(frame, columns, what=what)
        return
    parts = []
    for col in missing:
        close = difflib.get_close_matches(str(col), present, n=3, cutoff=0.5)
        parts.append(f"'{col}'" + (f" (did you mean {', '.join(map(repr, close))}?)"
                                   if close else ""))
    raise MissingColumnError(
        f"The {what} is missing column(s) {', '.join(parts)}. "
        f"Columns found: {present[:20]}{' ...' if len(present) > 20 else ''}."
    )


def check_unique_columns(frame, columns: Iterable[str] | None = None, *,
                         what: str = "input") -> None:
    """Raise :class:`InvalidDataError` if one of ``columns`` (default: every column) occurs
    more than once in ``frame``, as ``pandas.concat`` of two tables gives; ``frame[col]``
    would then be a table, not a column."""
    if not isinstance(frame, pd.DataFrame) or frame.columns.is_unique:
        return
    counts = pd.Series(frame.columns).value_counts()
    doubled = counts[counts > 1]
    if columns is not None:
        wanted = set(columns)
        doubled = doubled[[c in wanted for c in doubled.index]]
    if len(doubled):
        listed = ", ".join(f"'{c}' ({n} times)" for c, n in doubled.items())
        raise InvalidDataError(
            f"The {what} has duplicate columns: {listed}. Each column must appear once; "
            "drop or rename the duplicates (pandas.concat of two tables gives them)."
        )


def validate_input(estimator, X, **kwargs):
    """scikit-learn's ``validate_data`` whose errors about the shape of ``X`` (number of
    features, 1-d input, sparse input, feature names, values of the wrong type) are raised
    as :class:`InvalidDataError` (for a wrong type, one that is also a ``TypeError``), with
    scikit-learn's message.

    ``InvalidDataError`` is a ``ValueError``, so scikit-learn's own checks, which expect a
    ``ValueError`` there, still pass.
    """
    from sklearn.utils.validation import validate_data

    check_unique_columns(X, what="customer table")
    try:
        return validate_data(estimator, X, **kwargs)
    except InvalidDataError:
        raise
    except TypeError as exc:  # a value of the wrong type (a dict in an object array)
        raise _InvalidDataTypeError(str(exc)) from exc
    except ValueError as exc:
        raise InvalidDataError(str(exc)) from exc


class _InvalidDataTypeError(InvalidDataError, TypeError):
    """An :class:`InvalidDataError` that is also the ``TypeError`` scikit-learn raises for
    values of the wrong type (as its ``check_dtype_object`` expects)."""


def check_not_empty(frame, *, what: str = "input") -> None:
    if len(frame) == 0:
        raise EmptyDataError(f"The {what} has no rows.")


def check_no_nan(frame: pd.DataFrame, column: str, *, what: str = "") -> None:
    values = frame[column]
    mask = np.array(values.isna().to_numpy(), dtype=bool)  # writable copy
    if values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
        stripped = values.astype("string").str.strip()
        mask |= (stripped == "").fillna(False).to_numpy(dtype=bool)
    raise_bad_rows(frame, mask, column, "are missing (NaN, None or empty string)")


def check_finite_numeric(frame: pd.DataFrame, column: str) -> np.ndarray:
    """Return ``frame[column]`` as float64, raising on non-numeric, NaN or inf values."""
    values = frame[column]
    if not (pd.api.types.is_numeric_dtype(values.dtype)
            and not pd.api.types.is_bool_dtype(values.dtype)):
        converted = pd.to_numeric(values, errors="coerce")
        bad = converted.isna().to_numpy() & values.notna().to_numpy()
        raise_bad_rows(frame, bad, column, "are not numbers",
                       hint="Convert the column to numbers first "
                            "(strip currency symbols and thousands separators).")
        values = converted
    arr = values.to_numpy(dtype=np.float64, na_value=np.nan)
    raise_bad_rows(frame, ~np.isfinite(arr), column, "are NaN or infinite")
    return arr


def check_nonnegative(frame: pd.DataFrame, column: str, values=None) -> None:
    arr = frame[column].to_numpy(dtype=float) if values is None else values
    raise_bad_rows(frame, arr < 0, column, "are negative")


def to_datetime_column(frame: pd.DataFrame, column: str, *, format: str | None = None,
                       errors: str = "raise") -> pd.Series:
    """Parse ``frame[column]`` to datetime64.

    Timezone-aware values are converted to UTC and made naive so that aware and naive
    stamps compare. With ``errors="raise"`` unparseable values raise an
    :class:`InvalidDataError` naming them; with ``errors="coerce"`` they become NaT.
    """
    values = frame[column]
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC").dt.tz_localize(None)
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return values
    if pd.api.types.is_object_dtype(values.dtype) and len(values) and any(
        getattr(v, "tzinfo", None) is not None for v in values.head(1000)
    ):
        parsed = pd.to_datetime(values, errors="coerce", utc=True, format=format)
        parsed = parsed.dt.tz_localize(None)
    else:
        try:
            parsed = pd.to_datetime(values, errors="coerce", format=format)
        except (ValueError, TypeError):
            parsed = pd.to_datetime(values, errors="coerce", utc=True, format=format)
        if isinstance(parsed.dtype, pd.DatetimeTZDtype):
            parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
        elif not pd.api.types.is_datetime64_any_dtype(parsed.dtype):
            parsed = pd.to_datetime(values, errors="coerce", utc=True, format=format)
            parsed = parsed.dt.tz_localize(None)
    if errors == "raise":
        bad = parsed.isna().to_numpy() & values.notna().to_numpy()
        raise_bad_rows(frame, bad, column, "cannot be parsed as dates",
                       hint="Pass the date format explicitly (for example '%d/%m/%Y').")
        raise_bad_rows(frame, values.isna().to_numpy(), column, "have no date")
    return parsed


CUSTOMER_COLUMNS = ("frequency", "recency", "T")


def as_customer_frame(X, columns: Sequence[str] = CUSTOMER_COLUMNS) -> pd.DataFrame:
    """Return X as a DataFrame with ``columns``: a DataFrame is selected by name, an array
    is taken in the documented column order."""
    if isinstance(X, pd.DataFrame):
        check_columns(X, columns, what="customer table")
        return X.loc[:, list(columns)]
    arr = np.asarray(X)
    if arr.ndim != 2 or arr.shape[1] < len(columns):
        raise InvalidDataError(
            f"Expected a customer table with columns {list(columns)} "
            f"(a DataFrame, or an array of shape (n_customers, {len(columns)})), "
            f"got an array of shape {arr.shape}."
        )
    return pd.DataFrame(arr[:, : len(columns)], columns=list(columns))


def check_customer_table(frame: pd.DataFrame, *, columns: Sequence[str] = CUSTOMER_COLUMNS,
                         integer_frequency: bool = True, recency_le_T: bool = True,
                         allow_empty: bool = False) -> dict[str, np.ndarray]:
    """Validate a customer table (frequency, recency, T ...) and return float64 arrays.

    Checks: numeric and finite, non-negative, whole frequency, recency <= T, and
    recency == 0 where frequency == 0.
    """
    if not allow_empty:
        check_not_empty(frame, what="customer table")
    out = {}
    for col in columns:
        arr = check_finite_numeric(frame, col)
        check_nonnegative(frame, col, arr)
        out[col] = arr
    if integer_frequency and "frequency" in out:
        f = out["frequency"]
        raise_bad_rows(frame, f != np.round(f), "frequency",
                       "are not whole numbers (frequency counts repeat purchases)")
    if recency_le_T and "recency" in out and "T" in out:
        r, t = out["recency"], out["T"]
        tol = 1e-9 * np.maximum(1.0, np.abs(t))
        raise_bad_rows(frame, r > t + tol, "recency",
                       "have recency greater than T (the last purchase is after the end "
                       "of the observation period)")
    if "frequency" in out and "recency" in out:
        raise_bad_rows(frame, (out["frequency"] == 0) & (out["recency"] != 0), "recency",
                       "have frequency 0 but non-zero recency (recency is the age at "
                       "the last repeat purchase, 0 without one)")
    return out
