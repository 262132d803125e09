"""RFM scores (R, F, M from 1 to n) and named RFM segments."""

from __future__ import annotations

import itertools
import numbers
from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils._set_output import _get_output_config
from sklearn.utils.validation import check_is_fitted

from .._validation import raise_bad_rows
from ..exceptions import InvalidParameterError
from ._base import (
    BaseTierer,
    _labels_array,
    _normalise_rules,
    apply_rules,
    quantile_edges,
    rule_match_counts,
)
from ._expr import Columns, condition_columns, condition_text
from ._value import numeric_column

__all__ = ["RFMScorer", "RFMSegmenter", "DEFAULT_RFM_MAP"]

_COLUMN = [str, Interval(numbers.Integral, None, None, closed="neither")]

#: The default map of :class:`RFMSegmenter` (5 scores), best segment first.
DEFAULT_RFM_MAP = (
    ("champions", "R == 5 and FM >= 4"),
    ("loyal", "R in [3, 4] and FM >= 4"),
    ("potential loyalists", "R >= 4 and FM in [2, 3]"),
    ("new", "R == 5 and FM == 1"),
    ("promising", "R == 4 and FM == 1"),
    ("need attention", "R == 3 and FM == 3"),
    ("about to sleep", "R == 3 and FM <= 2"),
    ("cannot lose", "R <= 2 and FM == 5"),
    ("at risk", "R <= 2 and FM in [3, 4]"),
    ("hibernating", "R <= 2 and FM <= 2 and not (R == 1 and FM == 1)"),
    ("lost", "R == 1 and FM == 1"),
)


def check_recency_le_T(cols: Columns, recency, T, recency_col, rows=None) -> None:
    """Raise when recency (the age at the last purchase) exceeds T."""
    with np.errstate(invalid="ignore"):
        late = recency > T
    if rows is not None:
        late &= rows
    if not late.any():
        return
    tol = 1e-9 * np.maximum(1.0, np.abs(np.nan_to_num(T)))
    with np.errstate(invalid="ignore"):
        late &= recency > T + tol
    raise_bad_rows(
        cols.frame, late, str(recency_col), "have recency greater than T",
        hint="With recency_is='lifetimes' recency is the age of the customer at the last "
             "purchase (at most T). If the column holds the time since the last purchase, "
             "pass recency_is='days_since_last'.")


class _RFMInputs:
    """Shared column handling of :class:`RFMScorer` and :class:`RFMSegmenter`."""

    def _uses_monetary(self) -> bool:
        return self.monetary_col is not None

    def _input_columns(self) -> list:
        cols = [self.recency_col, self.frequency_col]
        if self._uses_monetary():
            cols.append(self.monetary_col)
        if self.recency_is == "lifetimes":
            cols.append(self.T_col)
        return cols

    def _validated(self, cols: Columns) -> dict:
        """Validated arrays: time since the last purchase, frequency, monetary value."""
        name = type(self).__name__
        out = {}
        recency = numeric_column(cols, self.recency_col, name, nonnegative=True)
        if self.recency_is == "lifetimes":
            T = numeric_column(cols, self.T_col, name, nonnegative=True)
            check_recency_le_T(cols, recency, T, self.recency_col)
            out["recency"] = T - recency
        else:
            out["recency"] = recency
        out["frequency"] = numeric_column(cols, self.frequency_col, name, nonnegative=True)
        if self._uses_monetary():
            out["monetary"] = numeric_column(cols, self.monetary_col, name)
        return out

    def _since_node(self):
        if self.recency_is == "lifetimes":
            return ("arith", "-", ("col", self.T_col), ("col", self.recency_col))
        return ("col", self.recency_col)

    def _score_rules(self, key: str, edges) -> list:
        """Rules giving score ``n`` to ``1`` of one of R, F, M from its learned edges."""
        n = self.n_bins
        if key == "recency":  # recent purchase = high R
            node = self._since_node()
            return [(n + 1 - k, ("cmp", "<", node, ("const", float(edges[k - 1]))))
                    for k in range(1, n)]
        col = self.frequency_col if key == "frequency" else self.monetary_col
        return [(k + 1, ("cmp", ">=", ("col", col), ("const", float(edges[k - 1]))))
                for k in range(n - 1, 0, -1)]

    def _score_keys(self) -> list:
        return ["recency", "frequency"] + (["monetary"] if self._uses_monetary() else [])


