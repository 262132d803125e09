"""Customer segmentation by clustering: automatic k, value-ordered labels, named segments.

The numerics are scikit-learn's (``KMeans``, ``MiniBatchKMeans``, ``GaussianMixture``);
this module adds what a customer base needs around them: scaling suited to skewed RFM
columns, a choice of the number of segments on a bounded sample, labels ordered by value
(label 0 is the most valuable segment), results that do not depend on the order of the
rows, and names derived from each segment's RFM profile.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin, _fit_context
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.mixture import GaussianMixture
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from .._serialize import SerializableMixin
from .._validation import (
    check_columns,
    check_finite_numeric,
    check_not_empty,
    raise_bad_rows,
    validate_input,
)
from ..exceptions import InvalidDataError, InvalidParameterError
from ..report._profile import PROFILE_COLUMNS, _numeric_column, _resolve_value_column
from ._fitting import (
    GMM_REG_COVAR,
    _score_candidate,
    fit_model,
)
from ._functions import (
    _segment_names,
    _segment_order,
    scale_features,
    small_integer_limit,
)
from ._stats import SegmentDescription, describe_segments

__all__ = ["CustomerSegmenter"]

class CustomerSegmenter(SerializableMixin, ClusterMixin, TransformerMixin, BaseEstimator):
    """Segment customers by clustering their RFM profile; label 0 is the most valuable.

    A meta-estimator around scikit-learn's ``KMeans``, ``MiniBatchKMeans`` or
    ``GaussianMixture``: it scales the features (log then standardise by default, for
    skewed RFM columns), picks the number of segments when asked, orders the segments by
    the mean of a value column so that label 0 is always the most valuable one, gives
    every segment a name from its RFM profile, and makes the result independent of the
    order of the rows.

    Parameters
    ----------
    method : {"kmeans", "minibatch", "gmm"}, default="kmeans"
        Clustering model: ``KMeans`` (Lloyd), ``MiniBatchKMeans`` or ``GaussianMixture``
        (full covariances).
    n_segments : int or "auto", default="auto"
        Number of segments, or ``"auto"`` to choose it in ``k_range``: the largest mean
        silhouette for k-means, the smallest BIC for the Gaussian mixture, both
        computed on a sample of ``selection_sample_size`` distinct customers weighted
        by the number of identical customers each stands for (see Notes).
    k_range : tuple of two int, default=(2, 8)
        Smallest and largest number of segments tried by ``n_segments="auto"``
        (inclusive; the smallest is at least 2).
    features : tuple of str or None, default=("frequency", "recency", "T", "monetary_value")
        Columns clustered. A DataFrame is selected by name (other columns are ignored
        by the clustering but described in ``profile_``); an array must have exactly
        these columns, in this order. ``None`` takes every numeric column of a
        DataFrame except ``customer_id`` (or every column of an array, named
        ``x0, x1, ...``).
    scaling : {"log-standard", "standard", "none"}, default="log-standard"
        ``"log-standard"`` standardises ``log1p`` of each feature (features must be
        non-negative), ``"standard"`` standardises the features, ``"none"`` clusters
        them as they are. The scaling is learned in ``fit``.
    value_column : str or None, default="monetary_value"
        Column whose mean over a segment's members at fit orders the segments (label 0:
        the largest mean), for example ``"monetary_value"`` or ``"clv"``. It need not be
        a feature when ``X`` is a DataFrame. ``None`` orders the segments by their
        centroids instead (descending on the first feature, then the next ones).
    selection_sample_size : int, default=10000
        Number of distinct rows of the weighted sample (see Notes) on which
        ``n_segments="auto"`` fits and scores each candidate k, and from which each
        run of the model starts (k-means++ seeds, then k-means or the mixture on the
        sample when it holds at most an eighth of the rows). The cost of choosing k and
        of the start is bounded by it, whatever the number of customers.
    random_state : int, RandomState instance or None, default=None
        Seeds the sample, the seeding of the clustering model and the model itself.
        Pass an int for reproducible segments.
    n_init : int or "auto", default="auto"
        Number of runs from different seeds, the best one kept (lowest inertia for
        k-means, highest likelihood bound for the mixture). ``"auto"`` means 1, the
        default of the scikit-learn models with k-means++ seeding.
    n_jobs : int or None, default=None
        Number of candidate k evaluated in parallel by ``n_segments="auto"``
        (joblib; ``None`` means 1 unless in a ``joblib.parallel_backend`` context,
        ``-1`` means all processors).

    Attributes
    ----------
    estimator_ : KMeans, MiniBatchKMeans or GaussianMixture
        The fitted scikit-learn model, a clone of the model named by ``method``, in
        scaled units and with its own (arbitrary) labels; its ``labels_``, where it has
        them, refer to the rows in the order given to ``fit``.
    n_segments_ : int
        Number of segments.
    selection_scores_ : DataFrame or None
        With ``n_segments="auto"``: one row per candidate k (index ``n_segments``) and a
        column ``silhouette`` (k-means, larger is better) or ``bic`` (Gaussian mixture,
        smaller is better). ``None`` when ``n_segments`` is an int.
    label_mapping_ : ndarray of shape (n_segments,)
        ``label_mapping_[j]`` is the label of the segment that ``estimator_`` calls
        ``j``.
    labels_ : ndarray of shape (n_customers,)
        Segment of each training customer (0 is the most valuable).
    cluster_centers_ : ndarray of shape (n_segments, n_features)
        Segment centroids (k-means centres, mixture means) in the original units of the
        features (the inverse of the scaling), in label order. With log-standard
        scaling a centroid is ``expm1`` of the mean of ``log1p`` values, a geometric-type
        mean that resists the long tails of spend and frequency.
    segment_names_ : ndarray of str, shape (n_segments,)
        A short description of each segment from its RFM profile relative to the
        population, such as ``"high value, frequent, recent"`` or ``"low value,
        infrequent, lapsed"`` (deterministic rules, see Notes).
    profile_ : DataFrame
        :func:`custseg.report.segment_profile` of the training table: size, shares and
        means and medians of the RFM columns (and ``clv``, ``p_alive`` when present)
        per segment.
    features_ : ndarray of str
        Names of the features clustered, in order.
    scaling_mean_, scaling_scale_ : ndarray of shape (n_features,)
        Centre and scale of the (log-transformed) features learned in ``fit``.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features,)
        Names of the features seen during ``fit``, when ``X`` is a DataFrame.

    See Also
    --------
    custseg.report.segment_profile : the profile table of any labelling.
    sklearn.cluster.KMeans, sklearn.mixture.GaussianMixture : the wrapped models.

    Notes
    -----
    **Scaling.** With ``scaling="log-standard"`` each feature is mapped to
    :math:`z = (\\log(1 + x) - \\mu) / \\sigma` with :math:`\\mu, \\sigma` the mean and
    standard deviation of :math:`\\log(1 + x)` at fit. The logarithm is taken in single
    precision (relative error below :math:`10^{-7}`, far below any distance that
    separates segments; about five times faster than in double precision), the rest
    in double precision; a feature of whole numbers ``0 .. R-1`` (counts, ages in
    whole periods) is read through a table of its :math:`R` transformed values, which
    gives the same numbers. ``predict`` applies the same operations.

    **Choice of k.** For k-means the criterion is the mean silhouette [2]_ of the
    sample, :math:`s(i) = (b(i) - a(i)) / \\max\\{a(i), b(i)\\}`, with :math:`a(i)` the
    mean distance of customer :math:`i` to the other members of its segment and
    :math:`b(i)` the smallest mean distance to the members of another segment; the k
    with the largest mean is chosen. For the Gaussian mixture it is the Bayesian
    information criterion [3]_ :math:`\\mathrm{BIC} = -2 \\log \\hat L + p \\log n`, with
    :math:`p` the number of free parameters; the smallest is chosen. The chosen k is then
    fitted on all customers.

    **Discrete features and the mixture.** Frequency is a count and recency and age are
    often whole periods: a Gaussian component that sits on a single value has a variance
    close to 0 and an unbounded likelihood, so the BIC would keep preferring more
    components that split the discrete values. The mixture is therefore fitted with
    ``reg_covar=0.05``: every component has a variance of at least 0.05 in every
    direction of the standardised space (a standard deviation of about a fifth of the
    population's), which is about the variance of rounding to whole numbers at small
    counts on the log scale, and narrower than any segment worth a name.

    **Order of the labels.** Segment :math:`s` gets the rank of
    :math:`\\bar v_s = \\frac{1}{n_s} \\sum_{i \\in s} v_i` (descending), :math:`v` the value
    column; segments without members come last. Equal values are ordered by the
    centroids in scaled units (feature by feature, descending), then by size. Values
    that differ by round-off only count as equal (a relative difference of
    :math:`10^{-12}` of the largest mean value, :math:`10^{-9}` standard deviations
    for a centroid): two segments of customers without a repeat purchase both have a
    mean spend of exactly 0 and centroids that differ in round-off in every feature but
    the age, so the age orders them, whatever the order of the rows.

    **Invariance to the order of the rows.** Every random choice is made on rows ordered
    by a hash of their (scaled) values, so the same customers in another row order give
    the same labels. The sample stands for every customer with about
    ``selection_sample_size`` *distinct* rows: the rows repeated many times (one-time
    buyers of the same age without spend, often most of a table) are all in it, each
    weighted by its exact number of copies, found from a count of the rows per hash
    bucket; the other distinct rows are those with the smallest hashes, each weighted by
    its number of copies divided by the share of the hash range the sample covers (see
    :func:`custseg.cluster._functions.scale_features`), so that the weights add up to
    about the number of customers. A sample of distinct rows alone would miss the few
    rows that hold most customers, and a sample of rows would be filled with copies of
    them. k-means draws weighted k-means++ seeds [1]_ from that sample; when the sample
    holds at most an eighth of the rows, it runs Lloyd's algorithm on the weighted
    sample from them first, then on all customers from the sample's centroids, which
    then converge in a few iterations (k-means on a sample as a start, as
    ``MiniBatchKMeans`` seeds from its ``init_size`` subset); of ``n_init`` runs, the
    one with the smallest inertia over all customers is kept. The mini-batch model then
    starts from the centroids of the run with the smallest inertia on the sample (else
    from its own seeds). The mixture likewise starts EM on all customers from the
    mixture fitted on the sample's points repeated in proportion to their weights (its
    weights, means and precisions), instead of a k-means on all customers. The
    silhouettes of ``n_segments="auto"`` are weighted, and the mixture, which takes no
    weights, is fitted there on the sample's points repeated in proportion to their
    weights. The mini-batch and mixture models, whose iterations draw rows at random,
    are fitted on all rows sorted by hash. The hash is seeded from ``random_state``, so
    a fixed ``random_state`` gives the same segments for any row order (centroids then
    agree to rounding, as sums taken in another order do).

    **Cost.** Around the model, the fit makes a few passes over blocks of 65,536 rows
    (scaling and hashing, then the profile) and sorts no customers: ``profile_`` and the
    names come from exact per-segment histograms of the whole-number columns and an
    exact radix selection of the medians of the others.

    **Names.** Each segment is described by the profile of its typical customer, the
    coordinate-wise median of its members (its centroid in the L1 sense, in original
    units): value (the value column), ``frequency``, and the time since the last
    purchase ``T - recency`` (``recency`` is the age at the last purchase [4]_, so a
    large recency is good). A median :math:`c` is placed in the population of training
    customers by its mid-rank percentile :math:`q = (\\#\\{x < c\\} + \\#\\{x = c\\}/2) / n`,
    and grades give the words: value ``"very high value"`` (:math:`q \\ge 0.9`),
    ``"high value"`` (:math:`q \\ge 2/3`), ``"low value"`` (:math:`q \\le 1/3`), else
    ``"mid value"``; frequency ``"very frequent"`` (:math:`q \\ge 0.9`),
    ``"frequent"`` (:math:`q \\ge 2/3`) or ``"infrequent"`` (:math:`q \\le 1/3`); time
    since the last purchase ``"very recent"`` (:math:`q \\le 0.1`), ``"recent"``
    (:math:`q \\le 1/3`) or ``"lapsed"`` (:math:`q \\ge 2/3`); middle thirds of
    frequency and time add no word. Descriptors whose columns the table lacks are left
    out. The words are joined by commas (``"average"`` when there is none, ``"empty"``
    for a segment without members); a repeated name gets a suffix ``" (2)"``,
    ``" (3)"``, ... in label order. Medians rather than means: customer tables have
    point masses (most customers of CDNOW have no repeat purchase and a spend of 0), and
    a mean or log-space centroid of a segment made mostly of such customers lies just
    above the mass and would rank above it.

    References
    ----------
    .. [1] Arthur, D. and Vassilvitskii, S. (2007). "k-means++: The Advantages of Careful
       Seeding". Proceedings of SODA 2007, 1027-1035 (Section 2.2, the D^2 weighting).
    .. [2] Rousseeuw, P. J. (1987). "Silhouettes: a graphical aid to the interpretation
       and validation of cluster analysis". Journal of Computational and Applied
       Mathematics 20, 53-65 (the definition of s(i)).
    .. [3] Schwarz, G. (1978). "Estimating the Dimension of a Model". The Annals of
       Statistics 6(2), 461-464.
    .. [4] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "Counting Your
       Customers the Easy Way: An Alternative to the Pareto/NBD Model". Marketing
       Science 24(2), 275-284 (Section 2: the summary (x, t_x, T)).

    Examples
    --------
    >>> from custseg.cluster import CustomerSegmenter
    >>> from custseg.datasets import load_cdnow_summary
    >>> table = load_cdnow_summary()
    >>> seg = CustomerSegmenter(n_segments=4, random_state=0).fit(table)
    >>> seg.labels_.shape
    (2357,)
    >>> bool(seg.profile_["monetary_value_mean"].is_monotonic_decreasing)
    True
    >>> str(seg.segment_names_[0])
    'high value, frequent, recent'
    >>> bool((seg.predict(table) == seg.labels_).all())
    True
    """

    _parameter_constraints: dict = {
        "method": [StrOptions({"kmeans", "minibatch", "gmm"})],
        "n_segments": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "k_range": [tuple, list],
        "features": [tuple, list, None],
        "scaling": [StrOptions({"log-standard", "standard", "none"})],
        "value_column": [str, None],
        "selection_sample_size": [Interval(Integral, 3, None, closed="left")],
        "random_state": ["random_state"],
        "n_init": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "n_jobs": [Integral, None],
    }

    def __init__(self, method="kmeans", n_segments="auto", k_range=(2, 8),
                 features=("frequency", "recency", "T", "monetary_value"),
                 scaling="log-standard", value_column="monetary_value",
                 selection_sample_size=10000, random_state=None, n_init="auto",
                 n_jobs=None):
        self.method = method
        self.n_segments = n_segments
        self.k_range = k_range
        self.features = features
        self.scaling = scaling
        self.value_column = value_column
        self.selection_sample_size = selection_sample_size
        self.random_state = random_state
        self.n_init = n_init
        self.n_jobs = n_jobs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []  # transform returns integer labels
        tags.input_tags.positive_only = self.scaling == "log-standard"
        return tags

    # ------------------------------------------------------------------ validation
    def _fit_feature_names(self, X) -> list[str] | None:
        if self.features is not None:
            names = list(self.features)
            if not names or not all(isinstance(c, str) for c in names):
                raise InvalidParameterError(
                    f"features must be a non-empty tuple of column names, got {self.features!r}."
                )
            return names
        if isinstance(X, pd.DataFrame):
            names = [c for c in X.columns if c != "customer_id"
                     and pd.api.types.is_numeric_dtype(X[c].dtype)
                     and not pd.api.types.is_bool_dtype(X[c].dtype)]
            if not names:
                raise InvalidDataError(
                    "features=None clusters the numeric columns of the customer table, but "
                    f"it has none. Columns found: {[str(c) for c in X.columns][:20]}."
                )
            return names
        return None

    def _check_values(self, frame: pd.DataFrame, names: list[str]):
        """Check every feature column; return them as contiguous float64 arrays and their
        (minimum, maximum).

        The common case, float or integer columns without NaN, infinite or (with the log
        scaling) negative values, costs two reductions per column; otherwise the checks
        of :mod:`custseg._validation` name the offending rows.
        """
        arrays, bounds = [], []
        log = self.scaling == "log-standard"
        for col in names:
            series = frame[col]
            arr = None
            if isinstance(series.dtype, np.dtype) and series.dtype.kind in "iuf":
                arr = np.ascontiguousarray(series.to_numpy(), dtype=np.float64)
                lo, hi = arr.min(), arr.max()
                if not (np.isfinite(lo) and np.isfinite(hi)) or (log and lo < 0):
                    arr = None
            if arr is None:
                arr = check_finite_numeric(frame, col)
                if log:
                    raise_bad_rows(
                        frame, arr < 0, col, "are negative",
                        hint="Negative values in data cannot be log-transformed: "
                             "scaling='log-standard' takes log1p of each feature; pass "
                             "scaling='standard' to cluster columns with negative values.",
                    )
                arr = np.ascontiguousarray(arr, dtype=np.float64)
                lo, hi = arr.min(), arr.max()
            arrays.append(arr)
            bounds.append((float(lo), float(hi)))
        return arrays, bounds

    def _validate_X(self, X, reset: bool):
        """Return the feature names, the feature columns as contiguous float64 arrays
        and their (minimum, maximum)."""
        if isinstance(X, pd.DataFrame):
            names = self._fit_feature_names(X) if reset else list(self.features_)
            check_columns(X, names, what="customer table")
            check_not_empty(X, what="customer table")
            columns, bounds = self._check_values(X, names)  # the columns, not a copy
            # the columns are checked and converted above: only the bookkeeping of
            # n_features_in_ and feature_names_in_ is left to scikit-learn, which needs
            # the names and not the rows
            header = X.iloc[:0][names]
            named = reset or hasattr(self, "feature_names_in_")
            validate_input(self, header if named else header.to_numpy(), reset=reset,
                           skip_check_array=True)
            return names, columns, bounds
        data = validate_input(self, X, reset=reset, dtype=np.float64, order="F",
                              ensure_all_finite=False)
        if reset:
            names = self._fit_feature_names(X)
            if names is None:
                names = [f"x{j}" for j in range(data.shape[1])]
            elif data.shape[1] != len(names):
                raise InvalidDataError(
                    f"An array customer table must have the {len(names)} columns "
                    f"{names} in this order, got {data.shape[1]} columns. Pass a DataFrame "
                    "to select columns by name, or set `features`."
                )
        else:
            names = list(self.features_)
        columns, bounds = self._check_values(pd.DataFrame(data, columns=names, copy=False),
                                             names)
        return names, columns, bounds

    def _k_bounds(self) -> tuple[int, int]:
        try:
            lo, hi = (int(v) for v in self.k_range)
            ok = all(isinstance(v, Integral) for v in self.k_range)
        except (TypeError, ValueError):
            ok = False
        if not ok or not 2 <= lo <= hi:
            raise InvalidParameterError(
                f"k_range must be two integers (smallest, largest) with 2 <= smallest <= "
                f"largest, got {self.k_range!r}."
            )
        return lo, hi

    # --------------------------------------------------------------------- scaling
    def _scale(self, columns: list[np.ndarray], bounds, fit: bool, **sampling):
        """:func:`scale_features` of the columns, learning the scaling when ``fit``."""
        stats = None if fit else (self.scaling_mean_, self.scaling_scale_)
        scaled = scale_features(columns, bounds, self.scaling, stats=stats, **sampling)
        if fit:
            self.scaling_mean_, self.scaling_scale_ = scaled.means, scaled.scales
        return scaled

    def _unscale(self, z: np.ndarray) -> np.ndarray:
        x = z * self.scaling_scale_ + self.scaling_mean_
        if self.scaling == "log-standard":  # a mean of log1p(x >= 0) is >= 0 up to rounding
            return np.maximum(np.expm1(x), 0.0)
        return x

    # ------------------------------------------------------------------------- fit
    def _template(self, k: int, seed: int):
        n_init = 1 if self.n_init == "auto" else self.n_init
        if self.method == "gmm":
            return GaussianMixture(n_components=k, n_init=n_init, reg_covar=GMM_REG_COVAR,
                                   random_state=seed)
        if self.method == "minibatch":
            return MiniBatchKMeans(n_clusters=k, n_init=n_init, random_state=seed)
        return KMeans(n_clusters=k, n_init=n_init, random_state=seed)

    def _select_k(self, sample: np.ndarray, weight: np.ndarray, n_rows: int, seed: int
                  ) -> tuple[int, pd.DataFrame]:
        lo, hi = self._k_bounds()
        hi = min(hi, n_rows - 1)
        if hi < lo:
            raise InvalidParameterError(
                f"n_segments='auto' tries k_range={tuple(self.k_range)!r} segments but "
                f"there are only n_samples={n_rows} customers; pass fewer segments or more "
                "customers."
            )
        if sample.shape[0] <= hi:  # fewer distinct customers than segments: repeat them
            # (the sample then holds every distinct customer: whole-number weights)
            copies = np.rint(weight).astype(np.intp)
            sample, weight = np.repeat(sample, copies, axis=0), np.ones(int(copies.sum()))
        ks = list(range(lo, hi + 1))
        criterion = "bic" if self.method == "gmm" else "silhouette"
        template = self._template(lo, seed)
        scores = Parallel(n_jobs=self.n_jobs)(
            delayed(_score_candidate)(template, sample, weight, k, criterion) for k in ks)
        scores = np.asarray(scores, dtype=np.float64)
        if np.all(np.isnan(scores)):
            raise InvalidDataError(
                f"No number of segments in k_range={tuple(self.k_range)!r} could be scored: "
                "the customers take fewer distinct values than the segments tried."
            )
        best = np.nanargmin(scores) if criterion == "bic" else np.nanargmax(scores)
        table = pd.DataFrame({criterion: scores},
                             index=pd.Index(ks, name="n_segments", dtype=np.int64))
        return ks[best], table

    def _fit_model(self, z: np.ndarray, h: np.ndarray, sample: np.ndarray,
                   weight: np.ndarray, k: int, seed: int):
        """:func:`fit_model` of this segmenter's model."""
        n_init = 1 if self.n_init == "auto" else self.n_init
        return fit_model(self._template(k, seed), self.method, n_init, z, h, sample,
                         weight, k, seed)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the segments on a customer table.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_customers, n_features)
            Customer table (see ``features``).
        y : None
            Ignored.

        Returns
        -------
        self : CustomerSegmenter
            The fitted segmenter.
        """
        names, columns, bounds = self._validate_X(X, reset=True)
        n = columns[0].shape[0]
        value = self._value_at_fit(X, columns, names, bounds)
        if self.n_segments == "auto":
            k_max = self._k_bounds()[1]
        else:
            k_max = self.n_segments
            if n < k_max:
                raise InvalidParameterError(
                    f"n_segments={k_max} segments need at least {k_max} customers, got "
                    f"n_samples={n}."
                )

        rs = check_random_state(self.random_state)
        hash_seed = int(rs.randint(np.iinfo(np.int32).max))
        model_seed = int(rs.randint(np.iinfo(np.int32).max))
        m = min(n, max(self.selection_sample_size, k_max))
        # k-means needs the hashes of the sample only; the other models sort all rows
        scaled = self._scale(columns, bounds, fit=True, hash_seed=hash_seed, sample_size=m,
                             keep_hash=self.method != "kmeans")
        z, h, sample, weight = scaled.z, scaled.h, scaled.sample, scaled.weight

        if self.n_segments == "auto":
            k, self.selection_scores_ = self._select_k(np.take(z, sample, axis=1).T,
                                                       weight, m, model_seed)
        else:
            k, self.selection_scores_ = self.n_segments, None
        model, raw = self._fit_model(z, h, sample, weight, k, model_seed)
        del z, h

        scaled_centers = model.means_ if self.method == "gmm" else model.cluster_centers_
        table = X if isinstance(X, pd.DataFrame) else None
        profiled = self.value_column
        if profiled is None and table is not None:
            profiled = _resolve_value_column(table, "auto")
        wanted = [c for c in PROFILE_COLUMNS if table is not None and c in table.columns]
        wanted += [c for c in [*names, profiled] if c is not None and c not in wanted]
        arrays = {c: (x, lo, code)
                  for c, x, (lo, _), code in zip(names, columns, bounds, scaled.codes)}
        if value is not None and self.value_column not in arrays:
            x, (lo, hi) = value
            code = None
            if lo >= 0 and hi < small_integer_limit(n):  # whole numbers: a histogram
                code = x.astype(np.intp)
                if not np.array_equal(code, x):
                    code = None
            arrays[self.value_column] = (x, lo, code)
        description = describe_segments(
            raw, k, wanted, arrays, lambda col: _numeric_column(table, col),
            descriptors={"value": self.value_column, "frequency": "frequency"})
        sizes = description.sizes
        value_means = None
        if self.value_column is not None:
            counts, sums, _ = description.stats[self.value_column]
            with np.errstate(invalid="ignore", divide="ignore"):
                value_means = sums / counts
        ranking = _segment_order(value_means, scaled_centers, sizes)
        mapping = np.empty(k, dtype=np.intp)
        mapping[ranking] = np.arange(k)

        self.estimator_ = model
        self.n_segments_ = int(k)
        self.label_mapping_ = mapping.astype(np.int64)
        self.labels_ = mapping.astype(np.int64)[raw]
        self.cluster_centers_ = self._unscale(scaled_centers)[ranking]
        self.features_ = np.asarray(names, dtype=object)
        self.profile_ = self._profile(description, profiled, sizes, ranking, n)
        self.segment_names_ = _segment_names(
            sizes[ranking], {key: ranks[ranking] for key, ranks in description.ranks.items()})
        return self

    def _value_at_fit(self, X, columns: list[np.ndarray], names: list[str], bounds):
        """The value column, validated, with its (minimum, maximum); ``None`` without
        one."""
        col = self.value_column
        if col is None:
            return None
        if col in names:
            j = names.index(col)
            return columns[j], bounds[j]
        if isinstance(X, pd.DataFrame):
            check_columns(X, [col], what="customer table")
            values = check_finite_numeric(X, col)
            return values, (float(values.min()), float(values.max()))
        raise InvalidParameterError(
            f"value_column={col!r} is not among the features {names} of this array; pass "
            "a DataFrame that has the column, or value_column=None."
        )

    # ----------------------------------------------------------------- description
    def _profile(self, description: SegmentDescription, value_column: str | None,
                 sizes: np.ndarray, ranking: np.ndarray, n: int) -> pd.DataFrame:
        """The profile table, in label order (see :func:`custseg.report.segment_profile`
        for its columns)."""
        out = {"n_customers": sizes[ranking].astype(np.int64), "share": sizes[ranking] / n}
        if value_column is not None:
            totals = description.stats[value_column][1][ranking]
            grand = totals.sum()
            with np.errstate(invalid="ignore", divide="ignore"):
                out["value_share"] = totals / grand if grand != 0 else np.full(totals.size,
                                                                             np.nan)
        for col, (counts, sums, medians) in description.stats.items():
            counts, sums = counts[ranking], sums[ranking]
            with np.errstate(invalid="ignore", divide="ignore"):
                out[f"{col}_mean"] = np.where(counts > 0, sums / np.maximum(counts, 1),
                                              np.nan)
            out[f"{col}_median"] = medians[ranking]
        index = pd.Index(np.arange(len(ranking)), name="segment")
        return pd.DataFrame(out, index=index)

    # ------------------------------------------------------------------ prediction
    def _scaled(self, X) -> np.ndarray:
        """The scaled features of ``X``, one column per feature (Fortran-ordered)."""
        check_is_fitted(self)
        _, columns, bounds = self._validate_X(X, reset=False)
        return self._scale(columns, bounds, fit=False).z.T

    def predict(self, X):
        """Segment of each customer (0 is the most valuable segment).

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_customers, n_features)
            Customer table with the features seen in ``fit``.

        Returns
        -------
        labels : ndarray of shape (n_customers,)
            Segment labels, in ``0 .. n_segments_ - 1``.
        """
        check_is_fitted(self)
        return self.label_mapping_[self.estimator_.predict(self._scaled(X))]

    def fit_transform(self, X, y=None):
        """Fit, then return the segment label column of the training customers.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_customers, n_features)
            Customer table.
        y : None
            Ignored.

        Returns
        -------
        labels : ndarray of shape (n_customers, 1)
            ``labels_`` as one column named ``segment`` (a DataFrame with
            ``set_output(transform="pandas")``).
        """
        return self.fit(X, y).labels_.reshape(-1, 1)

    def transform(self, X):
        """Return the segment label column, so the segmenter composes in pipelines.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_customers, n_features)
            Customer table with the features seen in ``fit``.

        Returns
        -------
        labels : ndarray of shape (n_customers, 1)
            ``predict(X)`` as one integer column named ``segment`` (a DataFrame with
            ``set_output(transform="pandas")``). Distances to the centroids, where
            wanted, are ``estimator_.transform`` of the scaled features.
        """
        return self.predict(X).reshape(-1, 1)

    def get_feature_names_out(self, input_features=None):
        """Name of the output column of ``transform``.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Ignored apart from a length check: the output is the single column
            ``segment``.

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``["segment"]``.
        """
        check_is_fitted(self)
        if input_features is not None and len(input_features) != self.n_features_in_:
            raise ValueError(
                f"input_features should have length equal to the number of features "
                f"({self.n_features_in_}), got {len(input_features)}."
            )
        return np.asarray(["segment"], dtype=object)

    def _is_mixture(self):
        if self.method != "gmm":
            raise AttributeError(
                f"predict_proba needs method='gmm' (a Gaussian mixture); method="
                f"{self.method!r} assigns each customer to one segment."
            )
        return True

    @available_if(_is_mixture)
    def predict_proba(self, X):
        """Posterior probability of each segment for each customer (``method="gmm"``).

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_customers, n_features)
            Customer table with the features seen in ``fit``.

        Returns
        -------
        proba : ndarray of shape (n_customers, n_segments)
            Column ``j`` is the probability of segment ``j`` (label order).
        """
        check_is_fitted(self)
        proba = self.estimator_.predict_proba(self._scaled(X))
        return proba[:, np.argsort(self.label_mapping_)]
