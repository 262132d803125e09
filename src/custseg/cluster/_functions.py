"""Pure vectorised functions behind :class:`CustomerSegmenter`: row hashing and a
weighted sample that stands for every customer, for an order-invariant fit, the mean
silhouette, the order of the segments and the naming rules of the segments."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["mean_silhouette"]

_MULTIPLIERS = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9),
                np.uint64(0x94D049BB133111EB), np.uint64(0xD6E8FEB86659FD93))
_FOLD = np.uint64(29)


def _hash_words(words: list[np.ndarray], seed: int, out: np.ndarray | None = None
                ) -> np.ndarray:
    """A 64-bit hash of each row of the word arrays (unsigned integers of 32 or 64 bits,
    one value per row each): equal rows hash equally wherever they are.

    ``h = w_0 * c_0`` then, for each further word, ``h = (fold(h) ^ w_i) * c_i``, with
    odd multipliers ``c_i`` (the first one drawn from ``seed``) and
    ``fold(h) = h ^ (h >> 29)``: every step is a bijection, so rows that differ in one
    word never collide; the multiplication carries each bit to all higher ones and the
    fold brings the high bits (where the exponent of a float or the top of a packed
    integer lies) into the low ones before the next word, so that distinct rows collide
    with probability about 2**-64 whatever the structure of the values. The top bits,
    which sampling and sorting by the hash read first, are the best mixed. ``out``
    receives the hashes.
    """
    first = np.uint64(((int(seed) * 2 + 1) * int(_MULTIPLIERS[0])) % (1 << 64) | 1)
    h = np.empty(words[0].shape[0], dtype=np.uint64) if out is None else out
    np.multiply(words[0], first, out=h, casting="unsafe")
    if len(words) > 1:
        tmp = np.empty_like(h)
        for i, w in enumerate(words[1:]):  # a loop over words
            np.right_shift(h, _FOLD, out=tmp)
            h ^= tmp
            h ^= w
            h *= _MULTIPLIERS[(i + 1) % len(_MULTIPLIERS)]
    return h


def _float_word(values: np.ndarray) -> np.ndarray:
    """The bits of float64 values as a hash word (``-0.0`` as ``0.0``)."""
    return (np.asarray(values, dtype=np.float64) + 0.0).view(np.uint64)


def _distinct_rows(candidates: np.ndarray, hashes: np.ndarray, m: int | None = None
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The (at most) ``m`` distinct rows with the smallest hashes among the candidate
    rows, how many candidate rows each stands for and their hashes:
    ``(rows, counts, hashes)``, in increasing hash order (all of them without ``m``).
    Identical rows share their hash, so when the candidates are all the rows below a
    hash threshold, ``counts`` are the exact numbers of identical customers."""
    order = np.argsort(hashes)  # identical rows are interchangeable: any order will do
    ordered = np.take(hashes, order)
    starts = np.flatnonzero(np.concatenate(([hashes.size > 0], ordered[1:] != ordered[:-1])))
    counts = np.diff(np.append(starts, ordered.size))
    starts = starts[:m]
    return np.take(candidates, np.take(order, starts)), counts[:m], ordered[starts]


#: Bits of the hash that index the buckets counted to find the heavily repeated rows.
BUCKET_BITS = 16


def heavy_threshold(n: int) -> int:
    """Number of copies from which a row of a table of ``n`` rows counts as heavily
    repeated: four times the mean load of a hash bucket, at least 8."""
    return max(8, -(-4 * n >> BUCKET_BITS))


