"""Plots of custseg.report: what is drawn is checked against the numbers it comes from."""

import sys

import matplotlib
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402

from custseg.exceptions import InvalidDataError, InvalidParameterError  # noqa: E402
from custseg.report import _plots  # noqa: E402
from custseg.report._plots import (  # noqa: E402
    plot_calibration_purchases_vs_holdout_purchases,
    plot_frequency_recency_matrix,
    plot_migration,
    plot_period_transactions,
    plot_probability_alive_matrix,
    plot_segments,
    plot_tier_sizes,
    plot_value_matrix,
)


# ---------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def bgnbd(cdnow_summary):
    from custseg.models import BetaGeo

    return BetaGeo(time_unit="W").fit(cdnow_summary)


@pytest.fixture(scope="module")
def split(cdnow_transactions):
    from custseg.features import calibration_holdout_split

    return calibration_holdout_split(cdnow_transactions, "customer_id", "date",
                                     "1997-09-30", "1998-06-30", freq="W")


@pytest.fixture(scope="module")
def cal_model(split):
    from custseg.models import BetaGeo
    from custseg.models._diagnostics import calibration_table

    return BetaGeo().fit(calibration_table(split, monetary=False))


@pytest.fixture(scope="module")
def tiers(cdnow_summary):
    """Value tiers of the CDNOW customers as an ordered categorical Series."""
    from custseg.tiers import ValueTiers

    tierer = ValueTiers(column="monetary_value").fit(cdnow_summary)
    labels = tierer.predict(cdnow_summary)
    return pd.Series(pd.Categorical(labels, categories=tierer.classes_, ordered=True),
                     index=cdnow_summary.index, name="value_tier")


@pytest.fixture(scope="module")
def segments(cdnow_summary):
    from custseg.cluster import CustomerSegmenter

    seg = CustomerSegmenter(n_segments=3, random_state=0).fit(cdnow_summary)
    names = [str(n) for n in seg.segment_names_]
    return pd.Series(pd.Categorical.from_codes(seg.labels_, categories=names),
                     index=cdnow_summary.index, name="segment")


def _colorbar_labels(ax):
    return [other.get_ylabel() for other in ax.get_figure().axes if other is not ax]


# ---------------------------------------------------------------------- model matrices
def test_frequency_recency_matrix_draws_the_model_matrix(bgnbd, cdnow_summary):
    ax = plot_frequency_recency_matrix(bgnbd, T=4)
    expected = bgnbd.expected_purchases_matrix(t=4)
    (image,) = ax.images
    oldest = int(np.ceil(cdnow_summary["T"].max()))
    grid = (oldest + 1, int(cdnow_summary["frequency"].max()) + 1)
    assert image.get_array().shape == expected.shape == grid
    np.testing.assert_allclose(image.get_array(), expected.to_numpy())
    n_rec, n_freq = expected.shape
    assert image.get_extent() == [-0.5, n_freq - 0.5, -0.5, n_rec - 0.5]
    assert ax.get_title().startswith("Expected purchases in the next 4 weeks")
    assert f"aged {oldest} weeks" in ax.get_title()
    assert ax.get_xlabel() == "Frequency (repeat purchases)"
    assert ax.get_ylabel() == "Recency (age at last purchase, weeks)"
    assert _colorbar_labels(ax) == ["Expected purchases"]


def test_frequency_recency_matrix_defaults_to_the_horizon_and_takes_a_grid(cdnow_summary):
    from custseg.models import BetaGeo

    model = BetaGeo(horizon=10).fit(cdnow_summary)
    ax = plot_frequency_recency_matrix(model, max_frequency=5, max_recency=10, age=20,
                                       cmap="magma")
    expected = model.expected_purchases_matrix(t=10, max_frequency=5, max_recency=10, T=20)
    (image,) = ax.images
    assert image.get_array().shape == (11, 6)
    np.testing.assert_allclose(image.get_array(), expected.to_numpy())
    assert image.get_cmap().name == "magma"
    assert "next 10 periods" in ax.get_title() and "aged 20 periods" in ax.get_title()


