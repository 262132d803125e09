"""RFMScorer and RFMSegmenter."""

import itertools

import numpy as np
import pandas as pd
import pytest

from custseg.exceptions import InvalidDataError, InvalidParameterError, MissingColumnError
from custseg.tiers import DEFAULT_RFM_MAP, RFMScorer, RFMSegmenter, RuleTierer
from custseg.tiers._base import quantile_edges


def min_rank_scores(values, n_bins):
    fractions = np.arange(1, n_bins) / n_bins
    edges = quantile_edges(values, fractions)
    return 1 + (np.asarray(values)[:, None] >= edges[None, :]).sum(axis=1)


def test_scores_on_cdnow(cdnow_summary):
    scorer = RFMScorer().fit(cdnow_summary)
    scores = pd.DataFrame(scorer.transform(cdnow_summary), columns=["R", "F", "M"])
    since = cdnow_summary["T"] - cdnow_summary["recency"]
    np.testing.assert_array_equal(scores["F"], min_rank_scores(cdnow_summary["frequency"], 5))
    np.testing.assert_array_equal(scores["M"],
                                  min_rank_scores(cdnow_summary["monetary_value"], 5))
    np.testing.assert_array_equal(scores["R"], 6 - min_rank_scores(since.to_numpy(), 5))
    # customers without a repeat purchase (60% of CDNOW) all share the lowest F and M
    zero = cdnow_summary["frequency"].to_numpy() == 0
    assert (scores["F"][zero] == 1).all() and (scores["M"][zero] == 1).all()
    # the most recent buyers have the highest R, the longest lapsed the lowest
    assert scores["R"][since.idxmin() - 1] == 5
    assert scores["R"][since.idxmax() - 1] == 1
    assert set(scores["R"]) == {1, 2, 3, 4, 5}
    for col in ("R", "F", "M"):
        assert scores[col].between(1, 5).all()


@pytest.mark.parametrize("n_bins", [3, 5, 10])
def test_scores_are_monotone(cdnow_summary, n_bins):
    scorer = RFMScorer(n_bins=n_bins).fit(cdnow_summary)
    scores = scorer.transform(cdnow_summary)
    since = (cdnow_summary["T"] - cdnow_summary["recency"]).to_numpy()
    order = np.argsort(since, kind="stable")
    assert np.all(np.diff(scores[order, 0]) <= 0)  # later purchase, lower R
    for j, col in ((1, "frequency"), (2, "monetary_value")):
        order = np.argsort(cdnow_summary[col].to_numpy(), kind="stable")
        assert np.all(np.diff(scores[order, j]) >= 0)


def test_both_recency_conventions_agree(cdnow_summary):
    lifetimes_style = RFMScorer(recency_is="lifetimes").fit(cdnow_summary)
    table = cdnow_summary.assign(days=cdnow_summary["T"] - cdnow_summary["recency"])
    days_style = RFMScorer(recency_is="days_since_last", recency_col="days").fit(table)
    np.testing.assert_array_equal(lifetimes_style.transform(cdnow_summary),
                                  days_style.transform(table))
    np.testing.assert_array_equal(lifetimes_style.bin_edges_["recency"],
                                  days_style.bin_edges_["recency"])


def test_learned_edges_apply_to_a_later_snapshot(cdnow_summary):
    scorer = RFMScorer().fit(cdnow_summary)
    later = cdnow_summary.assign(T=cdnow_summary["T"] + 10.0,
                                 frequency=cdnow_summary["frequency"] + 1)
    scores = scorer.transform(later)
    edges = scorer.bin_edges_
    since = (later["T"] - later["recency"]).to_numpy()
    np.testing.assert_array_equal(
        scores[:, 0], 5 - np.searchsorted(edges["recency"], since, side="right"))
    np.testing.assert_array_equal(
        scores[:, 1], 1 + np.searchsorted(edges["frequency"], later["frequency"],
                                          side="right"))
    assert scores[:, 0].mean() < scorer.transform(cdnow_summary)[:, 0].mean()


