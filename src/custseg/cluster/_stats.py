"""Per-segment statistics of :class:`CustomerSegmenter`: exact counts, sums, medians and
percentile ranks in two passes over blocks of customers, with no sort of the customers.

Two kinds of columns:

* *small integers* ``0 .. R-1`` (counts, whole periods: frequency, recency and age in
  days or weeks): a histogram of the values per segment (``segment * R + value``) gives
  sums, medians and ranks exactly; recency and age share one histogram of their pairs,
  which also gives the time since the last purchase ``T - recency`` exactly;
* any other numeric column: sums per segment, and medians by a radix selection on the
  bits of the values. A histogram of the top 16 bits of an order-preserving key of the
  values, per segment, locates the bucket that holds each median and its rank there;
  a second pass reads only the values of those buckets (a few percent of the rows,
  unless one value fills a bucket, which then is the answer).

Every result is a function of the multiset of (segment, value) pairs: it does not
depend on the order of the rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._functions import CHUNK, _blocks

__all__ = ["SegmentDescription", "describe_segments"]

#: Largest number of cells (segments times value pairs) of the recency-age histogram.
HISTOGRAM_CELLS = 1 << 21
_TOP = 16  # bits of the radix buckets
_SIGN = np.uint64(1 << 63)


@dataclass
class SegmentDescription:
    """Per-segment statistics of the columns of a customer table.

    ``sizes`` are the numbers of customers of the segments, ``stats[column]`` is
    ``(counts, sums, medians)`` per segment (NaN skipped);
    ``ranks[descriptor]`` the mid-rank percentile among all customers of each segment's
    median, for the descriptors ``"value"``, ``"frequency"`` and ``"since_last"`` (time
    since the last purchase, ``T - recency``) whose columns the table has.
    """

    sizes: np.ndarray
    stats: dict
    ranks: dict


# --------------------------------------------------------------- integer histograms
def histogram_stats(hist: np.ndarray, values: np.ndarray | None = None):
    """Counts, sums and medians per row of a histogram ``hist[g, v]`` of the values
    ``values[v]`` (default ``0, 1, ...``, increasing); the median of an empty row is
    NaN."""
    k, size = hist.shape
    values = np.arange(size, dtype=np.float64) if values is None else values
    counts = hist.sum(axis=1)
    sums = hist @ values
    cum = np.cumsum(hist, axis=1)
    medians = np.full(k, np.nan)
    for g in np.flatnonzero(counts):  # a loop over segments
        lo = np.searchsorted(cum[g], (counts[g] - 1) // 2, side="right")
        hi = np.searchsorted(cum[g], counts[g] // 2, side="right")
        medians[g] = (values[lo] + values[hi]) / 2.0
    return counts, sums, medians


def histogram_ranks(population: np.ndarray, levels: np.ndarray,
                    values: np.ndarray | None = None) -> np.ndarray:
    """Mid-rank percentile of each level in a population given by its histogram over
    increasing ``values``: share below plus half the share equal."""
    values = np.arange(population.size, dtype=np.float64) if values is None else values
    cum = np.concatenate(([0], np.cumsum(population)))
    below = cum[np.searchsorted(values, levels, side="left")]
    upto = cum[np.searchsorted(values, levels, side="right")]
    return (below + 0.5 * (upto - below)) / cum[-1]


def difference_histogram(pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Histogram per segment of ``a - b`` from that of the pairs ``pairs[g, a, b]``,
    and the (increasing) differences it counts."""
    k, r_a, r_b = pairs.shape
    diff = (np.arange(r_a)[:, None] - np.arange(r_b)[None, :]).ravel() + (r_b - 1)
    out = np.zeros((k, r_a + r_b - 1), dtype=np.int64)
    flat = pairs.reshape(k, -1)
    for g in range(k):  # a loop over segments
        out[g] = np.bincount(diff, weights=flat[g], minlength=out.shape[1])
    return out, np.arange(1 - r_b, r_a, dtype=np.float64)