class RFMScorer(_RFMInputs, BaseTierer):
    """Recency, frequency and monetary scores from 1 to ``n_bins`` (quintiles by default).

    Parameters
    ----------
    n_bins : int, default=5
        Number of scores: 5 gives quintile scores 1 ... 5, 4 quartiles.
    recency_col, frequency_col, monetary_col : str or int
        Columns (name or position) of recency, frequency and monetary value; defaults
        ``"recency"``, ``"frequency"``, ``"monetary_value"``. ``monetary_col=None``
        scores R and F only.
    recency_is : {"lifetimes", "days_since_last"}, default="lifetimes"
        What the recency column holds. ``"lifetimes"`` (the convention of custseg's
        customer tables and of the lifetimes package): the customer's *age at the last
        purchase*, so larger is more recent and the time since the last purchase is
        ``T - recency`` (``T`` is read from ``T_col``). ``"days_since_last"``: the time
        since the last purchase itself (any time unit), smaller is more recent.
    T_col : str or int, default="T"
        Column of the customer's age (time since the first purchase); read only when
        ``recency_is="lifetimes"``.
    code : {None, "cell", "sum"}, default=None
        Adds a column ``"RFM"`` to :meth:`transform`: the cell code of :meth:`predict`
        (``"cell"``) or the sum ``R + F + M`` (``"sum"``).

    Attributes
    ----------
    bin_edges_ : dict of str to ndarray
        Learned cut points (``n_bins - 1`` each, increasing) of ``"recency"`` (on the
        time since the last purchase), ``"frequency"`` and ``"monetary"``.
    classes_ : ndarray of int
        All cell codes of :meth:`predict`, increasing (``111`` ... ``555``).
    n_features_in_ : int
        Number of columns seen in :meth:`fit`.
    feature_names_in_ : ndarray of str
        Column names seen in :meth:`fit`, when they were all strings.

    See Also
    --------
    RFMSegmenter : Named segments from these scores.
    quantile_edges : How the cut points handle ties.

    Notes
    -----
    With :math:`e_1 \\le \\dots \\le e_{n-1}` the cut points learned from a column
    (:func:`quantile_edges`, at the fractions :math:`k / n`), a value :math:`x` has the
    quantile score :math:`s(x) = 1 + \\#\\{k : x \\ge e_k\\}`, and

    .. math::

        F = s_F(\\text{frequency}),\\quad M = s_M(\\text{monetary}),\\quad
        R = n + 1 - s_R(\\text{time since the last purchase}),

    so the most recent buyers get ``R = n``. Each score is a chain of rules evaluated by
    :class:`RuleTierer`'s engine (for instance ``R = 5 if T - recency < e_1``). Tied
    values always share a score, the score of their mid-rank: with many customers
    without a repeat purchase (``frequency = 0``) some scores stay empty instead of
    splitting identical customers at random, as rank-based quintiles would. The cut
    points are learned in ``fit`` and reused on later snapshots, so scores are
    comparable over time.

    With an array the columns are read in the order recency, frequency, monetary (when
    used), T (with ``recency_is="lifetimes"``). :meth:`predict` returns the cell code
    ``R * 100 + F * 10 + M`` (``R * 10 + F`` without M; with ``n_bins >= 10`` each score
    takes two digits).

    References
    ----------
    .. [1] Hughes, A. M. (1994). *Strategic Database Marketing*. Probus, Chicago
       (recency, frequency and monetary quintile scoring).
    .. [2] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). RFM and CLV: using
       iso-value curves for customer base analysis. *Journal of Marketing Research*
       42(4), 415-430 (the (x, t_x, T) summary: recency t_x is the time of the last
       purchase measured from the first).

    Examples
    --------
    >>> import pandas as pd
    >>> from custseg.tiers import RFMScorer
    >>> table = pd.DataFrame({
    ...     "frequency": [0, 1, 2, 5, 3, 0, 8, 1, 4, 2],
    ...     "recency": [0.0, 10.0, 30.0, 38.0, 20.0, 0.0, 39.0, 5.0, 36.0, 25.0],
    ...     "T": [40.0, 40.0, 40.0, 40.0, 40.0, 12.0, 40.0, 40.0, 40.0, 40.0],
    ...     "monetary_value": [0.0, 20.0, 35.0, 80.0, 15.0, 0.0, 120.0, 10.0, 60.0, 25.0],
    ... })
    >>> scorer = RFMScorer(n_bins=3, code="cell").fit(table)
    >>> scorer.transform(table)[:4]
    array([[  1,   1,   1, 111],
           [  1,   1,   2, 112],
           [  3,   2,   2, 322],
           [  3,   3,   3, 333]])
    """

    _parameter_constraints: dict = {
        "n_bins": [Interval(numbers.Integral, 2, 99, closed="both")],
        "recency_col": _COLUMN,
        "frequency_col": _COLUMN,
        "monetary_col": [*_COLUMN, None],
        "recency_is": [StrOptions({"lifetimes", "days_since_last"})],
        "T_col": _COLUMN,
        "code": [StrOptions({"cell", "sum"}), None],
    }

    def __init__(self, n_bins=5, recency_col="recency", frequency_col="frequency",
                 monetary_col="monetary_value", recency_is="lifetimes", T_col="T",
                 code=None):
        self.n_bins = n_bins
        self.recency_col = recency_col
        self.frequency_col = frequency_col
        self.monetary_col = monetary_col
        self.recency_is = recency_is
        self.T_col = T_col
        self.code = code

    def _fit(self, cols: Columns) -> None:
        values = self._validated(cols)
        fractions = np.arange(1, self.n_bins) / self.n_bins
        self.bin_edges_ = {key: quantile_edges(values[key], fractions)
                           for key in self._score_keys()}
        base = self._base()
        scores = np.arange(1, self.n_bins + 1)
        grids = np.meshgrid(*([scores] * len(self._score_keys())), indexing="ij")
        cells = sum(g * base ** (len(grids) - 1 - i) for i, g in enumerate(grids))
        self.classes_ = np.sort(np.asarray(cells, dtype=np.int64).ravel())

    def _base(self) -> int:
        return 10 if self.n_bins < 10 else 100

    def _check(self, cols: Columns) -> None:
        """The checks of :meth:`_validated`, without computing anything."""
        name = type(self).__name__
        recency = numeric_column(cols, self.recency_col, name, nonnegative=True)
        if self.recency_is == "lifetimes":
            T = numeric_column(cols, self.T_col, name, nonnegative=True)
            check_recency_le_T(cols, recency, T, self.recency_col)
        numeric_column(cols, self.frequency_col, name, nonnegative=True)
        if self._uses_monetary():
            numeric_column(cols, self.monetary_col, name)

    def _scores(self, cols: Columns) -> dict:
        """Score arrays ``{"R": ..., "F": ..., "M": ...}`` (small integers)."""
        self._check(cols)
        out = {}
        for key, name in zip(self._score_keys(), ("R", "F", "M")):
            rules = self._score_rules(key, self.bin_edges_[key])
            out[name] = apply_rules(rules, 1, cols, n_codes=self.n_bins + 1,
                                    what=type(self).__name__)
        return out

    def _cells(self, scores: dict) -> np.ndarray:
        base = self._base()
        dtype = np.int16 if base ** len(scores) < 32767 else np.int32
        cells = scores["R"].astype(dtype)
        for key in ("F", "M"):
            if key in scores:
                cells *= base
                cells += scores[key]
        return cells

    def predict(self, X):
        """RFM cell code of each customer, such as ``545`` for R=5, F=4, M=5.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_customers, n_features)
            A customer table.

        Returns
        -------
        cells : ndarray of int of shape (n_customers,)
            Cell codes, among :attr:`classes_` (int16, or int32 with ``n_bins >= 10``).
        """
        check_is_fitted(self)
        return self._cells(self._scores(self._prepare(X, reset=False)))

    def transform(self, X):
        """Scores ``R``, ``F``, ``M`` (and ``RFM`` when ``code`` is set).

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_customers, n_features)
            A customer table.

        Returns
        -------
        scores : ndarray of int64 of shape (n_customers, n_scores) or DataFrame
            One column per name of :meth:`get_feature_names_out`; a DataFrame indexed like
            ``X`` with ``set_output(transform="pandas")``.
        """
        check_is_fitted(self)
        scores = self._scores(self._prepare(X, reset=False))
        columns = dict(scores)
        if self.code == "cell":
            columns["RFM"] = self._cells(scores)
        elif self.code == "sum":
            columns["RFM"] = sum(v.astype(np.int16) for v in scores.values())
        out = np.empty((len(columns), len(scores["R"])), dtype=np.int64)
        for j, values in enumerate(columns.values()):
            out[j] = values
        if _get_output_config("transform", self)["dense"] == "pandas":
            index = X.index if isinstance(X, pd.DataFrame) else None
            return pd.DataFrame(out.T, index=index, columns=list(columns), copy=False)
        return out.T

    def _output_names(self) -> list:
        names = ["R", "F"] + (["M"] if self._uses_monetary() else [])
        return names + (["RFM"] if self.code is not None else [])

    def explain(self, X):
        """Customers of ``X`` per score rule: one block of rows per score R, F, M.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_customers, n_features)
            A customer table.

        Returns
        -------
        DataFrame
            Columns ``score``, ``label`` (the score value), ``condition``, ``matched``,
            ``assigned`` and ``share``, as in :meth:`RuleTierer.explain`.
        """
        check_is_fitted(self)
        cols = self._prepare(X, reset=False)
        self._check(cols)
        frames = []
        for key, name in zip(self._score_keys(), ("R", "F", "M")):
            rules = self._score_rules(key, self.bin_edges_[key])
            raw, first = rule_match_counts(rules, cols, what=type(self).__name__)
            rest = cols.n - int(first.sum())
            frames.append(pd.DataFrame({
                "score": name,
                "label": [c for c, _ in rules] + [1],
                "condition": [condition_text(node) for _, node in rules] + ["(default)"],
                "matched": np.append(raw, rest),
                "assigned": np.append(first, rest),
            }))
        frame = pd.concat(frames, ignore_index=True)
        frame["share"] = frame["assigned"] / cols.n
        return frame

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        return tags


