"""RuleTierer and the shared engine: first match wins, explain, missing values, errors."""

import numpy as np
import pandas as pd
import pytest

from custseg.exceptions import (
    CustsegError,
    EmptyDataError,
    InvalidDataError,
    InvalidParameterError,
    MissingColumnError,
)
from custseg.tiers import RuleTierer
from custseg.tiers._base import apply_rules
from custseg.tiers._expr import Columns, compile_condition


@pytest.fixture
def accounts(rng):
    n = 400
    return pd.DataFrame({
        "clv": rng.gamma(1.0, 300.0, n),
        "industry": pd.Categorical(rng.choice(["manufacturing", "retail", "services"], n)),
        "employees": rng.integers(1, 5000, n),
        "region": rng.choice(["EU", "US"], n),
    })


KEY_RULES = [
    ("key account", "industry == 'manufacturing' and employees >= 1000 and clv >= 500"),
    ("growth", {"clv": (">=", 300)}),
    ("growth", "region == 'EU' and employees >= 2000"),
    ("small", lambda f: f["employees"] < 100),
]


def reference_labels(frame, rules, default):
    """Row-by-row first-match evaluation with plain Python predicates."""
    preds = {
        0: lambda r: (r["industry"] == "manufacturing" and r["employees"] >= 1000
                      and r["clv"] >= 500),
        1: lambda r: r["clv"] >= 300,
        2: lambda r: r["region"] == "EU" and r["employees"] >= 2000,
        3: lambda r: r["employees"] < 100,
    }
    out = []
    for row in frame.to_dict("records"):
        for i, (label, _) in enumerate(rules):
            if preds[i](row):
                out.append(label)
                break
        else:
            out.append(default)
    return np.array(out, dtype=object)


def test_first_match_wins_like_a_row_loop(accounts):
    tiers = RuleTierer(KEY_RULES, default="standard").fit(accounts)
    np.testing.assert_array_equal(tiers.predict(accounts),
                                  reference_labels(accounts, KEY_RULES, "standard"))


def test_classes_rank_the_first_rule_highest(accounts):
    tiers = RuleTierer(KEY_RULES, default="standard").fit(accounts)
    assert tiers.classes_.tolist() == ["standard", "small", "growth", "key account"]
    # a label reused by a later rule keeps the rank of its first rule
    again = RuleTierer([("a", "clv > 1"), ("b", "clv > 0"), ("a", "clv >= 0")],
                       default="a").fit(accounts)
    assert again.classes_.tolist() == ["b", "a"]


def test_rule_counts_and_explain(accounts):
    tiers = RuleTierer(KEY_RULES, default="standard").fit(accounts)
    counts = tiers.rule_counts_
    assert counts["label"].tolist() == ["key account", "growth", "growth", "small",
                                        "standard"]
    assert counts["assigned"].sum() == len(accounts)
    labels = tiers.predict(accounts)
    per_label = counts.groupby("label")["assigned"].sum()
    for label, n in per_label.items():
        assert n == int((labels == label).sum())
    raw = accounts["clv"] >= 300
    assert counts.loc[1, "matched"] == int(raw.sum())
    assert (counts["matched"] >= counts["assigned"]).all()
    np.testing.assert_allclose(counts["share"].sum(), 1.0)
    later = accounts.iloc[:100]
    assert tiers.explain(later)["assigned"].sum() == 100


def test_a_dict_of_rules_keeps_its_order(accounts):
    tiers = RuleTierer({"top": "clv >= 800", "mid": "clv >= 200"}).fit(accounts)
    expected = np.where(accounts["clv"] >= 800, "top",
                        np.where(accounts["clv"] >= 200, "mid", "other"))
    np.testing.assert_array_equal(tiers.predict(accounts), expected.astype(object))


def test_transform_and_pandas_output(accounts):
    tiers = RuleTierer(KEY_RULES, default="standard").fit(accounts)
    arr = tiers.transform(accounts)
    assert arr.shape == (len(accounts), 1)
    np.testing.assert_array_equal(arr[:, 0], tiers.predict(accounts))
    out = tiers.set_output(transform="pandas").transform(accounts)
    assert list(out.columns) == ["tier"]
    assert out.index.equals(accounts.index)
    assert out["tier"].dtype == pd.CategoricalDtype(tiers.classes_, ordered=True)
    assert (out["tier"].cat.codes >= 0).all()


def test_missing_values_raise_with_count_and_examples(accounts):
    holes = accounts.copy()
    holes.loc[[3, 7, 9], "clv"] = np.nan
    tiers = RuleTierer(KEY_RULES, default="standard")
    with pytest.raises(InvalidDataError, match=r"Column 'clv': 3 of 400 rows are NaN"):
        tiers.fit(holes)
    tiers.fit(accounts)
    with pytest.raises(InvalidDataError, match=r"(?s)3 of 400 rows.*missing='no_match'"):
        tiers.predict(holes)


