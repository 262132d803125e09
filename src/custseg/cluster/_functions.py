"""Pure vectorised functions behind :class:`CustomerSegmenter`: row hashing for an
order-invariant fit, the mean silhouette, and the naming rules of the segments."""

from __future__ import annotations

import numpy as np

__all__ = ["mean_silhouette"]

_SPLITMIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_SPLITMIX_2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix64(h: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser, in place on a uint64 array (wrapping arithmetic)."""
    h ^= h >> np.uint64(30)
    h *= _SPLITMIX_1
    h ^= h >> np.uint64(27)
    h *= _SPLITMIX_2
    h ^= h >> np.uint64(31)
    return h


def _row_hash(columns: list[np.ndarray], seed: int) -> np.ndarray:
    """A 64-bit hash of each row's values: equal rows hash equally wherever they are.

    Sorting or sampling rows by this hash gives an order that depends on the values of
    the rows only, never on their position in the input. Each column is folded in and
    mixed by the splitmix64 finaliser (a bijection), so that distinct rows collide with
    probability about 2**-64 whatever the structure of the values.
    """
    h = np.full(columns[0].shape[0], np.uint64(seed), dtype=np.uint64)
    for col in columns:  # a loop over columns
        bits = (np.asarray(col, dtype=np.float64) + 0.0).view(np.uint64)  # -0.0 -> 0.0
        h ^= bits
        _mix64(h)
        h += _GOLDEN
    return h


def _smallest_hashes(h: np.ndarray, m: int) -> np.ndarray:
    """Indices of the ``m`` rows with the smallest hashes, in hash order."""
    if m >= h.size:
        return np.argsort(h, kind="stable")
    idx = np.argpartition(h, m - 1)[:m]
    return idx[np.argsort(h[idx], kind="stable")]


def mean_silhouette(X: np.ndarray, labels: np.ndarray, chunk_size: int = 256) -> float:
    """Mean silhouette coefficient of a labelling (Euclidean distances), vectorised.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Points.
    labels : array-like of shape (n_samples,)
        Segment of each point, at least 2 and at most ``n_samples - 1`` distinct values.
    chunk_size : int, default=256
        Rows whose distances to all rows are held at once: memory is bounded by
        ``chunk_size * n_samples`` floats.

    Returns
    -------
    float
        The mean over the points of :math:`s(i)`, as
        ``sklearn.metrics.silhouette_score(X, labels)`` computes it.

    Notes
    -----
    :math:`s(i) = (b(i) - a(i)) / \\max\\{a(i), b(i)\\}`, with :math:`a(i)` the mean
    distance of point :math:`i` to the other points of its segment and :math:`b(i)` the
    smallest mean distance to the points of another segment; :math:`s(i) = 0` in a
    segment of one point [1]_. The distances of a block of rows to all rows come from one
    matrix product (:math:`|x|^2 + |y|^2 - 2 x \\cdot y`), their sums per segment from a
    second one with the one-hot matrix of the labels: several times faster than
    scikit-learn's loop of one ``bincount`` per row, with the same result.

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
    """
    X = np.asarray(X, dtype=np.float64)
    n = X.shape[0]
    _, codes = np.unique(labels, return_inverse=True)
    k = int(codes.max()) + 1
    onehot = np.zeros((n, k))
    onehot[np.arange(n), codes] = 1.0
    counts = onehot.sum(axis=0)
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
        own_size = counts[own]
        a = sums[rows, own] / np.maximum(own_size - 1.0, 1.0)
        mean_other = sums / counts
        mean_other[rows, own] = np.inf
        b = mean_other.min(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            s = (b - a) / np.maximum(a, b)
        s[(own_size <= 1) | ~np.isfinite(s)] = 0.0
        total += float(s.sum())
    return total / n


def _percentile_rank(population: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Mid-rank percentile of each level in the population: share below plus half the
    share equal."""
    n = population.size
    return np.array([(np.count_nonzero(population < c) + 0.5 * np.count_nonzero(population == c))
                     / n for c in levels])  # a loop over segments


def _segment_names(sizes: np.ndarray, value: tuple | None, frequency: tuple | None,
                   since_last: tuple | None) -> np.ndarray:
    """Name each segment from the percentile ranks of its typical (median) customer's
    value, frequency and time since the last purchase.

    Each descriptor is ``None`` or a pair (median of each segment, population values).
    """
    lo, hi, top = 1.0 / 3.0, 2.0 / 3.0, 0.9
    pairs = {"value": value, "frequency": frequency, "since_last": since_last}
    ranks = {key: _percentile_rank(pair[1], pair[0])
             for key, pair in pairs.items() if pair is not None}

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