def test_probability_alive_matrix(bgnbd):
    ax = plot_probability_alive_matrix(bgnbd, max_frequency=10)
    expected = bgnbd.probability_alive_matrix(max_frequency=10)
    (image,) = ax.images
    assert image.get_array().shape == expected.shape == (40, 11)
    np.testing.assert_allclose(image.get_array(), expected.to_numpy())
    assert image.get_clim() == (0.0, 1.0)
    assert ax.get_title().startswith("Probability of being alive")
    assert "Frequency" in ax.get_xlabel() and "Recency" in ax.get_ylabel()
    assert _colorbar_labels(ax) == ["P(alive)"]


def test_a_bad_grid_is_refused(bgnbd):
    from custseg.exceptions import InvalidParameterError as ParamError

    with pytest.raises(ParamError, match="must not exceed T"):
        plot_probability_alive_matrix(bgnbd, max_recency=30, age=10)


# ---------------------------------------------------------------------- fit checks
def test_calibration_vs_holdout_lines_are_the_diagnostic_table(cal_model, split):
    from custseg.models._diagnostics import expected_vs_actual_by_frequency

    ax = plot_calibration_purchases_vs_holdout_purchases(cal_model, split)
    table = expected_vs_actual_by_frequency(cal_model, split, max_frequency=7)
    actual, model = ax.lines
    assert actual.get_label() == "Actual" and model.get_label() == "Model"
    np.testing.assert_allclose(actual.get_ydata(), table["actual"].to_numpy())
    np.testing.assert_allclose(model.get_ydata(), table["predicted"].to_numpy())
    np.testing.assert_array_equal(actual.get_xdata(), np.arange(8))
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "0", "1", "2", "3", "4", "5", "6", "7+"]
    assert ax.get_ylim()[0] == 0
    assert ax.get_xlabel() == "Purchases in the calibration period"
    assert ax.get_ylabel() == "Mean purchases in the holdout period"
    assert "holdout" in ax.get_title()


def test_calibration_vs_holdout_max_frequency(cal_model, split):
    ax = plot_calibration_purchases_vs_holdout_purchases(cal_model, split, max_frequency=4)
    assert [len(line.get_xdata()) for line in ax.lines] == [5, 5]
    assert ax.get_xticklabels()[-1].get_text() == "4+"


def test_period_transactions_bars_are_the_counts(bgnbd, cdnow_summary):
    from custseg.models._diagnostics import simulated_vs_actual_repeat_counts

    ax = plot_period_transactions(bgnbd, cdnow_summary, max_frequency=7, random_state=3)
    counts = simulated_vs_actual_repeat_counts(bgnbd, cdnow_summary, max_frequency=7,
                                               random_state=3)
    assert len(ax.patches) == 16
    heights = np.array([p.get_height() for p in ax.patches])
    np.testing.assert_allclose(heights[:8], counts["actual"].to_numpy())
    np.testing.assert_allclose(heights[8:], counts["simulated"].to_numpy())
    assert heights[:8].sum() == len(cdnow_summary)
    assert heights[0] == int((cdnow_summary["frequency"] == 0).sum())
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "Actual", "Model (simulated)"]
    assert ax.get_xlabel() == "Repeat purchases" and ax.get_ylabel() == "Customers"


def test_period_transactions_analytic_on_a_holdout_table(cal_model, split):
    ax = plot_period_transactions(cal_model, split, max_frequency=3, method="analytic")
    heights = np.array([p.get_height() for p in ax.patches])
    assert len(heights) == 8
    # expected counts over the calibration ages add up to the number of customers
    assert heights[4:].sum() == pytest.approx(len(split))
    assert heights[:4].sum() == len(split)
    assert ax.get_legend().get_texts()[1].get_text() == "Model (expected)"


