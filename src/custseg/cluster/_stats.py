"""Per-segment statistics of :class:`CustomerSegmenter`: exact counts, sums, medians and
percentile ranks in two passes over blocks of customers, with no sort of the customers.

Two kinds of columns:

* *small integers* ``lo .. lo + R - 1`` (counts, whole periods: frequency, recency and
  age in days or weeks): a histogram per segment (cell ``segment * R + value - lo``)
  gives their sums, medians and ranks exactly; recency and age share one histogram of
  their pairs, which also gives the time since the last purchase ``T - recency``
  exactly, and another column joins a histogram while its table stays small (one
  scatter a block instead of two);
* any other numeric column: medians by a radix selection. A non-decreasing function of
  the value, the top bits of the float ``x + c``, puts each value in one of ``2**12``
  buckets; ``c`` makes the values non-negative and adds a floor ``2**-32`` times their
  range (bounded by the largest value of a sample of the rows: the few values above it
  share the last bucket), so that the buckets cover the 32 octaves below the maximum
  finely (each about 0.5% wide) and all smaller values share the first bucket. One
  scatter of ``x + 1j`` per (segment, bucket) cell accumulates the counts and the sums
  at once; the cumulative counts locate the bucket of each median and its rank there,
  and a second pass keeps only the values of those buckets (typically a few thousand
  rows): for non-negative values by comparing the bits of each value with the range of
  values of those buckets (two operations a row) when that range holds few customers,
  else by looking up each value's bucket. Zeros of a non-negative column are counted but
  not read: they are the smallest values of the first bucket, so a rank there is a
  zero if it is below their count (the sum of the bucket tells whether it holds any
  other value). NaN of the columns read from the table are skipped.

Every result is a function of the multiset of (segment, value) pairs: it does not
depend on the order of the rows (sums up to the rounding of their order).
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

import numpy as np

from ._functions import CHUNK

__all__ = ["SegmentDescription", "describe_segments"]

#: Largest number of cells (segments times value pairs) of the recency-age histogram.
HISTOGRAM_CELLS = 1 << 21
#: Largest number of cells of a histogram that another small-integer column joins (one
#: scatter instead of two while the table stays small: a larger one costs more to
#: scatter into and to sum up than the second scatter).
FUSED_CELLS = 1 << 19
_BINCOUNT_CELLS = 1 << 16  # below: np.bincount per block, above: np.add.at
_ROWS = CHUNK  # rows of a block: its temporaries stay in the processor's cache
_BUCKET_BITS = 12  # buckets per segment of a radix selection: 2**12
_FLOOR = 2.0 ** -32  # relative to the range: the smallest value told apart from zero
_PREFIX = 1 << 19  # most unused leading cells kept to save a subtraction a block
_SMALLEST = float(np.nextafter(0.0, 1.0))


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


def _blocks(n: int):
    return ((a, min(n, a + _ROWS)) for a in range(0, n, _ROWS))


def _workspace(name: str, size: int, dtype, zero_from: int | None = None) -> np.ndarray:
    """A new array of ``size`` elements, zero from ``zero_from`` on if given;
    ``"pairs"`` has imaginary parts 1."""
    out = np.empty(max(size, 1), dtype=np.dtype(dtype))[:size]
    if name == "pairs":
        out.imag = 1.0
    if zero_from is not None:
        out[zero_from:] = 0
    return out


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
    # index of the value of (0-based) rank r: the number of cumulative counts <= r
    lo = np.count_nonzero(cum <= ((counts - 1) // 2)[:, None], axis=1)
    hi = np.count_nonzero(cum <= (counts // 2)[:, None], axis=1)
    present = counts > 0
    medians = np.full(k, np.nan)
    medians[present] = (values[lo[present]] + values[hi[present]]) / 2.0
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
    size = r_a + r_b - 1
    cells = (np.arange(k)[:, None] * size + diff).ravel()
    out = np.bincount(cells, weights=pairs.ravel(), minlength=k * size)
    return (np.rint(out).astype(np.int64).reshape(k, size),
            np.arange(1 - r_b, r_a, dtype=np.float64))


class _CodeHistogram:
    """Counts per segment of the tuples of small-integer columns, accumulated block by
    block: ``codes[i]`` lies in ``los[i] .. los[i] + sizes[i] - 1``."""

    def __init__(self, name: str, k: int, n: int, names: list, codes: list, los: list,
                 sizes: list):
        self.k, self.names, self.codes, self.los, self.sizes = k, names, codes, los, sizes
        self.width = prod(sizes)
        # Horner's scheme ((g * R1 + a) * R2 + b) ... is g * width + a * R2 + b ...:
        # at least ``offset``, the cell of the smallest codes of segment 0
        self.offset = sum(lo * prod(sizes[i + 1:]) for i, lo in enumerate(los))
        size = k * self.width
        self.bincount = size <= _BINCOUNT_CELLS
        # unused leading cells save a subtraction a block, unless they are many (np.add.at
        # never reads them; np.bincount allocates them at each block)
        self.subtract = self.offset > (_PREFIX if not self.bincount else max(size, 1 << 14))
        self.start = 0 if self.subtract else self.offset
        self.dtype = np.int32 if self.offset + size < 1 << 31 else np.int64
        # np.add.at adds to 32-bit counts faster (no count reaches 2**31 below n rows)
        self.one = np.int64(1) if self.bincount or n >= 1 << 31 else np.int32(1)
        # leading cells never read: their content does not matter
        self.counts = _workspace(name, self.start + size, self.one.dtype,
                                 zero_from=0 if self.bincount else self.start)

    def add(self, labels, a: int, b: int, scratch: np.ndarray, cells: np.ndarray):
        m = b - a
        last = len(self.codes) - 1
        c = np.multiply(labels, self.sizes[0], out=scratch[:m] if last else cells[:m],
                        dtype=self.dtype)
        for i, code in enumerate(self.codes):
            if i:
                c *= self.sizes[i]
            if i == last:  # the cells, of the index type the scatters read without copy
                c = np.add(c, code[a:b], out=cells[:m])
            else:
                c += code[a:b]
        if self.subtract:
            c -= self.offset
        if self.bincount:
            self.counts += np.bincount(c, minlength=self.counts.size)
        else:
            np.add.at(self.counts, c, self.one)

    def table(self) -> np.ndarray:
        """The counts, of shape ``(k, *sizes)``."""
        return self.counts[self.start:].reshape(self.k, *self.sizes)

    def marginals(self) -> dict:
        """``name -> (histogram (k, R), values)`` of every column, and ``"__pairs__"``
        the histogram of the first two columns (two sums over the table in all)."""
        out = {}
        table = self.table()
        for i in range(len(self.sizes) - 1, -1, -1):  # the last column, then the others
            if i == 1:
                out["__pairs__"] = table
            size = self.sizes[i]
            # sums in the counts' type: no count exceeds the number of rows
            hist = table.reshape(self.k, -1, size).sum(axis=1, dtype=table.dtype) if i \
                else table
            out[self.names[i]] = (hist.astype(np.int64, copy=False),
                                  self.los[i] + np.arange(size, dtype=np.float64))
            if i:
                table = table.reshape(self.k, -1, size).sum(axis=2, dtype=table.dtype)
                table = table.reshape(self.k, *self.sizes[:i])
        return out


# ------------------------------------------------------------ any numeric column
def _bits(x) -> int:
    return int(np.asarray(x, dtype=np.float64).view(np.uint64))


class _RadixColumn:
    """Counts, sums and the bucket histogram of one numeric column, accumulated block by
    block, then its medians (and their percentile ranks) from a second pass.

    A value ``x`` (``x >= lo``; NaN are dropped) falls in the bucket
    ``((bits(x + c) - k0) >> shift) - base``, ``0 .. 2**12 - 1`` (the last one for all
    values above ``hi`` when ``clamp``, else ``x <= hi``), a non-decreasing function of
    ``x`` (``bits`` the float's bits as an unsigned integer, increasing
    with the non-negative float ``x + c``); the cell of the bucket and of segment ``g``
    is ``base + g * 2**12 + bucket``, with ``base`` leading cells never used where that
    saves the subtraction of ``k0``.
    """

    def __init__(self, name: str, k: int, lo: float, hi: float, finite: bool,
                 ranks: bool, clamp: bool = False):
        self.k, self.finite, self.want_ranks, self.clamp = k, finite, ranks, clamp
        self.skip_zeros = lo == 0  # zeros are the smallest values: never read again
        self.nonnegative = lo >= 0
        positive = -lo if lo < 0 else 0.0
        floor = max((hi + positive) * _FLOOR, np.finfo(np.float64).tiny)
        self.c = np.float64(positive + floor)
        k_lo, k_hi = _bits(np.float64(lo) + self.c), _bits(np.float64(hi) + self.c)
        shift = max(0, (k_hi - k_lo).bit_length() - _BUCKET_BITS)
        while (k_hi >> shift) - (k_lo >> shift) >= 1 << _BUCKET_BITS:  # once at most
            shift += 1
        base = k_lo >> shift
        self.k0 = base << shift if base > _PREFIX // 2 else 0
        self.base = 0 if self.k0 else base  # leading cells never used
        self.shift = np.uint64(shift)
        self.nb = 1 << _BUCKET_BITS
        self.hist = _workspace(name, self.base + k * self.nb, np.complex128,
                               zero_from=self.base)  # leading cells never read

    def _top(self, x: np.ndarray, scratch: np.ndarray) -> np.ndarray:
        """``base + bucket`` of the (not NaN) values, as unsigned integers in
        ``scratch``."""
        t = np.add(x, self.c, out=scratch[:x.shape[0]]).view(np.uint64)
        if self.k0:
            t -= np.uint64(self.k0)
        t >>= self.shift
        last = np.uint64(self.base + self.nb - 1)
        if self.clamp and t.size and t.max() > last:  # values above ``hi``, an estimate:
            np.minimum(t, last, out=t)  # in the last bucket (a test costs less)
        return t

    def _drop_nan(self, x, labels):
        if not self.finite:
            keep = ~np.isnan(x)
            if not keep.all():
                return x[keep], labels[keep]
        return x, labels

    def add(self, x, labels, scratch32: np.ndarray, cells: np.ndarray, pairs: np.ndarray):
        x, labels = self._drop_nan(x, labels)
        m = x.shape[0]
        cell = self._top(x, cells.view(np.float64)).view(np.intp)
        cell += np.multiply(labels, self.nb, out=scratch32[:m], dtype=np.int32)
        w = pairs[:m]
        np.copyto(w.real, x)  # the imaginary parts are ones: counts and sums at once
        np.add.at(self.hist, cell, w)

    def plan(self):
        """Counts and sums per segment, and the buckets to read again."""
        k, nb = self.k, self.nb
        region = self.hist[self.base:].reshape(k, nb)
        self.cells = region.imag.astype(np.int64)  # whole numbers, exact below 2**53
        self.counts = self.cells.sum(axis=1)
        self.sums = region.real.sum(axis=1)
        # the middle ranks of each segment and their buckets, from the cumulative counts
        # of all segments one after the other (increasing)
        cum = np.cumsum(self.cells.ravel()).reshape(k, nb)
        start = cum[:, -1] - self.counts  # customers of the segments before
        present = np.flatnonzero(self.counts)
        ranks = np.stack([(self.counts[present] - 1) // 2, self.counts[present] // 2])
        flat = np.searchsorted(cum.ravel(), ranks + start[present], side="right")
        buckets = flat - present * nb
        below = np.where(buckets > 0, cum.ravel()[flat - 1] - start[present], 0)
        self.targets = (present, ranks, buckets, below)
        # every segment's values of these buckets are read: the rank of a median counts
        # them; with ranks, those of the buckets from the lower to the upper middle value
        # too (the median, their average, lies in one of them)
        want = np.zeros(nb, dtype=bool)
        for first, last in buckets.T.tolist():  # a loop over segments
            want[first:last + 1 if self.want_ranks else first + 1] = True
            want[last] = True
        # the first bucket of a column whose smallest value is zero holds the zeros and
        # the values below the floor: their sum tells whether there are any of the latter
        if self.skip_zeros and want[0] and not np.any(region.real[:, 0]):
            want[0] = False  # zeros only: counted, not read
        self.read_zero_bucket = self.skip_zeros and bool(want[0])
        # indexed by base + bucket; the last entry (beyond every value) is never wanted
        self.want = np.zeros(self.base + nb + 1, dtype=bool)
        self.want[self.base:self.base + nb] = want
        self.read_values, self.read_labels = [], []
        wanted = np.flatnonzero(want)
        self.idle = wanted.size == 0
        # non-negative values: when the wanted buckets lie in a range of values that
        # holds few of them, pass 2 compares the bits of the values with that range
        # (two operations a row; zeros excluded) and the bucket function runs on the
        # rows inside only
        self.range = None
        if self.nonnegative and wanted.size:
            first, last = int(wanted[0]), int(wanted[-1])
            if self.cells[:, first:last + 1].sum() <= self.counts.sum() // 4:
                low = _SMALLEST
                if first:
                    edge = self._edge(first)
                    low = max(edge - self.c - 8 * np.spacing(edge), _SMALLEST)
                high = self._edge(last + 1) if last + 1 < nb or not self.clamp else np.inf
                high = high - self.c + 8 * np.spacing(high)
                high = high if high < np.inf else np.inf
                self.range = (np.uint64(_bits(low)), np.uint64(_bits(high) - _bits(low)))

    def _edge(self, bucket: int) -> float:
        """The least ``x + c`` of a bucket (infinity beyond the finite floats)."""
        bits = self.k0 + ((self.base + bucket) << int(self.shift))
        return float(np.uint64(bits).view(np.float64)) if bits < _bits(np.inf) else np.inf

    def read(self, x, labels, scratch: np.ndarray):
        """Keep the values (and segments) of the rows that may be in the wanted buckets,
        zeros excepted where skipped."""
        if self.idle:
            return
        x, labels = self._drop_nan(x, labels)
        if self.range is not None:
            low, span = self.range
            d = np.subtract(x.view(np.uint64), low, out=scratch[:x.shape[0]].view(np.uint64))
            rows = np.flatnonzero(np.less_equal(d, span))
        else:
            top = self._top(x, scratch)
            wanted = np.take(self.want, top.view(np.intp), mode="clip")
            if self.read_zero_bucket:
                wanted &= x != 0
            rows = np.flatnonzero(wanted)
        if rows.size:
            self.read_values.append(np.take(x, rows))
            self.read_labels.append(np.take(labels, rows))

    def finish(self):
        """``(counts, sums, medians, ranks or None)``."""
        k, nb = self.k, self.nb
        values = np.concatenate([np.zeros(0), *self.read_values])
        labels = np.concatenate([np.zeros(0, dtype=np.intp), *self.read_labels])
        top = self._top(values, np.empty(values.size)).view(np.intp)
        rows = np.flatnonzero(np.take(self.want, top, mode="clip"))  # wanted buckets
        values = np.take(values, rows)
        cells = np.take(labels, rows).astype(np.intp) * nb + (np.take(top, rows) - self.base)
        present, ranks, bucket, below = self.targets
        middle = np.zeros(bucket.shape)  # the two middle values of each segment
        for i, g in enumerate(present.tolist()):  # a loop over segments
            shared = bucket[0, i] == bucket[1, i]
            for j in (0,) if shared else (0, 1):
                b = bucket[j, i]
                inside = values[cells == g * nb + b]  # the values read of the cell
                zeros = self.cells[g, b] - inside.size  # 0 but in the zero bucket
                which = slice(0, 2) if shared else slice(j, j + 1)
                rank = ranks[which, i] - below[j, i] - zeros  # among the values read
                if inside.size:  # else zeros only
                    kth = np.partition(inside, np.maximum(rank, 0))[np.maximum(rank, 0)]
                    middle[which, i] = np.where(rank >= 0, kth, 0.0)
        medians = np.full(k, np.nan)
        with np.errstate(over="ignore"):  # as numpy's median: infinity
            medians[present] = (middle[0] + middle[1]) / 2.0
        if not self.want_ranks:
            return self.counts, self.sums, medians, None

        # sorted, the values are sorted by bucket too (a non-decreasing function)
        values = np.sort(values)
        buckets = self._top(values, np.empty(values.size)).view(np.intp) - self.base
        population = self.cells.sum(axis=0)
        below = np.concatenate(([0], np.cumsum(population)))
        levels = medians[present]
        level_bucket = self._top(levels, np.empty(levels.size)).view(np.intp) - self.base
        inside = level_bucket < nb  # else beyond every value (an infinite average)
        level_bucket = np.minimum(level_bucket, nb - 1)
        first = np.searchsorted(buckets, level_bucket, side="left")
        zeros = population[level_bucket] - (
            np.searchsorted(buckets, level_bucket, side="right") - first)
        less = np.searchsorted(values, levels, side="left") - first
        equal = np.searchsorted(values, levels, side="right") - first - less
        less = less + np.where(levels > 0, zeros, 0)
        equal = equal + np.where(levels == 0, zeros, 0)
        ranks = np.full(k, np.nan)
        ranks[present] = np.where(inside, (below[level_bucket] + less + 0.5 * equal)
                                  / below[-1], 1.0)
        return self.counts, self.sums, medians, ranks


# ------------------------------------------------------------------ description
def _bounds(x: np.ndarray) -> tuple[float, float]:
    """Smallest and largest value, NaN skipped (``0, 0`` without any)."""
    lo, hi = (float(np.fmin.reduce(x)), float(np.fmax.reduce(x))) if x.size else (0, 0)
    return (0.0, 0.0) if np.isnan(lo) else (lo, hi)


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
        with ``codes`` the values themselves as small integers ``0 .. R-1`` (any integer
        type) when they are, else ``None``.
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
    data = {}  # name -> (values, finite, minimum or None, codes or None, lowest, size)

    def source(col):
        if col not in data:
            if col in arrays:
                x, lo, code = arrays[col]
                first, size = 0, 0
                if code is not None and code.size:  # the codes are the values
                    first, size = int(lo), int(code.max()) + 1
                data[col] = (x, True, lo, code if size else None, first, size - first)
            else:
                data[col] = (read_column(col), False, None, None, 0, 0)
        return data[col]

    for col in columns:
        source(col)
    gap = recency in data and age in data
    if gap:
        source(recency), source(age)
    coded = [c for c in data if data[c][3] is not None and c in columns]
    groups = []  # the columns of each histogram, recency and age first
    joint = (gap and data[recency][3] is not None and data[age][3] is not None
             and k * data[recency][5] * data[age][5] <= HISTOGRAM_CELLS)
    if joint:
        groups.append([age, recency])
    for col in coded:
        if joint and col in (recency, age):
            continue
        for group in groups:
            if k * prod(data[c][5] for c in group) * data[col][5] <= FUSED_CELLS:
                group.append(col)
                break
        else:
            groups.append([col])
    hists = [_CodeHistogram(f"histogram {i}", k, n, group, [data[c][3] for c in group],
                            [data[c][4] for c in group], [data[c][5] for c in group])
             for i, group in enumerate(groups)]

    wanted = {d for d in descriptors.values() if d is not None}
    radix = {}
    for col, (x, finite, lo, code, _, _) in data.items():
        if col in columns and code is None:
            if finite:  # the largest of a sample: the few values above share a bucket
                hi = max(float(x[::max(1, x.size >> 14)].max()), float(x[-1])) if x.size \
                    else lo
                bounds = (lo, hi)
            else:
                bounds = _bounds(x)
            radix[col] = _RadixColumn(f"radix {len(radix)}", k, *bounds, finite,
                                      col in wanted, clamp=finite)
    if gap and not joint:
        finite = data[recency][1] and data[age][1]
        lo, hi = np.inf, -np.inf
        for a, b in _blocks(n):
            gap_lo, gap_hi = _bounds(data[age][0][a:b] - data[recency][0][a:b])
            lo, hi = min(lo, gap_lo), max(hi, gap_hi)
        radix["__since_last__"] = _RadixColumn(
            f"radix {len(radix)}", k, *((lo, hi) if n else (0.0, 0.0)), finite, True)

    def values(col):  # the values of a block of rows of a column
        if col == "__since_last__":
            return lambda a, b: data[age][0][a:b] - data[recency][0][a:b]
        column = data[col][0]
        return lambda a, b: column[a:b]

    rows = min(n, _ROWS)
    wide = any(hist.dtype == np.int64 for hist in hists)
    scratch = _workspace("scratch", rows, np.int64 if wide else np.int32)
    cells = _workspace("cells", rows, np.intp)
    pairs = _workspace("pairs", rows if radix else 0, np.complex128)
    counting = [(hist.add, scratch.view(hist.dtype)) for hist in hists]
    selecting = [(acc, values(col)) for col, acc in radix.items()]
    small, floats = scratch.view(np.int32), cells.view(np.float64)
    with np.errstate(over="ignore", invalid="ignore"):  # sums beyond the largest float
        for a, b in _blocks(n):  # pass 1: histograms, counts and sums
            lab = labels[a:b]
            for add, buffer in counting:
                add(lab, a, b, buffer, cells)
            for acc, block in selecting:
                acc.add(block(a, b), lab, small, cells, pairs)
        for acc in radix.values():
            acc.plan()
    if any(not acc.idle for acc in radix.values()):
        for a, b in _blocks(n):  # pass 2: the values of the median buckets
            lab = labels[a:b]
            for acc, block in selecting:
                acc.read(block(a, b), lab, floats)

    tables = [hist.marginals() for hist in hists]
    if hists:
        sizes = tables[0][hists[0].names[0]][0].sum(axis=1)
    else:
        finite = [acc for c, acc in radix.items() if data.get(c, (0, False))[1]]
        sizes = finite[0].counts if finite else np.bincount(labels, minlength=k)
    sizes = np.asarray(sizes, dtype=np.int64)

    stats, ranks = {}, {}
    marginals = {c: m for table in tables for c, m in table.items()}
    for col in columns:
        want_rank = [key for key, d in descriptors.items() if d == col]
        if col in radix:
            counts, sums, medians, rank = radix[col].finish()
        else:
            hist, levels = marginals[col]
            counts, sums, medians = histogram_stats(hist, levels)
            rank = histogram_ranks(hist.sum(axis=0), medians, levels) if want_rank \
                else None
        stats[col] = (counts, sums, medians)
        for key in want_rank:
            ranks[key] = rank
    if joint:
        group = hists[0]
        hist, diffs = difference_histogram(tables[0]["__pairs__"])
        diffs += group.los[0] - group.los[1]
        medians = histogram_stats(hist, diffs)[2]
        ranks["since_last"] = histogram_ranks(hist.sum(axis=0), medians, diffs)
    elif gap:
        ranks["since_last"] = radix["__since_last__"].finish()[3]
    return SegmentDescription(sizes, stats, ranks)
