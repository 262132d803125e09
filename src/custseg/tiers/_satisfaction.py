"""Satisfaction tiers: NPS promoters / passives / detractors, CSAT bands, net scores."""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._validation import raise_bad_rows
from ..exceptions import InvalidDataError, InvalidParameterError
from ._base import BaseTierer, _check_labels, _labels_array, as_sequence
from ._expr import Columns
from ._value import numeric_column

__all__ = ["SatisfactionTiers", "SCHEMES"]

#: Scale and bands (label, lowest score of the band; top band first) of each scheme.
SCHEMES = {
    "nps": {"scale": (0.0, 10.0),
            "bands": (("promoter", 9.0), ("passive", 7.0), ("detractor", 0.0))},
    "csat": {"scale": (1.0, 5.0),
             "bands": (("satisfied", 4.0), ("neutral", 3.0), ("dissatisfied", 1.0))},
}


class SatisfactionTiers(BaseTierer):
    """Net Promoter Score groups (promoter / passive / detractor) or CSAT bands.

    Parameters
    ----------
    column : str or int, default="nps"
        Column of survey scores. With an array and a name, the first column is read.
    scheme : {"nps", "csat"}, default="nps"
        ``"nps"``: 0-10 answers to "how likely are you to recommend us?", promoters 9-10,
        passives 7-8, detractors 0-6. ``"csat"``: 1-5 satisfaction, satisfied 4-5,
        neutral 3, dissatisfied 1-2.
    bands : sequence of (label, lowest score), optional
        Other bands, from the top band down: each band holds the scores from its lowest
        score up to the next band's (the lowest scores strictly decrease). Defaults to
        the scheme's.
    scale : (float, float), optional
        Lowest and highest valid score; defaults to the scheme's (0-10 or 1-5). Scores
        outside it raise an error.

    Attributes
    ----------
    thresholds_ : ndarray
        Lowest score of every band but the bottom one, increasing.
    scale_ : tuple of float
        The valid range of scores.
    classes_ : ndarray
        Band labels from the bottom band to the top (``detractor``, ``passive``,
        ``promoter`` for NPS).
    n_features_in_ : int
        Number of columns seen in :meth:`fit`.
    feature_names_in_ : ndarray of str
        Column names seen in :meth:`fit`, when they were all strings.

    See Also
    --------
    RuleTierer : The rule engine of the bands.

    Notes
    -----
    The net score of a group of customers is the share of the top band minus the share
    of the bottom band, in points:

    .. math:: \\text{NPS} = 100\\,(P - D) / N,

    with :math:`P` promoters and :math:`D` detractors among :math:`N` respondents [1]_.
    Bands are evaluated as ordered rules (``promoter if score >= 9``, ``passive if
    score >= 7``, else ``detractor``) by :class:`RuleTierer`'s engine.

    References
    ----------
    .. [1] Reichheld, F. F. (2003). The one number you need to grow. *Harvard Business
       Review* 81(12), 46-54.
    .. [2] Fornell, C. et al. (1996). The American Customer Satisfaction Index: nature,
       purpose, and findings. *Journal of Marketing* 60(4), 7-18.

    Examples
    --------
    >>> import pandas as pd
    >>> from custseg.tiers import SatisfactionTiers
    >>> survey = pd.DataFrame({"nps": [10, 9, 8, 6, 3, 10, 7, 9],
    ...                        "tier": ["high", "high", "high", "high",
    ...                                 "low", "low", "low", "low"]})
    >>> nps = SatisfactionTiers().fit(survey)
    >>> nps.predict(survey)
    array(['promoter', 'promoter', 'passive', 'detractor', 'detractor',
           'promoter', 'passive', 'promoter'], dtype=object)
    >>> nps.net_score(survey)
    25.0
    >>> nps.net_score(survey, by="tier")
    tier
    high    25.0
    low     25.0
    Name: net_score, dtype: float64
    """

    _parameter_constraints: dict = {
        "column": [str, Interval(numbers.Integral, None, None, closed="neither")],
        "scheme": [StrOptions(set(SCHEMES))],
        "bands": ["array-like", None],
        "scale": ["array-like", None],
    }

    def __init__(self, column="nps", scheme="nps", bands=None, scale=None):
        self.column = column
        self.scheme = scheme
        self.bands = bands
        self.scale = scale

    def _input_columns(self) -> list:
        return [self.column]

    def _fit(self, cols: Columns) -> None:
        spec = SCHEMES[self.scheme]
        scale = spec["scale"] if self.scale is None else tuple(
            as_sequence(self.scale, "scale"))
        if len(scale) != 2 or not scale[0] < scale[1]:
            raise InvalidParameterError(f"scale must be (lowest, highest), got {scale}.")
        bands = spec["bands"] if self.bands is None else self.bands
        try:
            labels = [b[0] for b in bands]
            lows = as_sequence([b[1] for b in bands], "the lowest scores of the bands")
        except (TypeError, IndexError, KeyError):
            raise InvalidParameterError(
                f"bands must be (label, lowest score) pairs, got {bands!r}.") from None
        if len(labels) < 2:
            raise InvalidParameterError("bands needs at least two bands.")
        _check_labels(labels, "band labels")
        from ._value import check_increasing

        check_increasing(lows[::-1], "The lowest scores of the bands, read from the "
                         "bottom band up (they must strictly decrease from the top band "
                         "down),")
        if lows[0] > scale[1] or lows[-2] <= scale[0]:
            raise InvalidParameterError(
                f"The bands {list(zip(labels, lows))} do not split the scale {scale}.")
        self.scale_ = (float(scale[0]), float(scale[1]))
        self.thresholds_ = np.asarray(lows[-2::-1], dtype=np.float64)
        self.classes_ = _labels_array(labels[::-1])
        self._scores(cols)

    def _scores(self, cols: Columns) -> np.ndarray:
        values = numeric_column(cols, self.column, "SatisfactionTiers")
        lo, hi = self.scale_
        bad = (values < lo) | (values > hi)
        if bad.any():
            hint = f"Scores of scheme '{self.scheme}' lie in [{lo:g}, {hi:g}]."
            if (values < 0).any():
                hint += " Negative values in data are not valid survey scores."
            raise_bad_rows(cols.frame, bad, str(self.column),
                           f"are outside the scale {lo:g}..{hi:g}", hint=hint)
        return values

    def _rules(self):
        col = ("col", self.column)
        k = len(self.thresholds_)
        rules = [(code, ("cmp", ">=", col, ("const", float(self.thresholds_[code - 1]))))
                 for code in range(k, 0, -1)]
        return rules, 0

    def _codes(self, cols: Columns):
        self._scores(cols)
        return super()._codes(cols)

    def net_score(self, X, by=None):
        """Net score: top band share minus bottom band share, in points (-100 to 100).

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_customers, n_features)
            Survey answers.
        by : str, array-like or Series, optional
            Groups (segments, tiers ...): a column of ``X`` or one label per row (a
            Series is aligned on the index of ``X``). Rows with a missing group are
            left out.

        Returns
        -------
        float or Series
            The net score of all rows, or one per group (Series ``net_score``).
        """
        check_is_fitted(self)
        cols = self._prepare(X, reset=False)
        codes = self._codes(cols)
        top = len(self.classes_) - 1
        points = (codes == top).astype(np.float64) - (codes == 0)
        if by is None:
            return float(100.0 * points.mean())
        if isinstance(by, str) and isinstance(X, pd.DataFrame) and by in X.columns:
            groups = X[by]
        elif isinstance(by, pd.Series) and isinstance(X, pd.DataFrame):
            groups = by.reindex(X.index)
        else:
            groups = pd.Series(np.asarray(by, dtype=object).ravel()
                               if not isinstance(by, pd.Series) else by.to_numpy())
            if len(groups) != cols.n:
                raise InvalidDataError(
                    f"by holds {len(groups)} labels for {cols.n} rows of X.")
        frame = pd.DataFrame({"group": np.asarray(groups) if not isinstance(
            groups.dtype, pd.CategoricalDtype) else groups.array, "points": points})
        out = 100.0 * frame.groupby("group", observed=True, sort=True)["points"].mean()
        out.name = "net_score"
        out.index.name = getattr(groups, "name", None) if isinstance(by, str) else (
            by.name if isinstance(by, pd.Series) else None)
        return out

    def _output_name(self) -> str:
        return f"{self.scheme}_tier" if self.bands is None else "satisfaction_tier"

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        return tags