# ---------------------------------------------------------------------- tiers
def test_tier_sizes_heights_are_the_shares(tiers, cdnow_summary):
    spend = cdnow_summary["monetary_value"] * cdnow_summary["frequency"]
    ax = plot_tier_sizes(tiers, spend)
    cats = list(tiers.cat.categories)
    heights = [p.get_height() for p in ax.patches]
    assert len(heights) == 2 * len(cats)
    labels = tiers.to_numpy()
    expected_customers = [np.mean(labels == c) for c in cats]
    expected_value = [spend[labels == c].sum() / spend.sum() for c in cats]
    np.testing.assert_allclose(heights[: len(cats)], expected_customers)
    np.testing.assert_allclose(heights[len(cats):], expected_value)
    assert [t.get_text() for t in ax.get_xticklabels()] == cats
    assert ax.get_title() == "Share of customers and of value by value_tier"
    assert ax.get_xlabel() == "value_tier" and ax.get_ylabel() == "Share"


def test_tier_sizes_without_values_keeps_unused_categories():
    labels = pd.Categorical(["b", "b", "c"], categories=["c", "a", "b"])
    ax = plot_tier_sizes(labels)
    assert [p.get_height() for p in ax.patches] == pytest.approx([1 / 3, 0.0, 2 / 3])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["c", "a", "b"]
    assert ax.get_title() == "Share of customers by segment"


def test_tier_sizes_aligns_series_on_the_customer_id():
    labels = pd.Series(["x", "y", "y"], index=[10, 20, 30])
    values = pd.Series([5.0, 3.0, 2.0], index=[30, 10, 20])  # same ids, other order
    ax = plot_tier_sizes(labels, values)
    assert [p.get_height() for p in ax.patches][2:] == pytest.approx([0.3, 0.7])


def test_tier_sizes_bad_input():
    with pytest.raises(InvalidDataError, match=r"1 of 3 rows have no label"):
        plot_tier_sizes(pd.Series(["a", None, "b"], name="tier"))
    with pytest.raises(InvalidDataError, match="one value per label"):
        plot_tier_sizes(["a", "b"], values=[1.0, 2.0, 3.0])
    with pytest.raises(InvalidDataError, match=r"Column 'value': 1 of 2 rows are NaN"):
        plot_tier_sizes(["a", "b"], values=[1.0, np.nan])


@settings(max_examples=15)
@given(st.lists(st.tuples(st.sampled_from(["gold", "silver", "bronze"]),
                          st.floats(0, 1e6)), min_size=1, max_size=40))
def test_tier_sizes_shares_sum_to_one(rows):
    labels = [r[0] for r in rows]
    values = np.array([r[1] for r in rows])
    ax = plot_tier_sizes(labels, values)
    heights = np.array([p.get_height() for p in ax.patches])
    k = len(set(labels))
    assert len(heights) == 2 * k
    assert heights[:k].sum() == pytest.approx(1.0)
    assert heights[k:].sum() == pytest.approx(1.0 if values.sum() > 0 else 0.0)
    for name, h in zip(sorted(set(labels)), heights[:k]):
        assert h == pytest.approx(labels.count(name) / len(labels))


# ---------------------------------------------------------------------- value matrix
def test_value_matrix_heatmap_matches_the_cell_table(cdnow_summary):
    from custseg.tiers import ValueMatrix

    matrix = ValueMatrix().fit(cdnow_summary)
    cells = matrix.cell_table(cdnow_summary, value="monetary_value")
    ax = plot_value_matrix(cdnow_summary, matrix, value="monetary_value")
    (image,) = ax.images
    assert image.get_array().shape == (2, 2)
    np.testing.assert_array_equal(image.get_array().ravel(), cells["customers"].to_numpy())
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == 4
    for name, row in cells.iterrows():
        cell_text = next(t for t in texts if t.startswith(name + "\n"))
        assert f"{row['customers']:,} customers" in cell_text
        assert f"{row['value_share']:.0%} of value" in cell_text
    assert ax.get_xlabel() == "frequency" and ax.get_ylabel() == "monetary_value"
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "high monetary_value", "low monetary_value"]
    assert ax.get_title() == "Value matrix: monetary_value by frequency"
    assert _colorbar_labels(ax) == ["Customers"]