# ------------------------------------------------------------ any numeric column
def order_key(x: np.ndarray, nonnegative: bool) -> np.ndarray:
    """Unsigned integers in the order of the (finite) floats ``x``, with ``-0.0`` and
    ``0.0`` sharing a key."""
    bits = x.view(np.uint64)
    if nonnegative:
        return bits & ~_SIGN
    key = bits | _SIGN
    np.invert(bits, out=key, where=(bits & _SIGN).astype(bool))
    key[x == 0.0] = _SIGN
    return key


def from_key(key: np.ndarray, nonnegative: bool) -> np.ndarray:
    """The floats of :func:`order_key`."""
    key = np.asarray(key, dtype=np.uint64)
    if nonnegative:
        return key.view(np.float64)
    return np.where(key & _SIGN, key & ~_SIGN, ~key).view(np.float64)


class _RadixColumn:
    """Sums, counts and the radix histogram of one numeric column, accumulated block by
    block, then its medians (and their percentile ranks) from a second pass.

    Zeros, often a large part of a column (the spend of customers without a repeat
    purchase), are counted but never read again: they are the smallest values of their
    bucket, so a rank there is a zero if it is below their count.
    """

    def __init__(self, k: int, nonnegative: bool, finite: bool, ranks: bool):
        self.k, self.nonnegative, self.finite, self.want_ranks = k, nonnegative, finite, ranks
        self.counts = np.zeros(k, dtype=np.int64)
        self.sums = np.zeros(k)
        self.hist = np.zeros(k << _TOP, dtype=np.int64)
        self.zero = order_key(np.zeros(1), nonnegative)[0]
        self._key = np.empty(CHUNK, dtype=np.uint64)
        self._top = np.empty(CHUNK, dtype=np.uint64)
        self._cell = np.empty(CHUNK, dtype=np.intp)

    def _cells(self, x, labels):
        """The values (NaN dropped), their segments, keys and (segment, bucket) cells,
        the last two in buffers reused block after block."""
        if not self.finite:
            keep = ~np.isnan(x)
            x, labels = x[keep], labels[keep]
        m = x.shape[0]
        if self.nonnegative:
            key = np.bitwise_and(x.view(np.uint64), ~_SIGN, out=self._key[:m])
        else:
            key = self._key[:m]
            key[...] = order_key(x, False)
        top = np.right_shift(key, np.uint64(64 - _TOP), out=self._top[:m])
        cell = np.left_shift(labels, _TOP, out=self._cell[:m])
        cell |= top.view(np.intp)  # below 2**16: the same value
        return x, labels, key, cell

    def add(self, x, labels, count: bool):
        x, labels, _, cell = self._cells(x, labels)
        if count:
            self.counts += np.bincount(labels, minlength=self.k)
        self.sums += np.bincount(labels, weights=x, minlength=self.k)
        np.add.at(self.hist, cell, 1)

    def plan(self, sizes=None):
        """The buckets to read again, from the histogram."""
        if sizes is not None:
            self.counts = np.asarray(sizes, dtype=np.int64)
        self.cum = np.cumsum(self.hist.reshape(self.k, -1), axis=1)
        self.targets = []
        self.want = np.zeros(1 << _TOP, dtype=bool)
        for g in np.flatnonzero(self.counts):  # a loop over segments
            lo, hi = (self.counts[g] - 1) // 2, self.counts[g] // 2
            b_lo = int(np.searchsorted(self.cum[g], lo, side="right"))
            b_hi = int(np.searchsorted(self.cum[g], hi, side="right"))
            self.targets.append((g, lo, b_lo, hi, b_hi))
            # every segment's values of these buckets are read: the rank of a median
            # counts them; with ranks, those of the buckets from the lower to the upper
            # middle value too (the median, their average, lies in one of them)
            self.want[b_lo:b_hi + 1 if self.want_ranks else b_lo + 1] = True
            self.want[b_hi] = True
        self.read_cells, self.read_keys = [], []

    def read(self, x, labels):
        """Keep the non-zero values of the wanted buckets (``labels`` may be any integer
        type)."""
        if not self.finite:
            keep = ~np.isnan(x)
            x, labels = x[keep], labels[keep]
        m = x.shape[0]
        key = order_key(x, self.nonnegative) if not self.nonnegative else \
            np.bitwise_and(x.view(np.uint64), ~_SIGN, out=self._key[:m])
        top = np.right_shift(key, np.uint64(64 - _TOP), out=self._top[:m])
        wanted = self.want[top.view(np.intp)]
        wanted &= key != self.zero
        rows = np.flatnonzero(wanted)
        cell = np.take(labels, rows).astype(np.intp) << _TOP
        cell |= np.take(top, rows).view(np.intp)
        self.read_cells.append(cell)
        self.read_keys.append(np.take(key, rows))

    def finish(self):
        """``(counts, sums, medians, ranks or None)``."""
        cells = np.concatenate(self.read_cells)
        order = np.argsort(cells, kind="stable")
        cells, keys = cells[order], np.concatenate(self.read_keys)[order]
        hist = self.hist.reshape(self.k, -1)

        def cell_keys(cell):  # sorted-by-cell slice: the non-zero keys of a cell
            return keys[np.searchsorted(cells, cell):np.searchsorted(cells, cell, "right")]

        def kth(inside, zeros, rank):  # the rank-th smallest of zeros and ``inside``
            if rank < zeros:
                return self.zero
            rank -= zeros
            if inside.min() != inside.max():  # else one value fills the rest
                inside = np.partition(inside, rank)
            return inside[rank]

        medians = np.full(self.k, np.nan)
        for g, lo, b_lo, hi, b_hi in self.targets:  # a loop over segments
            pair = []
            for rank, b in ((lo, b_lo), (hi, b_hi)):
                inside = cell_keys((g << _TOP) + b)
                below = self.cum[g, b - 1] if b > 0 else 0
                zeros = hist[g, b] - inside.size  # 0 outside the zero bucket
                pair.append(kth(inside, zeros, rank - below))
            values = from_key(np.asarray(pair, dtype=np.uint64), self.nonnegative)
            medians[g] = (values[0] + values[1]) / 2.0
        ranks = None
        if self.want_ranks:
            population = hist.sum(axis=0)
            below_bucket = np.concatenate(([0], np.cumsum(population)))
            ranks = np.full(self.k, np.nan)
            for g in np.flatnonzero(self.counts):  # a loop over segments
                level = medians[g]
                b = int(order_key(np.array([level]), self.nonnegative)[0]
                        >> np.uint64(64 - _TOP))
                inside = from_key(np.concatenate(  # the bucket, read for every segment
                    [cell_keys((h << _TOP) + b) for h in range(self.k)]), self.nonnegative)
                zeros = population[b] - inside.size
                less = np.count_nonzero(inside < level) + (zeros if level > 0 else 0)
                equal = np.count_nonzero(inside == level) + (zeros if level == 0 else 0)
                ranks[g] = (below_bucket[b] + less + 0.5 * equal) / below_bucket[-1]
        return self.counts, self.sums, medians, ranks