class RFMSegmenter(_RFMInputs, BaseTierer):
    """Named customer segments (champions, loyal, at risk ...) from RFM scores.

    Parameters
    ----------
    map : list of (label, condition) or dict {label: condition}, optional
        Segments in priority order (the first matching segment wins), each a condition
        on the scores ``R``, ``F``, ``M`` and ``FM`` in :class:`RuleTierer`'s expression
        language (strings, dicts or callables). Every combination of scores must get a
        segment. By default :data:`DEFAULT_RFM_MAP` (for ``n_bins=5``), see Notes.
    n_bins, recency_col, frequency_col, monetary_col, recency_is, T_col
        As in :class:`RFMScorer`.

    Attributes
    ----------
    scorer_ : RFMScorer
        The fitted scorer (its ``bin_edges_`` are the learned cut points).
    classes_ : ndarray
        Segment names from the last of the map to the first (the default map lists the
        best segment first, so ``classes_`` goes from ``lost`` up to ``champions``).
    cell_segments_ : ndarray of int
        Segment code (index into ``classes_``) of every score combination, indexed by
        ``((R - 1) * n_bins + F - 1) * n_bins + M - 1`` (without M:
        ``(R - 1) * n_bins + F - 1``).
    n_features_in_ : int
        Number of columns seen in :meth:`fit`.
    feature_names_in_ : ndarray of str
        Column names seen in :meth:`fit`, when they were all strings.

    See Also
    --------
    RFMScorer : The scores.
    RuleTierer : The rule engine the map is evaluated with.

    Notes
    -----
    ``FM`` is the mean of F and M rounded half up, :math:`FM = \\lfloor (F + M + 1) / 2
    \\rfloor` (``FM = F`` without a monetary column). The default map over R (rows)
    and FM (columns), in priority order:

    ====================  =============================================
    segment               scores
    ====================  =============================================
    champions             R = 5, FM >= 4
    loyal                 R in {3, 4}, FM >= 4
    potential loyalists   R >= 4, FM in {2, 3}
    new                   R = 5, FM = 1
    promising             R = 4, FM = 1
    need attention        R = 3, FM = 3
    about to sleep        R = 3, FM <= 2
    cannot lose           R <= 2, FM = 5
    at risk               R <= 2, FM in {3, 4}
    hibernating           R <= 2, FM <= 2, except R = FM = 1
    lost                  R = 1, FM = 1
    ====================  =============================================

    At ``fit`` the map is evaluated once on every combination of scores, through the
    rule engine; a combination no segment takes raises an error listing them. Customers
    then get the segment of their cell by a table look-up.

    References
    ----------
    .. [1] Kumar, V. and Reinartz, W. (2018). *Customer Relationship Management:
       Concept, Strategy, and Tools*, 3rd ed., Springer (RFM-based segments).
    .. [2] Hughes, A. M. (1994). *Strategic Database Marketing*. Probus, Chicago.

    Examples
    --------
    >>> from custseg.datasets import load_cdnow_summary
    >>> from custseg.tiers import RFMSegmenter
    >>> table = load_cdnow_summary()
    >>> segments = RFMSegmenter().fit(table)
    >>> labels = segments.predict(table)
    >>> sorted(set(labels)) == sorted(set(labels) & set(segments.classes_))
    True
    >>> RFMSegmenter(map=[("recent", "R >= 4")]).fit(table)
    Traceback (most recent call last):
    ...
    custseg.exceptions.InvalidParameterError: The map leaves 75 of 125 score combinations without a segment: R=1 F=1 M=1, ...
    """  # noqa: E501

    _parameter_constraints: dict = {
        "map": [list, tuple, dict, None],
        **{k: v for k, v in RFMScorer._parameter_constraints.items() if k != "code"},
    }

    def __init__(self, map=None, n_bins=5, recency_col="recency", frequency_col="frequency",
                 monetary_col="monetary_value", recency_is="lifetimes", T_col="T"):
        self.map = map
        self.n_bins = n_bins
        self.recency_col = recency_col
        self.frequency_col = frequency_col
        self.monetary_col = monetary_col
        self.recency_is = recency_is
        self.T_col = T_col

    def _map_rules(self) -> list:
        if self.map is None:
            if self.n_bins != 5:
                raise InvalidParameterError(
                    f"The default map is written for n_bins=5 (got n_bins={self.n_bins}); "
                    "pass map=[(segment, condition on R, F, M, FM), ...].")
            rules = _normalise_rules(DEFAULT_RFM_MAP)
        else:
            rules = _normalise_rules(self.map if not isinstance(self.map, Mapping)
                                     else list(self.map.items()))
        allowed = {"R", "F", "FM"} | ({"M"} if self._uses_monetary() else set())
        for label, node in rules:
            bad = [c for c in condition_columns(node) if c not in allowed]
            if bad:
                raise InvalidParameterError(
                    f"Segment {label!r}: the map may only use the scores "
                    f"{sorted(allowed)}, not {bad}.")
        return rules

    def _score_frame(self, scores: dict) -> Columns:
        data = {k: np.asarray(v, dtype=np.int64) for k, v in scores.items()}
        if "M" in data:
            data["FM"] = (data["F"] + data["M"] + 1) // 2
        else:
            data["FM"] = data["F"]
        return Columns(pd.DataFrame(data))

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the RFM cut points and check that the map covers every score cell.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_customers, n_features)
            The customer table.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted segmenter.
        """
        self._prepare(X, reset=True)
        rules = self._map_rules()
        self.scorer_ = RFMScorer(
            n_bins=self.n_bins, recency_col=self.recency_col,
            frequency_col=self.frequency_col, monetary_col=self.monetary_col,
            recency_is=self.recency_is, T_col=self.T_col).fit(X)
        order: list = []
        for label, _ in rules:
            if label not in order:
                order.append(label)
        self.classes_ = _labels_array(order[::-1])
        index = {lab: i for i, lab in enumerate(self.classes_.tolist())}
        n, k = self.n_bins, len(self._score_keys())
        grid = np.array(list(itertools.product(range(1, n + 1), repeat=k)), dtype=np.int64)
        names = ["R", "F", "M"][:k]
        cells = self._score_frame({nm: grid[:, i] for i, nm in enumerate(names)})
        unmatched = len(self.classes_)
        codes = apply_rules([(index[lab], node) for lab, node in rules], unmatched, cells,
                            n_codes=unmatched + 1, what="RFMSegmenter")
        missing = np.flatnonzero(codes == unmatched)
        if missing.size:
            shown = ", ".join(" ".join(f"{nm}={v}" for nm, v in zip(names, grid[i]))
                              for i in missing[:25])
            more = f" and {missing.size - 25} more" if missing.size > 25 else ""
            raise InvalidParameterError(
                f"The map leaves {missing.size} of {len(grid)} score combinations without "
                f"a segment: {shown}{more}. Add segments for them (or a last catch-all "
                "segment such as ('other', 'R >= 1')).")
        self.cell_segments_ = codes.astype(np.int64)
        return self

    def _segment_codes(self, cols: Columns, scores: dict | None = None) -> np.ndarray:
        scores = self.scorer_._scores(cols) if scores is None else scores
        n = self.n_bins
        flat = scores["R"].astype(np.intp)
        flat -= 1
        for key in ("F", "M"):
            if key in scores:
                flat *= n
                flat += scores[key]
                flat -= 1
        small = np.int8 if len(self.classes_) < 128 else np.int32
        return self.cell_segments_.astype(small).take(flat)

    def _codes(self, cols: Columns) -> np.ndarray:
        return self._segment_codes(cols)

    def explain(self, X):
        """Customers of ``X`` per segment rule of the map (see :meth:`RuleTierer.explain`).

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_customers, n_features)
            A customer table.

        Returns
        -------
        DataFrame
            ``label``, ``condition``, ``matched``, ``assigned`` and ``share`` per segment.
        """
        check_is_fitted(self)
        cols = self._prepare(X, reset=False)
        score_cols = self._score_frame(self.scorer_._scores(cols))
        rules = self._map_rules()
        raw, first = rule_match_counts(rules, score_cols, what="RFMSegmenter")
        frame = pd.DataFrame({
            "label": [lab for lab, _ in rules],
            "condition": [condition_text(node) for _, node in rules],
            "matched": raw,
            "assigned": first,
        })
        frame["share"] = frame["assigned"] / cols.n
        frame.index.name = "rule"
        return frame

    def _output_name(self) -> str:
        return "rfm_segment"

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        return tags
