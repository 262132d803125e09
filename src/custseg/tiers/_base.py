"""The one tiering engine: ordered rules evaluated vectorised, and :class:`RuleTierer`.

Every tierer of :mod:`custseg.tiers` is a preset of this mechanism: ``fit`` learns (or
takes) its cut points, and ``predict`` builds an ordered list of ``(code, condition)``
rules from them and evaluates it with :func:`apply_rules` (first match wins).
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import StrOptions
from sklearn.utils._set_output import _get_output_config
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted

from .._serialize import SerializableMixin
from .._validation import (
    check_columns,
    check_unique_columns,
    raise_bad_rows,
    validate_input,
)
from ..exceptions import EmptyDataError, InvalidDataError, InvalidParameterError
from ._expr import (
    Columns,
    check_missing,
    compile_condition,
    condition_columns,
    condition_text,
    evaluate,
)

__all__ = ["RuleTierer", "apply_rules", "quantile_edges", "pareto_edges"]


# ------------------------------------------------------------------ pure functions
def quantile_edges(values, fractions) -> np.ndarray:
    r"""Cut points that split ``values`` at the given fractions, never splitting ties.

    Parameters
    ----------
    values : array-like of shape (n,)
        Finite numbers.
    fractions : sequence of float
        Increasing fractions in (0, 1), for example ``(0.2, 0.4, 0.6, 0.8)`` for
        quintiles.

    Returns
    -------
    edges : ndarray of shape (len(fractions),)
        Non-decreasing cut points: a value ``x`` lies in bin ``1 + sum(x >= edges)``.
        An edge is ``inf`` when no value lies above it.

    Notes
    -----
    The edge for the fraction :math:`b` is the smallest value with at least
    :math:`b\,n` values below it,

    .. math:: e_b = \min \{v : \#\{x_i < v\} \ge b\,n\},

    so each value lies in the bin of its lowest rank (the "min" or competition rank of
    ``pandas.Series.rank(method="min")``): with distinct values the bins hold
    :math:`n / k` values each; a tied group is never split and, when it straddles a
    boundary, goes to the lower bin. Hence the part above an edge never holds more than
    its share, :math:`\#\{x_i \ge e_b\} \le (1 - b)\,n` (the "top 20%" tier never
    holds more than 20% of the customers), the smallest value is always in bin 1, and
    the result depends neither on the row order nor on how ties are broken. New values
    between two training values fall in the bin of the lower one.

    Examples
    --------
    >>> quantile_edges([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [0.5])
    array([6.])
    >>> quantile_edges([0, 0, 0, 0, 0, 0, 1, 2, 3, 4], [0.2, 0.4, 0.6, 0.8])
    array([1., 1., 1., 3.])

    The six zeros all get bin 1, 1 and 2 get bin 4 and 3 and 4 get bin 5.
    """
    x = np.asarray(values).ravel()
    fractions = np.asarray(fractions, dtype=np.float64)
    n = x.size
    if n == 0:
        raise EmptyDataError("Cannot learn cut points from no values.")
    targets = [_rank_target(b, n) for b in fractions]  # need #{x < v} >= target
    if x.dtype.kind in "iub":
        edges = _integer_edges(x, targets)
        if edges is not None:
            return edges
    a = np.sort(x.astype(np.float64, copy=False))
    edges = np.empty(fractions.size)
    for k, i in enumerate(targets):
        if i >= n:
            edges[k] = np.inf
            continue
        lo = np.searchsorted(a, a[i], side="left")
        if lo < i:  # a[i] continues a tied group that starts below the target
            i = np.searchsorted(a, a[i], side="right")
        edges[k] = a[i] if i < n else np.inf
    return edges


def _rank_target(b: float, n: int) -> int:
    """Smallest whole number of values at or above ``b * n`` (robust to rounding)."""
    target = b * n
    nearest = round(target)
    if abs(target - nearest) <= 1e-9 * max(1.0, target):
        return max(int(nearest), 0)
    return max(int(np.ceil(target)), 0)


def _integer_edges(x: np.ndarray, targets) -> np.ndarray | None:
    """:func:`quantile_edges` of integers by counting (linear time), when their range is
    small; ``None`` otherwise."""
    lo, hi = int(x.min()), int(x.max())
    if hi - lo > max(4 * x.size, 1 << 16):
        return None
    counts = np.bincount((x - lo).astype(np.intp, copy=False), minlength=hi - lo + 1)
    present = np.flatnonzero(counts)
    below = np.cumsum(counts)[present] - counts[present]  # #{x < v} for each present v
    k = np.searchsorted(below, np.asarray(targets), side="left")
    edges = np.full(len(targets), np.inf)
    ok = k < present.size
    edges[ok] = present[k[ok]] + lo
    return edges


def pareto_edges(values, shares) -> np.ndarray:
    """Cut points of the customers who make the first ``shares`` of the total value.

    Parameters
    ----------
    values : array-like of shape (n,)
        Non-negative finite values (revenue, CLV ...) with a positive total.
    shares : sequence of float
        Increasing cumulative shares in (0, 1), for example ``(0.8, 0.95)``.

    Returns
    -------
    edges : ndarray of shape (len(shares),)
        Non-increasing cut points: the customers with ``x >= edges[j]`` make the first
        ``shares[j]`` of the value.

    Notes
    -----
    Sort the customers by decreasing value. A customer belongs to the first share ``s``
    when the value of the customers strictly above them has not yet reached it:
    ``S(x) = sum_{x_i > x} x_i < s * total``, and the edge is the smallest such value,
    ``e_s = min {v : S(v) < s * total}``. Tied customers share one fate, so the result
    does not depend on the row order.

    Examples
    --------
    >>> pareto_edges([100, 50, 30, 10, 5, 5], [0.5, 0.8])
    array([100.,  30.])
    """
    x = np.asarray(values, dtype=np.float64).ravel()
    a = np.sort(x)
    total = a.sum()
    # minus_above[i] = -(value of the customers after position i in increasing order),
    # non-decreasing; built in place to hold one extra array only
    minus_above = np.cumsum(a)
    minus_above -= total
    edges = np.empty(len(shares))
    for k, s in enumerate(shares):
        i = np.searchsorted(minus_above, -s * total, side="right")
        edges[k] = a[i] if i < a.size else np.inf
    return edges


def apply_rules(rules, default_code: int, cols: Columns, *, missing: str = "raise",
                n_codes: int | None = None, what: str = "the rules",
                hint: str = "Fill or drop them first.") -> np.ndarray:
    """Evaluate ordered ``(code, condition)`` rules; the first rule that matches wins.

    Parameters
    ----------
    rules : sequence of (int, compiled condition)
        Conditions compiled by :func:`~custseg.tiers._expr.compile_condition`.
    default_code : int
        Code of the rows no rule matches.
    cols : Columns
        The table.
    missing : {"raise", "no_match"}, default="raise"
        What a missing value (NaN, None) in a column a rule compares does: raise an
        :class:`~custseg.exceptions.InvalidDataError` naming the column, or make that rule
        not match the row. Infinite numbers always raise.
    n_codes : int, optional
        Number of distinct codes, to choose the smallest integer dtype.
    what : str
        Name of the estimator, for error messages.
    hint : str
        Last line of the error message about missing values.

    Returns
    -------
    codes : ndarray of shape (n,)
        Integer code of each row.

    Notes
    -----
    The rules are applied from the last to the first, each overwriting the rows it
    matches (``codes += (code - codes) * mask``), so the first matching rule is the one
    that remains: the vectorised equivalent of ``numpy.select``, without stacking all
    masks in memory.
    """
    strict = _strict_columns(rules)
    _check_values(cols, strict, missing, what, hint)
    n_codes = max([default_code, *(c for c, _ in rules)]) + 1 if n_codes is None else n_codes
    dtype = np.int8 if n_codes <= 127 else (np.int16 if n_codes <= 32767 else np.int32)
    codes = np.full(cols.n, default_code, dtype=dtype)
    step = np.empty(cols.n, dtype=dtype)
    memo: dict = {}
    for code, node in reversed(list(rules)):
        mask = _rule_mask(node, cols, memo, missing)
        # codes = where(mask, code, codes), branch-free: much faster than a masked store
        np.subtract(dtype(code), codes, out=step)
        np.multiply(step, mask, out=step)
        np.add(codes, step, out=codes)
    return codes


def rule_match_counts(rules, cols: Columns, *, missing: str = "raise",
                      what: str = "the rules", hint: str = "Fill or drop them first."
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Per rule: rows it matches (raw) and rows it decides (first match)."""
    strict = _strict_columns(rules)
    _check_values(cols, strict, missing, what, hint)
    taken = np.zeros(cols.n, dtype=bool)
    raw, first = [], []
    memo: dict = {}
    for _, node in rules:
        mask = _rule_mask(node, cols, memo, missing)
        raw.append(int(np.count_nonzero(mask)))
        first.append(int(np.count_nonzero(mask & ~taken)))
        taken |= mask
    return np.asarray(raw, dtype=np.int64), np.asarray(first, dtype=np.int64)


def _strict_columns(rules) -> list:
    out: list = []
    for _, node in rules:
        for c in condition_columns(node, strict=True):
            if c not in out:
                out.append(c)
    return out


def _check_values(cols: Columns, columns, missing: str, what: str, hint: str) -> None:
    if missing == "raise":
        check_missing(cols, columns, what, hint=hint)
        return
    for name in columns:
        value = cols.get(name)
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            raise_bad_rows(cols.frame, np.isinf(value), str(name),
                           f"are infinite ({what} cannot handle them)")


def _rule_mask(node, cols: Columns, memo: dict, missing: str) -> np.ndarray:
    mask = evaluate(node, cols, memo)
    if missing == "no_match":
        for c in condition_columns(node, strict=True):
            miss = cols.missing(c)
            if miss.any():
                mask = mask & ~miss
    return mask


# ------------------------------------------------------------------ base estimator
class BaseTierer(SerializableMixin, TransformerMixin, BaseEstimator):
    """Shared plumbing of the tierers: input checks, labels, transform, explain.

    Subclasses implement ``_fit(cols)`` (learn cut points and set ``classes_``),
    ``_rules()`` (the ordered ``(code, condition)`` rules and the default code built
    from the fitted state), ``_input_columns()`` (the columns read, in the documented
    array order) and ``_output_name()``.
    """

    _missing_policy = "raise"
    _missing_hint = "Fill or drop them first."

    # -- input
    def _input_columns(self) -> list:
        return []

    def _prepare(self, X, *, reset: bool) -> Columns:
        if isinstance(X, pd.DataFrame):
            needed = self._input_columns()
            # a column read twice (pandas.concat of two tables) would be a table, not a
            # column: name it before anything reads it
            check_unique_columns(X, [c for c in needed if isinstance(c, str)],
                                 what=f"input of {type(self).__name__}")
            cols = Columns(X)
            # before scikit-learn's feature-name check: this one names the missing
            # column and suggests close matches
            self._check_present(cols)
            # a tierer that knows the columns it reads records (and later checks) only
            # those, so a customer table may gain other columns between snapshots
            if needed and all(isinstance(c, str) for c in needed) and not self._opaque():
                read = [c for c in X.columns if c in set(needed)]  # the frame's order
                validate_input(self, X.loc[:, read], skip_check_array=True, reset=reset)
            else:
                validate_input(self, X, skip_check_array=True, reset=reset)
            if X.shape[1] == 0:
                raise InvalidDataError(
                    f"The input has 0 feature(s) (shape=({len(X)}, 0)); a minimum of 1 "
                    "is required.")
        else:
            arr = validate_input(self, X, reset=reset, dtype="numeric",
                                 ensure_all_finite=False)
            cols = Columns.from_array(arr, self._array_names(arr.shape[1]))
            self._check_present(cols)
        if cols.n == 0:
            raise EmptyDataError(f"{type(self).__name__} got no rows (0 sample(s)).")
        return cols

    def _opaque(self) -> bool:
        """True when a condition is a callable, whose columns cannot be known."""
        return False

    def _array_names(self, n_columns: int) -> list:
        names = getattr(self, "feature_names_in_", None)
        if names is not None and len(names) == n_columns:
            return list(names)
        # the columns read, in the order of the column parameters; x<i> elsewhere
        out = [f"x{i}" for i in range(n_columns)]
        for i, c in enumerate(self._input_columns()[:n_columns]):
            if isinstance(c, str):
                out[i] = c
        return out

    def _check_present(self, cols: Columns) -> None:
        needed = self._input_columns()
        if cols.is_array and len(needed) > cols.n_columns:
            raise InvalidDataError(
                f"{type(self).__name__} reads {len(needed)} columns from an array, in the "
                f"order {[str(c) for c in needed]}, but got {cols.n_columns} feature(s).")
        named = [c for c in needed if not isinstance(c, (int, np.integer))]
        check_columns(cols.frame_for_columns(), named,
                      what=f"input of {type(self).__name__}")
        n_cols = cols.n_columns
        for c in needed:
            if isinstance(c, (int, np.integer)) and not -n_cols <= c < n_cols and (
                    c not in cols.names):
                raise InvalidDataError(
                    f"{type(self).__name__} reads column position {c}, but the input has "
                    f"{n_cols} feature(s).")

    # -- fit / predict
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the cut points from a customer table.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_customers, n_features)
            The customer table (see the class documentation for the columns read).
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted tierer.
        """
        cols = self._prepare(X, reset=True)
        self._fit(cols)
        return self

    def _codes(self, cols: Columns) -> np.ndarray:
        rules, default = self._rules()
        return apply_rules(rules, default, cols, missing=self._missing_policy,
                           n_codes=len(self.classes_), what=type(self).__name__,
                           hint=self._missing_hint)

    def predict(self, X):
        """Tier label of each customer, from the cut points learned in :meth:`fit`.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_customers, n_features)
            A customer table, the training one or a later snapshot.

        Returns
        -------
        labels : ndarray of shape (n_customers,)
            One label per customer, taken from :attr:`classes_` (which lists them from
            the lowest tier to the highest: ``pandas.Categorical(labels,
            categories=est.classes_, ordered=True)`` makes the ordered categorical).
        """
        check_is_fitted(self)
        return self.classes_.take(self._codes(self._prepare(X, reset=False)))

    def fit_predict(self, X, y=None):
        """Fit on ``X`` and return its labels (the same as ``fit(X).predict(X)``)."""
        return self.fit(X).predict(X)

    def transform(self, X):
        """The label column, named by :meth:`get_feature_names_out`.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_customers, n_features)
            A customer table.

        Returns
        -------
        labels : ndarray of shape (n_customers, 1) or DataFrame
            The labels as a one-column array, or, with
            ``set_output(transform="pandas")``, a DataFrame holding an ordered
            categorical column indexed like ``X``.
        """
        check_is_fitted(self)
        codes = self._codes(self._prepare(X, reset=False))
        return self._wrap_codes({self._output_name(): codes}, X)

    def _wrap_codes(self, columns: dict, X):
        if _get_output_config("transform", self)["dense"] == "pandas":
            index = X.index if isinstance(X, pd.DataFrame) else None
            data = {}
            for name, codes in columns.items():
                data[name] = pd.Categorical.from_codes(
                    codes, categories=pd.Index(self.classes_), ordered=True)
            return pd.DataFrame(data, index=index)
        return np.column_stack([self.classes_.take(c) for c in columns.values()])

    def get_feature_names_out(self, input_features=None):
        """Names of the columns :meth:`transform` returns.

        Parameters
        ----------
        input_features : array-like of str, optional
            Must include the columns read at :meth:`fit` (it may hold more: a tierer
            reads only its own columns); not used otherwise.

        Returns
        -------
        names : ndarray of str
        """
        check_is_fitted(self)
        seen = getattr(self, "feature_names_in_", None)
        if input_features is not None and seen is not None:
            missing = [c for c in seen if c not in set(np.asarray(input_features))]
            if missing:
                raise ValueError(
                    f"input_features lacks the column(s) {missing} read at fit.")
        elif input_features is not None:
            _check_feature_names_in(self, input_features, generate_names=False)
        return np.asarray(self._output_names(), dtype=object)

    def _output_names(self) -> list:
        return [self._output_name()]

    def explain(self, X):
        """How many customers of ``X`` each rule matches and decides.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_customers, n_features)
            A customer table.

        Returns
        -------
        DataFrame
            One row per rule (in priority order) plus the default: ``label``,
            ``condition`` (as text), ``matched`` (customers the condition is true for),
            ``assigned`` (customers for whom it is the first true rule: the rows that get
            the label from it) and ``share`` (``assigned`` over all customers).
        """
        check_is_fitted(self)
        return self._explain(self._prepare(X, reset=False))

    def _explain(self, cols: Columns) -> pd.DataFrame:
        rules, default = self._rules()
        raw, first = rule_match_counts(rules, cols, missing=self._missing_policy,
                                       what=type(self).__name__, hint=self._missing_hint)
        n = cols.n
        rest = n - int(first.sum())
        frame = pd.DataFrame({
            "label": [self.classes_[c] for c, _ in rules] + [self.classes_[default]],
            "condition": [condition_text(node) for _, node in rules] + ["(default)"],
            "matched": np.append(raw, rest),
            "assigned": np.append(first, rest),
        })
        frame["share"] = frame["assigned"] / n
        frame.index.name = "rule"
        return frame

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []
        tags.target_tags.required = False
        return tags


def _labels_array(labels) -> np.ndarray:
    """Labels as a 1-d array: integers stay integers, anything else becomes objects."""
    labels = list(labels)
    if labels and all(isinstance(v, numbers.Integral) and not isinstance(v, bool)
                      for v in labels):
        return np.asarray(labels, dtype=np.int64)
    out = np.empty(len(labels), dtype=object)
    out[:] = labels
    return out


def _check_labels(labels, what: str = "labels") -> list:
    labels = list(labels)
    seen = set()
    dup = [lab for lab in labels if lab in seen or seen.add(lab)]
    if dup:
        raise InvalidParameterError(f"The {what} must be distinct; repeated: {dup}.")
    return labels


# ------------------------------------------------------------------ RuleTierer
def _normalise_rules(rules) -> list:
    if isinstance(rules, Mapping):
        rules = list(rules.items())
    out = []
    for i, item in enumerate(rules):
        if not (isinstance(item, (tuple, list)) and len(item) == 2):
            raise InvalidParameterError(
                f"Rule {i} must be a (label, condition) pair, got {item!r}.")
        label, cond = item
        if not isinstance(label, (str, numbers.Integral)) or isinstance(label, bool):
            raise InvalidParameterError(
                f"Rule {i}: the label must be a string or an integer, got {label!r}.")
        out.append((label, compile_condition(cond)))
    if not out:
        raise InvalidParameterError("RuleTierer needs at least one rule.")
    return out


class RuleTierer(BaseTierer):
    """Label customers with an ordered list of rules: the first rule that matches wins.

    Parameters
    ----------
    rules : list of (label, condition) or dict {label: condition}
        Rules in priority order. A condition is a string in the small expression
        language below, a dict ``{column: (op, value), ...}`` (all must hold; ``op`` is
        one of ``== != < <= > >= in`` and ``not in``; ``column`` may be an integer
        position), or a callable ``frame -> boolean mask`` (which cannot be serialised by
        :meth:`to_dict`). Several rules may give the same label.
    default : str or int, default="other"
        Label of the customers no rule matches.
    missing : {"raise", "no_match"}, default="raise"
        A missing value (NaN, None) in a column a rule compares raises an error naming
        the column, the number of rows and examples (``"raise"``), or makes that rule not
        match that customer (``"no_match"``). Infinite numbers always raise. Columns
        read only by ``isna()`` / ``notna()`` may be missing.

    Attributes
    ----------
    classes_ : ndarray
        Labels from the lowest priority to the highest: the default first, then the
        rules' labels from the last rule to the first (a label given by several rules
        takes the rank of its first rule). ``pandas.Categorical(labels,
        categories=classes_, ordered=True)`` orders them.
    rule_counts_ : DataFrame
        :meth:`explain` of the training table: per rule, the customers it matched and
        those it assigned.
    n_features_in_ : int
        Number of columns seen in :meth:`fit`.
    feature_names_in_ : ndarray of str
        Column names seen in :meth:`fit`, when they were all strings.

    See Also
    --------
    ValueTiers, RFMScorer, RFMSegmenter, LifecycleStages, ValueMatrix, SatisfactionTiers :
        Presets built on the same rule engine.

    Notes
    -----
    The expression language: column names; numbers, strings, ``True`` / ``False``;
    lists ``[a, b]``; comparisons ``== != < <= > >=`` (chains like ``0 < x <= 5``);
    ``in`` / ``not in`` a list; ``and`` / ``or`` / ``not`` (or ``& | ~``); parentheses;
    ``+ - * /``; ``isna(column)`` and ``notna(column)``. Names that are not identifiers
    go between backticks: ```last order` > 3``. Strings are parsed with :mod:`ast` and
    only these node types are accepted: nothing the user writes is executed.

    Rules are evaluated over whole columns. Writing :math:`m_k` for the boolean mask of
    rule :math:`k` and :math:`\\ell_k` for its label, the label of a customer is
    :math:`\\ell_{k^*}` with :math:`k^* = \\min\\{k : m_k\\}`, or ``default`` when no
    mask is true (``numpy.select`` semantics). Categorical columns are compared through
    their integer codes, so rules on categorical attributes cost as much as numeric ones.

    With an array (no column names) the columns are called ``x0``, ``x1`` ... as in
    scikit-learn's ``get_feature_names_out``.

    References
    ----------
    .. [1] Kumar, V. and Reinartz, W. (2018). *Customer Relationship Management:
       Concept, Strategy, and Tools*, 3rd ed., Springer (customer tiers and
       rule-based segmentation).

    Examples
    --------
    >>> import pandas as pd
    >>> from custseg.tiers import RuleTierer
    >>> table = pd.DataFrame({
    ...     "clv": [900.0, 650.0, 120.0, 40.0],
    ...     "industry": ["manufacturing", "retail", "manufacturing", "retail"],
    ... })
    >>> tiers = RuleTierer([
    ...     ("key account", "clv >= 500 and industry == 'manufacturing'"),
    ...     ("growth", {"clv": (">=", 100)}),
    ... ], default="standard")
    >>> tiers.fit_predict(table)
    array(['key account', 'growth', 'growth', 'standard'], dtype=object)
    >>> tiers.classes_
    array(['standard', 'growth', 'key account'], dtype=object)
    >>> tiers.rule_counts_[["label", "matched", "assigned"]]  # doctest: +NORMALIZE_WHITESPACE
                label  matched  assigned
    rule
    0     key account        1         1
    1          growth        3         2
    2        standard        1         1
    """

    _parameter_constraints: dict = {
        "rules": [list, tuple, dict],
        "default": [str, numbers.Integral],
        "missing": [StrOptions({"raise", "no_match"})],
    }

    _missing_hint = "Fill or drop them first, or pass missing='no_match'."

    def __init__(self, rules=(), default="other", missing="raise"):
        self.rules = rules
        self.default = default
        self.missing = missing

    @property
    def _missing_policy(self):
        return self.missing

    def _compiled(self):
        return _normalise_rules(self.rules)

    def _opaque(self) -> bool:
        return any(node[0] == "callable" for _, node in self._compiled())

    def _input_columns(self) -> list:
        out: list = []
        for _, node in self._compiled():
            for c in condition_columns(node):
                if c not in out:
                    out.append(c)
        return out

    def _array_names(self, n_columns: int) -> list:
        names = getattr(self, "feature_names_in_", None)
        if names is not None and len(names) == n_columns:
            return list(names)
        return [f"x{i}" for i in range(n_columns)]

    def _fit(self, cols: Columns) -> None:
        compiled = self._compiled()
        order: list = []
        for label, _ in compiled:
            if label not in order:
                order.append(label)
        if self.default not in order:
            order.append(self.default)
        self.classes_ = _labels_array(order[::-1])
        self.rule_counts_ = self._explain(cols)

    def _rules(self):
        index = {lab: i for i, lab in enumerate(self.classes_.tolist())}
        rules = [(index[label], node) for label, node in self._compiled()]
        return rules, index[self.default]

    def _output_name(self) -> str:
        return "tier"

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        return tags


def as_sequence(value, what: str) -> list:
    """A parameter given as a scalar or a sequence, as a list of floats."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)):
        raise InvalidParameterError(f"{what} must be a list of numbers, got {value!r}.")
    try:
        return [float(v) for v in value]
    except (TypeError, ValueError):
        raise InvalidParameterError(
            f"{what} must be a list of numbers, got {value!r}.") from None