# ------------------------------------------------------------------ description
def describe_segments(labels: np.ndarray, k: int, columns: list, arrays: dict,
                      read_column, *, descriptors: dict,
                      recency: str = "recency", age: str = "T") -> SegmentDescription:
    """Counts, sums and medians per segment of ``columns``, and the percentile ranks of
    the medians of the descriptors and of the time since the last purchase.

    Parameters
    ----------
    labels : ndarray of int, shape (n,)
        Segment of each customer, in ``0 .. k-1``.
    k : int
        Number of segments.
    columns : list of str
        Columns to describe, in order.
    arrays : dict
        Already validated columns: ``name -> (finite float64 values, minimum, codes)``,
        with ``codes`` the values as small integers ``0 .. R-1`` (any integer type) when
        they are, else ``None``.
    read_column : callable
        ``name -> float64 values`` (NaN allowed) of any other column of the table.
    descriptors : dict
        ``{"value": column or None, "frequency": column or None}``: the columns whose
        medians' ranks are wanted (when they are described).
    recency, age : str
        Columns whose difference ``age - recency`` is the time since the last purchase
        (its medians' ranks are ``ranks["since_last"]`` when both columns exist).
    """
    n = labels.shape[0]
    data = {}  # name -> (values, finite, nonnegative, codes or None, R)

    def source(col):
        if col not in data:
            if col in arrays:
                x, lo, code = arrays[col]
                size = int(code.max()) + 1 if code is not None and code.size else 0
                data[col] = (x, True, lo >= 0, code if size else None, size)
            else:
                data[col] = (read_column(col), False, False, None, 0)
        return data[col]

    for col in columns:
        source(col)
    gap = recency in data and age in data
    if gap:
        source(recency), source(age)
    r_rec, r_age = (data[recency][4], data[age][4]) if gap else (0, 0)
    joint = None
    if r_rec and r_age and k * r_rec * r_age <= HISTOGRAM_CELLS:
        joint = np.zeros(k * r_rec * r_age, dtype=np.int64)
    hists = {c: np.zeros(k * d[4], dtype=np.int64) for c, d in data.items()
             if d[4] and c in columns and not (joint is not None and c in (recency, age))}
    wanted = {d for d in descriptors.values() if d is not None}
    radix = {c: _RadixColumn(k, d[2], d[1], c in wanted) for c, d in data.items()
             if c in columns and not d[4]}
    if gap and joint is None:
        radix["__since_last__"] = _RadixColumn(
            k, False, data[recency][1] and data[age][1], True)

    def values(col, a, b):
        if col == "__since_last__":
            return data[age][0][a:b] - data[recency][0][a:b]
        return data[col][0][a:b]

    lab = np.empty(CHUNK, dtype=np.intp)
    cell = np.empty(CHUNK, dtype=np.intp)
    sizes = np.zeros(k, dtype=np.int64)
    count = joint is None and not hists  # else the sizes follow from a histogram
    for a, b in _blocks(n):  # pass 1: histograms and sums
        m = b - a
        g = lab[:m]
        np.copyto(g, labels[a:b], casting="unsafe")
        if count:
            sizes += np.bincount(g, minlength=k)
        for col, hist in hists.items():
            c = np.multiply(g, data[col][4], out=cell[:m])
            c += data[col][3][a:b]
            hist += np.bincount(c, minlength=hist.size)
        if joint is not None:
            c = np.multiply(g, r_age, out=cell[:m])
            c += data[age][3][a:b]
            c *= r_rec
            c += data[recency][3][a:b]
            np.add.at(joint, c, 1)
        for col, acc in radix.items():
            acc.add(values(col, a, b), g, count=not acc.finite)
    if not count:
        first = joint if joint is not None else next(iter(hists.values()))
        sizes = first.reshape(k, -1).sum(axis=1)
    for acc in radix.values():
        acc.plan(sizes if acc.finite else None)
    if radix:
        for a, b in _blocks(n):  # pass 2: the values of the median buckets
            for col, acc in radix.items():
                acc.read(values(col, a, b), labels[a:b])

    stats, ranks = {}, {}
    pairs = None
    if joint is not None:
        pairs = joint.reshape(k, r_age, r_rec)
    for col in columns:
        want_rank = [key for key, d in descriptors.items() if d == col]
        if col in radix:
            counts, sums, medians, rank = radix[col].finish()
        else:
            if pairs is not None and col in (recency, age):
                hist = pairs.sum(axis=2 if col == age else 1)
            else:
                hist = hists[col].reshape(k, -1)
            counts, sums, medians = histogram_stats(hist)
            rank = histogram_ranks(hist.sum(axis=0), medians) if want_rank else None
        stats[col] = (counts, sums, medians)
        for key in want_rank:
            ranks[key] = rank
    if pairs is not None:
        hist, diffs = difference_histogram(pairs)
        medians = histogram_stats(hist, diffs)[2]
        ranks["since_last"] = histogram_ranks(hist.sum(axis=0), medians, diffs)
    elif gap:
        ranks["since_last"] = radix["__since_last__"].finish()[3]
    return SegmentDescription(sizes, stats, ranks)