def test_value_matrix_from_a_3x3_cell_table(cdnow_summary):
    from custseg.tiers import ValueMatrix

    repeat = cdnow_summary[cdnow_summary["frequency"] > 0]
    cells = ValueMatrix(n_bins=3).fit(repeat).cell_table(repeat)
    ax = plot_value_matrix(cells, xlabel="orders", ylabel="spend")
    assert ax.images[0].get_array().shape == (3, 3)
    assert ax.images[0].get_array().sum() == len(repeat)
    assert len(ax.texts) == 9
    assert not any("of value" in t.get_text() for t in ax.texts)  # no value column given
    assert ax.get_xlabel() == "orders"


def test_value_matrix_needs_a_cell_table(cdnow_summary):
    from custseg.exceptions import MissingColumnError

    with pytest.raises(MissingColumnError, match="missing column.*'y_level'"):
        plot_value_matrix(cdnow_summary)
    with pytest.raises(InvalidDataError, match="Expected a cell table"):
        plot_value_matrix([[1, 2], [3, 4]])


# ---------------------------------------------------------------------- segments
def test_segments_scatter_a_bounded_sample(cdnow_summary, segments):
    ax = plot_segments(cdnow_summary, segments, sample=500, random_state=1)
    sizes = segments.value_counts()
    assert sum(len(c.get_offsets()) for c in ax.collections) == 500
    assert len(ax.collections) == len(segments.cat.categories)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == [f"{name} ({sizes[name]:,})" for name in segments.cat.categories]
    assert ax.get_xscale() == "symlog" and ax.get_yscale() == "symlog"  # zeros present
    assert "random sample of 500 of 2,357 customers" in ax.get_title()
    assert ax.get_xlabel() == "frequency (log scale)"
    # every point drawn is a customer of the table, in its segment
    for coll, name in zip(ax.collections, segments.cat.categories):
        members = cdnow_summary[segments == name]
        pairs = set(zip(members["frequency"].astype(float), members["monetary_value"]))
        assert {tuple(p) for p in np.asarray(coll.get_offsets())} <= pairs


def test_segments_all_points_linear_axes(cdnow_summary, segments):
    ax = plot_segments(cdnow_summary, segments, x="recency", y="T", log=False, sample=None)
    assert sum(len(c.get_offsets()) for c in ax.collections) == len(cdnow_summary)
    assert ax.get_xscale() == "linear" and "sample" not in ax.get_title()
    x0, y0, x1, y1 = ax.dataLim.extents
    assert x1 == cdnow_summary["recency"].max() and y1 == cdnow_summary["T"].max()
    assert x0 == cdnow_summary["recency"].min() and y0 == cdnow_summary["T"].min()


def test_segments_from_a_label_column_with_positive_values():
    table = pd.DataFrame({"frequency": [1.0, 2.0, 3.0, 4.0],
                          "monetary_value": [5.0, 6.0, 7.0, 8.0],
                          "tier": ["a", "b", "a", "b"]})
    ax = plot_segments(table, "tier")
    assert ax.get_xscale() == "log" and len(ax.collections) == 2


def test_segments_align_a_series_on_the_customer_id(cdnow_summary, segments):
    shuffled = segments.sample(frac=1.0, random_state=0)
    ax = plot_segments(cdnow_summary, shuffled, sample=None)
    expected = plot_segments(cdnow_summary, segments, sample=None)
    for mine, theirs in zip(ax.collections, expected.collections):
        np.testing.assert_array_equal(mine.get_offsets(), theirs.get_offsets())


def test_segments_bad_input(cdnow_summary, segments):
    with pytest.raises(InvalidParameterError, match="sample must be a positive integer"):
        plot_segments(cdnow_summary, segments, sample=0)
    with pytest.raises(InvalidDataError, match="one entry per customer"):
        plot_segments(cdnow_summary, segments.iloc[:10])
    with pytest.raises(KeyError, match="missing column.*'clv'"):
        plot_segments(cdnow_summary, segments, y="clv")