def test_cells_codes_and_classes(cdnow_summary):
    scorer = RFMScorer(code="cell").fit(cdnow_summary)
    out = scorer.transform(cdnow_summary)
    cells = scorer.predict(cdnow_summary)
    np.testing.assert_array_equal(cells, out[:, 0] * 100 + out[:, 1] * 10 + out[:, 2])
    np.testing.assert_array_equal(out[:, 3], cells)
    assert len(scorer.classes_) == 125 and scorer.classes_[0] == 111
    assert scorer.classes_[-1] == 555 and np.isin(cells, scorer.classes_).all()
    assert scorer.get_feature_names_out().tolist() == ["R", "F", "M", "RFM"]
    summed = RFMScorer(code="sum").fit(cdnow_summary).transform(cdnow_summary)
    np.testing.assert_array_equal(summed[:, 3], summed[:, :3].sum(axis=1))


def test_rf_only_and_two_digit_scores(cdnow_summary):
    rf = RFMScorer(monetary_col=None).fit(cdnow_summary)
    assert rf.get_feature_names_out().tolist() == ["R", "F"]
    s = rf.transform(cdnow_summary)
    np.testing.assert_array_equal(rf.predict(cdnow_summary), s[:, 0] * 10 + s[:, 1])
    ten = RFMScorer(n_bins=10).fit(cdnow_summary)
    s = ten.transform(cdnow_summary)
    np.testing.assert_array_equal(ten.predict(cdnow_summary),
                                  (s[:, 0] * 100 + s[:, 1]) * 100 + s[:, 2])
    assert s.max() == 10


def test_pandas_output_keeps_the_index(cdnow_summary):
    scorer = RFMScorer(code="cell").set_output(transform="pandas").fit(cdnow_summary)
    out = scorer.transform(cdnow_summary)
    assert list(out.columns) == ["R", "F", "M", "RFM"]
    assert out.index.equals(cdnow_summary.index)
    assert (out.dtypes == np.int64).all()


def test_array_order(cdnow_summary):
    cols = ["recency", "frequency", "monetary_value", "T"]
    on_array = RFMScorer().fit(cdnow_summary[cols].to_numpy())
    on_frame = RFMScorer().fit(cdnow_summary)
    np.testing.assert_array_equal(on_array.transform(cdnow_summary[cols].to_numpy()),
                                  on_frame.transform(cdnow_summary))
    with pytest.raises(InvalidDataError, match=r"reads 4 columns .* got 3 feature\(s\)"):
        RFMScorer().fit(cdnow_summary[cols[:3]].to_numpy())


def test_explain_counts_each_score(cdnow_summary):
    scorer = RFMScorer().fit(cdnow_summary)
    info = scorer.explain(cdnow_summary)
    assert set(info["score"]) == {"R", "F", "M"}
    sums = info.groupby("score")["assigned"].sum()
    assert (sums == len(cdnow_summary)).all()
    scores = scorer.transform(cdnow_summary)
    for j, name in enumerate(("R", "F", "M")):
        block = info[info["score"] == name].groupby("label")["assigned"].sum()
        for label, n in block.items():
            assert n == int((scores[:, j] == label).sum())


def test_bad_input(cdnow_summary):
    swapped = cdnow_summary.copy()
    swapped.loc[[2, 5], "recency"] = 100.0
    with pytest.raises(InvalidDataError,
                       match=r"(?s)'recency': 2 of 2357 rows have recency greater than T.*"
                             "days_since_last"):
        RFMScorer().fit(swapped)
    neg = cdnow_summary.assign(frequency=cdnow_summary["frequency"] - 1)
    with pytest.raises(InvalidDataError, match="'frequency': 1411 of 2357 rows are negative"):
        RFMScorer().fit(neg)
    with pytest.raises(MissingColumnError, match="'T'"):
        RFMScorer().fit(cdnow_summary.drop(columns="T"))
    holes = cdnow_summary.astype({"monetary_value": float}).copy()
    holes.loc[3, "monetary_value"] = np.nan
    fitted = RFMScorer().fit(cdnow_summary)
    with pytest.raises(InvalidDataError, match="'monetary_value': 1 of 2357 rows are NaN"):
        fitted.predict(holes)