def test_missing_values_no_match_policy(accounts):
    holes = accounts.copy()
    holes.loc[[3, 7], "clv"] = np.nan
    holes["region"] = holes["region"].astype(object)
    holes.loc[[7, 8], "region"] = None
    tiers = RuleTierer(KEY_RULES, default="standard", missing="no_match").fit(holes)
    labels = tiers.predict(holes)
    complete = holes.drop(index=[3, 7, 8])
    np.testing.assert_array_equal(labels[complete.index],
                                  reference_labels(complete, KEY_RULES, "standard"))
    # rows with a missing clv skip the clv rules and fall to later ones
    for row in (3, 7):
        expected = "small" if holes.loc[row, "employees"] < 100 else "standard"
        if row == 3 and holes.loc[row, "region"] == "EU" and holes.loc[row,
                                                                        "employees"] >= 2000:
            expected = "growth"
        assert labels[row] == expected
    inf = accounts.copy()
    inf.loc[0, "clv"] = np.inf
    with pytest.raises(InvalidDataError, match="are infinite"):
        tiers.predict(inf)


def test_isna_rules_may_read_missing_columns():
    frame = pd.DataFrame({"T": [np.nan, 3.0, 10.0], "x": [1.0, 2.0, 3.0]})
    tiers = RuleTierer([("prospect", "isna(T)"), ("big", "x >= 2")]).fit(frame)
    np.testing.assert_array_equal(tiers.predict(frame), ["prospect", "big", "big"])


def test_missing_column_is_named(accounts):
    tiers = RuleTierer([("vip", "clv >= 500 and segmnet == 'a'")])
    with pytest.raises(MissingColumnError, match="missing column.*'segmnet'"):
        tiers.fit(accounts)
    fitted = RuleTierer([("vip", "clv >= 500")]).fit(accounts)
    with pytest.raises(MissingColumnError, match="'clv'"):
        fitted.predict(accounts.rename(columns={"clv": "value"}))


@pytest.mark.parametrize("rules, match", [
    ([], "at least one rule"),
    ([("a", "x > 1", "extra")], r"\(label, condition\) pair"),
    ([(1.5, "x > 1")], "string or an integer"),
    ([("a", "x.y > 1")], "not allowed"),
])
def test_bad_rules(rules, match):
    frame = pd.DataFrame({"x": [1.0, 2.0]})
    with pytest.raises(InvalidParameterError, match=match):
        RuleTierer(rules).fit(frame)


def test_empty_input():
    with pytest.raises(EmptyDataError, match="0 sample"):
        RuleTierer([("a", "x > 1")]).fit(pd.DataFrame({"x": np.array([], dtype=float)}))


def test_arrays_use_x0_names_and_positions():
    X = np.array([[1.0, 5.0], [3.0, 1.0], [0.0, 9.0]])
    by_name = RuleTierer([("hi", "x0 >= 1 and x1 >= 2")], default="lo").fit(X)
    by_pos = RuleTierer([("hi", {0: (">=", 1), 1: (">=", 2)})], default="lo").fit(X)
    np.testing.assert_array_equal(by_name.predict(X), ["hi", "lo", "lo"])
    np.testing.assert_array_equal(by_pos.predict(X), by_name.predict(X))
    with pytest.raises(CustsegError, match="missing column"):
        RuleTierer([("a", "clv > 1")]).fit(X)


def test_fitted_on_a_frame_predicts_an_array_by_position(accounts):
    numeric = accounts[["clv", "employees"]]
    tiers = RuleTierer([("big", "employees >= 1000 and clv > 100")]).fit(numeric)
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        from_array = tiers.predict(numeric.to_numpy())
    np.testing.assert_array_equal(from_array, tiers.predict(numeric))


def test_integer_labels_give_integer_arrays(accounts):
    tiers = RuleTierer([(2, "clv >= 500"), (1, "clv >= 100")], default=0).fit(accounts)
    pred = tiers.predict(accounts)
    assert pred.dtype == np.int64
    np.testing.assert_array_equal(
        pred, (accounts["clv"] >= 500).astype(int) + (accounts["clv"] >= 100))


def test_apply_rules_blend_equals_numpy_select(rng):
    x = rng.normal(size=1000)
    cols = Columns(pd.DataFrame({"x": x}))
    rules = [(3, compile_condition("x > 1")), (1, compile_condition("x > 0")),
             (2, compile_condition("x < -1"))]
    got = apply_rules(rules, 0, cols)
    expected = np.select([x > 1, x > 0, x < -1], [3, 1, 2], default=0)
    np.testing.assert_array_equal(got, expected)
    many = [(k, compile_condition(f"x > {k / 100 - 1}")) for k in range(200, 0, -1)]
    got = apply_rules(many, 0, cols)
    assert got.dtype == np.int16
    expected = np.select([x > k / 100 - 1 for k in range(200, 0, -1)],
                         list(range(200, 0, -1)), default=0)
    np.testing.assert_array_equal(got, expected)