def _heavy_rows(h: np.ndarray, buckets: np.ndarray, threshold: int, limit: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows repeated at least ``threshold`` times: ``(rows, counts, hashes)``, one
    row of each (at most ``limit``, the most repeated first, ties by hash), in
    increasing hash order.

    ``buckets`` counts the rows per value of the top :data:`BUCKET_BITS` bits of the
    hash ``h``: a row with ``c`` copies makes its bucket count at least ``c``, so only
    the buckets that reach the threshold are searched, and every row repeated that
    often is found. In each such bucket, the hash of its first row is *claimed* and the
    rows of other hashes set aside: the claimed hash has exactly the bucket's count
    minus the rows set aside, and the buckets whose rows set aside still reach the
    threshold are searched again among those rows alone (a bucket usually holds one
    heavily repeated row and a few others). The rows found and their counts depend on
    the multiset of the hashes only, not on the order of the rows.
    """
    found_rows, found_counts = [np.empty(0, dtype=np.intp)], [np.empty(0, dtype=np.intp)]
    found_hashes = [np.empty(0, dtype=np.uint64)]
    rows = None  # the rows searched: all of them, then those set aside
    while True:
        flagged = buckets >= threshold
        if not flagged.any():
            break
        claimed, first, rest_rows, rest_hashes = _claim_buckets(h, rows, flagged)
        rest_top = (rest_hashes >> np.uint64(64 - BUCKET_BITS)).view(np.intp)
        rest = np.bincount(rest_top, minlength=buckets.size)
        won = np.flatnonzero(flagged & (buckets - rest >= threshold))
        found_rows.append(first[won])
        found_counts.append((buckets - rest)[won])
        found_hashes.append(claimed[won])
        h, rows, buckets = rest_hashes, rest_rows, rest
    rows, counts = np.concatenate(found_rows), np.concatenate(found_counts)
    hashes = np.concatenate(found_hashes)
    order = np.argsort(hashes)
    if order.size > limit:  # the most repeated (a stable sort keeps hash order in ties)
        order = np.sort(order[np.argsort(-counts[order], kind="stable")[:limit]])
        order = order[np.argsort(hashes[order])]
    return rows[order], counts[order], hashes[order]


def _claim_buckets(h: np.ndarray, rows: np.ndarray | None, flagged: np.ndarray):
    """One round of :func:`_heavy_rows` over the hashes ``h`` of ``rows`` (``None``: row
    ``i`` of the table): per bucket, the hash claimed and its first row (by bucket),
    then the rows of the flagged buckets with another hash and their hashes."""
    size = flagged.size
    claimed = np.zeros(size, dtype=np.uint64)
    first = np.full(size, -1, dtype=np.intp)
    flagged_ids = np.flatnonzero(flagged)
    open_buckets = flagged_ids.size
    shift = np.uint64(64 - BUCKET_BITS)
    top = np.empty(min(CHUNK, h.shape[0]), dtype=np.uint64)
    rest_rows, rest_hashes = [], []
    for a, b in _blocks(h.shape[0]):  # a loop over blocks
        block = h[a:b]
        t = np.right_shift(block, shift, out=top[:b - a]).view(np.intp)
        in_flagged = flagged[t]
        if open_buckets:  # claim the first row of each flagged bucket met here
            new = np.flatnonzero(in_flagged & (first[t] < 0))[::-1]
            first[t[new]] = new + a  # the first row of each bucket is written last
            claimed[t[new]] = block[new]
            open_buckets = int(np.count_nonzero(first[flagged_ids] < 0))
        other = np.flatnonzero(in_flagged & (claimed[t] != block))
        rest_hashes.append(block[other])
        rest_rows.append(other + a if rows is None else rows[other + a])
    if rows is not None:
        first = np.where(first >= 0, rows[np.maximum(first, 0)], -1)
    return claimed, first, np.concatenate(rest_rows), np.concatenate(rest_hashes)


def mean_silhouette(X: np.ndarray, labels: np.ndarray, sample_weight=None,
                    chunk_size: int = 256) -> float:
    """Mean silhouette coefficient of a labelling (Euclidean distances), vectorised.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Points.
    labels : array-like of shape (n_samples,)
        Segment of each point, at least 2 and at most ``n_samples - 1`` distinct values.
    sample_weight : array-like of shape (n_samples,), optional
        Number of customers each point stands for (positive; default 1): the result is
        that of the table where each point is repeated that many times.
    chunk_size : int, default=256
        Rows whose distances to all rows are held at once: memory is bounded by
        ``chunk_size * n_samples`` floats.

    Returns
    -------
    float
        The mean over the points of :math:`s(i)`, as
        ``sklearn.metrics.silhouette_score(X, labels)`` computes it (of the repeated
        points, with weights).

    Notes
    -----
    :math:`s(i) = (b(i) - a(i)) / \\max\\{a(i), b(i)\\}`, with :math:`a(i)` the mean
    distance of point :math:`i` to the other points of its segment and :math:`b(i)` the
    smallest mean distance to the points of another segment; :math:`s(i) = 0` in a
    segment of one point [1]_. With weights :math:`w`, the sums run over the repeated
    points: :math:`a(i) = \\sum_{j \\in S} w_j d_{ij} / (W_S - 1)` with :math:`W_S` the
    weight of segment :math:`S` (the copies of :math:`i` lie at distance 0), and the mean
    is weighted by :math:`w_i`. The distances of a block of rows to all rows come from
    one matrix product (:math:`|x|^2 + |y|^2 - 2 x \\cdot y`), their sums per segment
    from a second one with the (weighted) one-hot matrix of the labels: several times
    faster than scikit-learn's loop of one ``bincount`` per row, with the same result.

    References
    ----------
    .. [1] Rousseeuw, P. J. (1987). "Silhouettes: a graphical aid to the interpretation
       and validation of cluster analysis". Journal of Computational and Applied
       Mathematics 20, 53-65 (the definition of s(i)).

    Examples
    --------
    >>> import numpy as np
    >>> from custseg.cluster._functions import mean_silhouette
    >>> X = np.array([[0.0], [0.1], [1.0], [1.1]])
    >>> round(mean_silhouette(X, [0, 0, 1, 1]), 4)
    0.8997
    >>> weighted = mean_silhouette(X[:3], [0, 0, 1], sample_weight=[1, 1, 2])
    >>> bool(np.isclose(weighted, mean_silhouette(X[[0, 1, 2, 2]], [0, 0, 1, 1])))
    True
    """
    X = np.asarray(X, dtype=np.float64)
    n = X.shape[0]
    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    _, codes = np.unique(labels, return_inverse=True)
    k = int(codes.max()) + 1
    onehot = np.zeros((n, k))
    onehot[np.arange(n), codes] = w
    weights = onehot.sum(axis=0)
    sq = np.einsum("ij,ij->i", X, X)
    ones = np.ones((n, 1))
    left = np.hstack([X, ones, sq[:, None]])  # |x|^2 + |y|^2 - 2 x.y as one product
    right = np.hstack([-2.0 * X, sq[:, None], ones]).T.copy()
    total = 0.0
    for start in range(0, n, chunk_size):  # a loop over blocks of rows
        stop = min(start + chunk_size, n)
        rows = np.arange(stop - start)
        d = left[start:stop] @ right
        np.maximum(d, 0.0, out=d)
        np.sqrt(d, out=d)
        d[rows, rows + start] = 0.0
        sums = d @ onehot
        own = codes[start:stop]
        own_weight = weights[own]
        a = sums[rows, own] / np.maximum(own_weight - 1.0, 1.0)
        mean_other = sums / weights
        mean_other[rows, own] = np.inf
        b = mean_other.min(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            s = (b - a) / np.maximum(a, b)
        s[(own_weight <= 1) | ~np.isfinite(s)] = 0.0
        total += float(s @ w[start:stop])
    return total / float(w.sum())


def _tie_classes(values: np.ndarray, tol: float) -> np.ndarray:
    """Rank classes of ``values`` (0 for the smallest) in which values closer than
    ``tol`` to their neighbour in sorted order share a class; NaN come last."""
    values = np.asarray(values, dtype=np.float64)
    order = np.argsort(values, kind="stable")  # NaN sort last
    ordered = values[order]
    with np.errstate(invalid="ignore"):
        new = np.concatenate(([True], ~(np.diff(ordered) <= tol)))
    classes = np.empty(values.size, dtype=np.int64)
    classes[order] = np.cumsum(new) - 1
    return classes


def _segment_order(value: np.ndarray | None, centers: np.ndarray, sizes: np.ndarray
                   ) -> np.ndarray:
    """Order of the segments, most valuable first: ``order[r]`` is the segment ranked
    ``r``.

    Keys, each breaking the ties of the previous one: the mean value (descending;
    segments without members last), then the centroid in scaled units, feature by
    feature (descending), then the size (descending). Values that differ by round-off
    only (relative 1e-12 of the largest mean value, 1e-9 standard deviations for the
    centroids) are ties, so the order does not depend on the order of the rows, whose
    sums are rounded differently.
    """
    k = centers.shape[0]
    keys = [np.arange(k), -sizes]
    for j in range(centers.shape[1] - 1, -1, -1):  # a loop over features
        keys.append(-_tie_classes(centers[:, j], 1e-9))
    if value is not None:
        value = np.where(sizes > 0, value, np.nan)
        scale = np.nanmax(np.abs(value)) if np.isfinite(value).any() else 0.0
        keys.append(_tie_classes(-value, 1e-12 * scale))
    return np.lexsort(keys)


def _segment_names(sizes: np.ndarray, ranks: dict) -> np.ndarray:
    """Name each segment from the percentile ranks of its typical (median) customer's
    value, frequency and time since the last purchase.

    ``ranks`` maps ``"value"``, ``"frequency"`` and ``"since_last"`` (each optional) to
    the mid-rank percentile of each segment's median among all customers.
    """
    lo, hi, top = 1.0 / 3.0, 2.0 / 3.0, 0.9

    def grade(q, words):  # words for q >= top, q >= hi, q <= lo ("" : no word)
        return words[0] if q >= top else words[1] if q >= hi else words[2] if q <= lo \
            else words[3]

    names, seen = [], {}
    for s in range(len(sizes)):  # a loop over segments
        words = []
        if "value" in ranks:
            words.append(grade(ranks["value"][s],
                               ("very high value", "high value", "low value", "mid value")))
        if "frequency" in ranks:
            words.append(grade(ranks["frequency"][s],
                               ("very frequent", "frequent", "infrequent", "")))
        if "since_last" in ranks:
            words.append(grade(1.0 - ranks["since_last"][s],
                               ("very recent", "recent", "lapsed", "")))
        words = [w for w in words if w]
        name = (", ".join(words) or "average") if sizes[s] > 0 else "empty"
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return np.array(names, dtype=object)


# --------------------------------------------------------------------------- scaling
#: Rows processed at once by the passes over the customers: the temporaries of a block
#: stay in the processor's cache, and no array as long as the table is allocated but the
#: outputs.
CHUNK = 1 << 16


def _blocks(n: int):
    """``(start, stop)`` of consecutive blocks of at most :data:`CHUNK` rows."""
    return ((a, min(n, a + CHUNK)) for a in range(0, n, CHUNK))


def _log1p32(values: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``log(1 + x)`` in single precision, as float32 (SIMD-vectorised by numpy, about
    five times faster than ``np.log1p`` in double precision)."""
    t = np.asarray(values).astype(np.float32) if out is None else out
    if out is not None:
        np.copyto(t, values, casting="unsafe")
    t += np.float32(1.0)
    return np.log(t, out=t)


_CONTROLLER = []


def _one_blas_thread():
    """A context limiting BLAS to one thread, for the dot products of single blocks
    (threads cost more than they save there; the controller is built once)."""
    if not _CONTROLLER:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0].limit(limits=1, user_api="blas")