# ---------------------------------------------------------------------- migration
@pytest.fixture(scope="module")
def migration(split, cdnow_summary):
    """Counts of CDNOW customers moving between frequency tiers from the end of the
    calibration period to the end of the whole period (the first 100 customers are left
    out of the second snapshot, so they appear as gone)."""
    from custseg.report import migration_matrix
    from custseg.tiers import ValueTiers

    tierer = ValueTiers(column="frequency", thresholds=[1, 3])
    cal = split[["frequency_cal"]].set_axis(["frequency"], axis=1)
    before = pd.Series(tierer.fit(cal).predict(cal), index=cal.index)
    full = cdnow_summary[["frequency"]].iloc[100:]
    after = pd.Series(tierer.predict(full), index=full.index)
    return migration_matrix(before, after)


def test_migration_heatmap_row_shares(migration):
    counts = migration
    assert counts.loc[:, "(gone)"].sum() == 100
    ax = plot_migration(counts)
    (image,) = ax.images
    values = counts.to_numpy(dtype=float)
    assert image.get_array().shape == values.shape
    rows = values.sum(axis=1, keepdims=True)
    expected = np.divide(values, rows, out=np.zeros_like(values), where=rows > 0)
    np.testing.assert_allclose(image.get_array(), expected)
    assert len(ax.texts) == values.size
    assert ax.texts[0].get_text() == f"{expected[0, 0]:.0%}\n({int(values[0, 0]):,})"
    assert [t.get_text() for t in ax.get_yticklabels()] == list(map(str, counts.index))
    assert ax.get_xlabel() == "after" and ax.get_ylabel() == "before"
    assert ax.get_title() == "Migration between snapshots (row shares)"


def test_migration_counts_and_result_objects(migration):
    counts = migration

    class Result:  # a result object holding the counts
        def __init__(self, c):
            self.counts = c

    ax = plot_migration(Result(counts), normalize=False)
    np.testing.assert_array_equal(ax.images[0].get_array(), counts.to_numpy())
    assert _colorbar_labels(ax) == ["Customers"]
    assert ax.texts[0].get_text() == f"{int(counts.iat[0, 0]):,}"


def test_migration_accepts_row_shares_with_empty_rows():
    from custseg.report import migration_matrix

    before = pd.Series(pd.Categorical(["a", "a", "b"], categories=["a", "b"]), index=[1, 2, 3])
    after = pd.Series(pd.Categorical(["a", "b", "b"], categories=["a", "b"]), index=[1, 2, 3])
    shares = migration_matrix(before, after, normalize="index")  # "(new)" row is NaN
    ax = plot_migration(shares)
    np.testing.assert_allclose(ax.images[0].get_array(),
                               [[0.5, 0.5, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]])


def test_migration_bad_input():
    with pytest.raises(InvalidDataError, match="negative or infinite"):
        plot_migration(pd.DataFrame([[1, -1], [0, 2]]))
    with pytest.raises(InvalidDataError, match="Expected a migration matrix"):
        plot_migration([[1, 2], [3, 4]])


# ---------------------------------------------------------------------- plumbing
def test_plots_draw_on_the_given_axes_and_leave_pyplot_alone(bgnbd, tiers):
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    fig = Figure()
    ax = fig.add_subplot()
    assert plot_tier_sizes(tiers, ax=ax) is ax
    own = plot_probability_alive_matrix(bgnbd)
    assert own.get_figure() is not fig
    assert plt.get_fignums() == before


def test_missing_matplotlib_says_how_to_install(monkeypatch, tiers):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r"pip install 'custseg\[plot\]'"):
        plot_tier_sizes(tiers)
    with pytest.raises(ImportError, match=r"pip install 'custseg\[plot\]'"):
        _plots._figure_class()