def score_frame(scores):
    frame = pd.DataFrame(scores, columns=["R", "F", "M"])
    frame["FM"] = (frame["F"] + frame["M"] + 1) // 2
    return frame


def test_default_map_covers_every_cell():
    grid = score_frame(list(itertools.product(range(1, 6), repeat=3)))
    labels = RuleTierer(DEFAULT_RFM_MAP, default="unmapped").fit(grid).predict(grid)
    assert "unmapped" not in set(labels)
    # and no two default segments overlap: each cell matches exactly one condition
    matches = sum(RuleTierer([(lab, cond)], default="-").fit(grid).predict(grid) != "-"
                  for lab, cond in DEFAULT_RFM_MAP)
    assert (matches == 1).all()


def test_segments_equal_the_rules_on_the_scores(cdnow_summary):
    seg = RFMSegmenter().fit(cdnow_summary)
    labels = seg.predict(cdnow_summary)
    scores = score_frame(seg.scorer_.transform(cdnow_summary))
    direct = RuleTierer(DEFAULT_RFM_MAP).fit(scores).predict(scores)
    np.testing.assert_array_equal(labels, direct)
    assert seg.classes_.tolist() == [lab for lab, _ in DEFAULT_RFM_MAP][::-1]
    assert {"champions", "lost", "hibernating", "loyal"} <= set(labels)
    info = seg.explain(cdnow_summary)
    assert info["assigned"].sum() == len(cdnow_summary)
    assert dict(zip(info["label"], info["assigned"])) == pd.Series(labels).value_counts(
    ).reindex(info["label"], fill_value=0).to_dict()


def test_custom_map_with_monetary_and_integer_labels(cdnow_summary):
    custom = [(3, "R >= 4 and M >= 4"), (2, {"R": (">=", 3)}), (1, "F >= 2"),
              (0, "R >= 1")]
    seg = RFMSegmenter(map=custom).fit(cdnow_summary)
    scores = pd.DataFrame(seg.scorer_.transform(cdnow_summary), columns=["R", "F", "M"])
    expected = np.select([(scores.R >= 4) & (scores.M >= 4), scores.R >= 3, scores.F >= 2],
                         [3, 2, 1], 0)
    np.testing.assert_array_equal(seg.predict(cdnow_summary), expected)
    assert seg.predict(cdnow_summary).dtype == np.int64


def test_unmapped_cells_are_listed(cdnow_summary):
    with pytest.raises(InvalidParameterError,
                       match=r"leaves 4 of 25 score combinations without a segment: "
                             r"R=1 F=1, R=1 F=2, R=2 F=1, R=2 F=2\."):
        RFMSegmenter(map={"good": "R >= 3", "ok": "F >= 3"}, monetary_col=None).fit(
            cdnow_summary)
    with pytest.raises(InvalidParameterError, match="75 of 125 .* and 50 more"):
        RFMSegmenter(map=[("recent", "R >= 4")]).fit(cdnow_summary)


def test_map_errors(cdnow_summary):
    with pytest.raises(InvalidParameterError, match=r"may only use the scores .* \['clv'\]"):
        RFMSegmenter(map=[("x", "clv > 3")]).fit(cdnow_summary)
    with pytest.raises(InvalidParameterError, match=r"not \['M'\]"):
        RFMSegmenter(map=[("x", "M > 3"), ("y", "R >= 1")], monetary_col=None).fit(
            cdnow_summary)
    with pytest.raises(InvalidParameterError, match="default map is written for n_bins=5"):
        RFMSegmenter(n_bins=4).fit(cdnow_summary)


def test_segmenter_pandas_output(cdnow_summary):
    seg = RFMSegmenter().set_output(transform="pandas").fit(cdnow_summary)
    out = seg.transform(cdnow_summary)
    assert list(out.columns) == ["rfm_segment"]
    assert out["rfm_segment"].cat.categories.tolist() == seg.classes_.tolist()
    np.testing.assert_array_equal(out["rfm_segment"].astype(object),
                                  seg.predict(cdnow_summary))