def small_integer_limit(n: int) -> int:
    """Largest range ``R`` of values ``0 .. R-1`` that a column of ``n`` values is read
    as small integers with (a table of ``R`` entries, a histogram of ``R`` bins)."""
    return min(1 << 20, max(256, n // 4))


class ScaledFeatures:
    """The scaled features of a table: ``z`` of shape (n_features, n_customers), one
    contiguous row per feature (its transpose is the model's input), the mean and scale
    of each feature, ``codes[j]`` the values of feature ``j`` as the small integers
    ``0 .. R-1`` in the smallest unsigned type (``None`` for other features) and, when
    asked, the hash of each row and the weighted sample of distinct rows (see
    :func:`scale_features`)."""

    def __init__(self, z, means, scales, codes, h, sample, weight):
        self.z, self.means, self.scales, self.codes = z, means, scales, codes
        self.h, self.sample, self.weight = h, sample, weight


def _code_type(size: int):
    return np.uint8 if size <= 1 << 8 else np.uint16 if size <= 1 << 16 else np.uint32


def scale_features(columns: list[np.ndarray], bounds: list[tuple[float, float]],
                   scaling: str, *, stats=None, hash_seed: int | None = None,
                   sample_size: int | None = None, keep_hash: bool = True
                   ) -> ScaledFeatures:
    """Scale the features (learning their mean and scale unless ``stats`` gives them) and
    hash the rows, in two passes over blocks of rows.

    Parameters
    ----------
    columns : list of ndarray of float64, shape (n,)
        The features, finite.
    bounds : list of (float, float)
        Minimum and maximum of each feature.
    scaling : {"log-standard", "standard", "none"}
        ``log-standard``: ``(log(1 + x) - mean) / scale`` with the logarithm in single
        precision; ``standard``: ``(x - mean) / scale``; ``none``: ``x``.
    stats : (ndarray, ndarray), optional
        The means and scales learned at fit.
    hash_seed : int, optional
        Seed of the row hash (see :func:`_hash_words`); without it, no hash, no sample
        and no codes.
    sample_size : int, optional
        Size of the weighted sample of distinct rows (see Notes).
    keep_hash : bool, default=True
        Return the hash of every row (it is kept during the call when sampling).

    Notes
    -----
    A feature whose values are the small integers ``0 .. R-1`` (counts, whole periods)
    is transformed by a table of its ``R`` possible values, gathered by the values: the
    table applies to each value the same operations as the direct path, so both give
    identical numbers. Means and variances come from sums of the transformed values
    minus the middle of their range, each sum taken of whole numbers (the values times a
    power of two chosen from the range and the number of rows, rounded: a resolution of
    about ``2**52 / n`` steps over the range) whose partial sums are exact floats: the
    statistics, hence the scaled values, do not depend on the order of the rows in their
    last bits either. The hash reads what the model sees of a row: the small integers
    (packed into exact mixed-radix keys) and the transformed values of the other
    features, so identical rows of the model's input hash equally.

    The sample stands for every customer with about ``sample_size`` distinct rows, in
    an order and with weights that depend on the values of the rows only. Rows
    repeated at least :func:`heavy_threshold` times (one-time buyers of the same age,
    often most of a table) are all in it, each weighted by its exact number of copies
    (see :func:`_heavy_rows`, from a count of the rows per hash bucket taken during the
    first pass). The other distinct rows are sampled uniformly by hash: the ``m`` with
    the smallest hashes among the rows whose hash falls below a threshold (about three
    times ``m`` rows, collected during the first pass; identical rows share their hash,
    so their count is exact), each weighted by its number of copies divided by the
    share of the hash range the sample covers (the (m+1)-th smallest hash [1]_). The
    weights add up to about the number of customers; a uniform sample of distinct rows
    alone would miss the few rows that hold most customers, or weight one of them
    thousands of times more than the rest.

    References
    ----------
    .. [1] Cohen, E. and Kaplan, H. (2007). "Summarizing data using bottom-k sketches".
       Proceedings of PODC 2007, 225-234 (the (k+1)-th smallest rank as the threshold).
    """
    p, n = len(columns), columns[0].shape[0]
    fit = stats is None
    limit = small_integer_limit(n)
    sizes = [int(hi) + 1 if scaling != "none" and lo >= 0 and hi < limit else 0
             for lo, hi in bounds]
    # the middle of each transformed range, and the units of the sums (see Notes)
    ends = [_transform(np.array([lo, hi], dtype=np.float64), scaling == "log-standard")
            for lo, hi in bounds]
    centre = np.array([(t_lo + t_hi) / 2 for t_lo, t_hi in ends])
    half = np.array([(t_hi - t_lo) / 2 for t_lo, t_hi in ends])
    units = np.array([_unit(n * h) for h in half]), np.array([_unit(n * h * h) for h in half])
    share = min(1.0, 3.0 * sample_size / n) if sample_size else 0.0
    state = _FirstPass(columns, sizes, scaling, centre, units, fit, hash_seed, keep_hash,
                       share)
    with _one_blas_thread():
        for a, b in _blocks(n):  # pass 1: transform, sum and hash
            state.block(a, b)
    if state.rehash:  # a feature turned out not to be integers: hash every block again
        state.restart(share, recount=True)
    sample = weight = None
    if sample_size:  # before the standardisation, which the hash must not see
        sample, weight = _weighted_sample(state, sample_size, share, n)
    if fit:
        means, scales = np.zeros(p), np.ones(p)
        if scaling != "none":
            shift = state.sums / units[0] / n
            means = centre + shift
            scales = np.sqrt(np.maximum(state.squares / units[1] / n - shift * shift, 0.0))
            # a constant feature keeps a scale of 1
            scales[scales <= 1e-12 * np.maximum(1.0, np.abs(means))] = 1.0
    else:
        means, scales = (np.asarray(v, dtype=np.float64) for v in stats)
    z = state.z
    if scaling != "none":
        centres, inverse = means[:, None], (1.0 / scales)[:, None]
        for a, b in _blocks(n):  # pass 2: standardise
            out = z[:, a:b]
            out -= centres
            out *= inverse
    return ScaledFeatures(z, means, scales, state.codes, state.h if keep_hash else None,
                          sample, weight)


def _weighted_sample(state: _FirstPass, m: int, share: float, n: int
                     ) -> tuple[np.ndarray, np.ndarray]:
    """A sample of about ``m`` distinct rows that stands for every customer: the rows,
    in increasing hash order, and how many customers each stands for (see
    :func:`scale_features`)."""
    heavy, heavy_counts, heavy_hashes = _heavy_rows(state.h, state.buckets,
                                                    heavy_threshold(n), m // 2)
    m_light = m - heavy.size
    while True:
        candidates = np.concatenate(state.candidates)
        hashes = np.concatenate(state.candidate_hashes)
        if heavy.size:
            keep = ~np.isin(hashes, heavy_hashes)
            candidates, hashes = candidates[keep], hashes[keep]
        rows, counts, hashes = _distinct_rows(candidates, hashes)
        if rows.size >= m_light or share >= 1.0:
            break
        # identical rows take their share of the hashes: widen in proportion
        share = min(1.0, share * 1.5 * m_light / max(rows.size, 1))
        state.restart(share)
    if rows.size > m_light:  # the (m+1)-th smallest hash bounds the m sampled ones
        inclusion = (float(hashes[m_light]) + 1.0) / 2.0**64
    else:  # every distinct row below the threshold
        inclusion = share
    rows, counts, hashes = rows[:m_light], counts[:m_light], hashes[:m_light]
    weight = np.concatenate([heavy_counts, counts / inclusion])
    order = np.argsort(np.concatenate([heavy_hashes, hashes]), kind="stable")
    return np.concatenate([heavy, rows])[order], weight[order]


def _unit(bound: float) -> float:
    """The power of two ``u`` such that ``n`` values of magnitude at most ``bound / n``,
    times ``u`` and rounded to whole numbers, add up to at most ``2**52``: every partial
    sum is then an exact float, whatever the order of the terms."""
    exponent = 52 - math.frexp(bound)[1] if bound > 0 else 0
    return math.ldexp(1.0, max(-1000, min(1000, exponent)))


def _threshold(share: float) -> np.uint64:
    """The hash below which a share of uniformly hashed rows falls."""
    return np.uint64(min(int(share * 2.0**64), (1 << 64) - 1))


class _FirstPass:
    """The first pass of :func:`scale_features`, block by block: transformed values into
    ``z``, sums for the statistics, small-integer codes and row hashes."""

    def __init__(self, columns, sizes, scaling, centre, units, fit, hash_seed, keep_hash,
                 share):
        p, n = len(columns), columns[0].shape[0]
        self.columns, self.sizes, self.centre, self.fit = columns, sizes, centre, fit
        self.unit, self.unit2 = units
        self.scaling, self.log, self.hash_seed = scaling, scaling == "log-standard", hash_seed
        self.z = np.empty((p, n))
        self.tables = [_transform(np.arange(size, dtype=np.float64), self.log)
                       if size else None for size in sizes]
        keep = hash_seed is not None  # the codes describe the segments after a fit
        self.codes = [np.empty(n, dtype=_code_type(size)) if size and keep else None
                      for size in sizes]
        self.sums, self.squares = np.zeros(p), np.zeros(p)
        self.h = np.empty(n, dtype=np.uint64) if keep and (keep_hash or share) else None
        self.buckets = np.zeros(1 << BUCKET_BITS, dtype=np.int64) if share else None
        self.top = np.empty(CHUNK, dtype=np.uint64)
        self.hashing = keep
        self.block_hash = np.empty(CHUNK, dtype=np.uint64)
        self.threshold, self.all_rows = _threshold(share), share >= 1.0
        self.candidates, self.candidate_hashes = [], []
        self.rehash = False
        self.block_codes = [np.empty(CHUNK, dtype=_code_type(size)) if size else None
                            for size in sizes]
        self.single = np.empty(CHUNK, dtype=np.float32)
        self.shifted = np.empty(CHUNK)
        self.flags = np.empty(CHUNK, dtype=bool)
        self.packed = np.empty(CHUNK)

    def block(self, a: int, b: int) -> None:
        m = b - a
        for j, col in enumerate(self.columns):  # a loop over features
            x, out = col[a:b], self.z[j, a:b]
            if self.sizes[j]:
                # codes of values in 0 .. size-1 (a cast of a fraction drops it: the
                # comparison finds it)
                c = self.codes[j][a:b] if self.codes[j] is not None \
                    else self.block_codes[j][:m]
                np.copyto(c, x, casting="unsafe")
                if np.equal(c, x, out=self.flags[:m]).all():
                    np.take(self.tables[j], c, out=out, mode="clip")
                else:  # not whole numbers: the direct path, which gives the same values
                    self.sizes[j], self.codes[j] = 0, None
                    self.rehash = a > 0
            if not self.sizes[j]:
                if self.log:
                    np.copyto(out, _log1p32(x, self.single[:m]))
                else:
                    np.copyto(out, x)
            if self.fit and self.scaling != "none":  # sums of whole numbers: exact
                d = np.subtract(out, self.centre[j], out=self.shifted[:m])
                q = np.multiply(d, self.unit[j], out=self.packed[:m])
                self.sums[j] += np.rint(q, out=q).sum()
                np.multiply(d, d, out=d)
                d *= self.unit2[j]
                self.squares[j] += np.rint(d, out=d).sum()
        if self.hashing and not self.rehash:
            self.hash(a, b, count=True)

    def restart(self, share: float, recount: bool = False) -> None:
        """Hash every block again (of the transformed values, before standardisation),
        collecting the candidates below the threshold of ``share`` (and counting the
        buckets again when ``recount``, after a change of the hashed words)."""
        self.threshold, self.all_rows = _threshold(share), share >= 1.0
        self.candidates, self.candidate_hashes = [], []
        if recount and self.buckets is not None:
            self.buckets[:] = 0
        for a, b in _blocks(self.z.shape[1]):
            self.hash(a, b, count=recount)

    def hash(self, a: int, b: int, count: bool) -> None:
        """Hash words of the rows ``a:b``: the packed small integers, then the
        transformed values of the other features (counted in the buckets when
        ``count``)."""
        small = [j for j, size in enumerate(self.sizes) if size]
        words = _pack_values([self.columns[j][a:b] for j in small],
                             [self.sizes[j] for j in small],
                             out=self.packed[:b - a]) if small else []
        # a transformed log is never -0.0; a raw value may be, and must hash as 0.0
        words += [self.z[j, a:b].view(np.uint64) if self.log else _float_word(self.z[j, a:b])
                  for j, size in enumerate(self.sizes) if not size]
        hashes = _hash_words(words, self.hash_seed,
                             out=self.h[a:b] if self.h is not None else self.block_hash[:b - a])
        if count and self.buckets is not None:
            top = np.right_shift(hashes, np.uint64(64 - BUCKET_BITS), out=self.top[:b - a])
            np.add.at(self.buckets, top.view(np.intp), 1)
        rows = np.arange(b - a) if self.all_rows else np.flatnonzero(hashes < self.threshold)
        self.candidates.append(rows + a)
        self.candidate_hashes.append(np.take(hashes, rows))


def _transform(values: np.ndarray, log: bool) -> np.ndarray:
    """The transformation before standardisation, as float64."""
    return _log1p32(values).astype(np.float64) if log else np.asarray(values, np.float64)


def _pack_values(values: list[np.ndarray], sizes: list[int],
                 out: np.ndarray | None = None) -> list[np.ndarray]:
    """Columns of whole numbers ``0 .. sizes[j]-1`` packed into as few exact mixed-radix
    keys as fit in the 53 bits of a float, as hash words (their bits):
    ``values[0] + sizes[0] * (values[1] + sizes[1] * (...))``; equal keys if and only if
    equal values. The values are not modified; the first key of several columns is
    written into ``out`` (float64) when given."""
    groups, radix = [], 1 << 53
    for v, size in zip(values, sizes):  # a loop over columns
        if not groups or radix * size > 1 << 53:
            groups.append([])
            radix = 1
        groups[-1].append((v, size))
        radix *= size
    keys = []
    for group in groups:  # Horner's scheme from the last column: one pass per step
        key = group[-1][0]
        for v, size in reversed(group[:-1]):
            if key is group[-1][0]:
                key = np.multiply(key, size, out=out) if out is not None and not keys \
                    else key * size
            else:
                key *= size
            key += v
        keys.append(key.view(np.uint64))  # -0.0 (rare) hashes apart from 0.0: harmless
    return keys
