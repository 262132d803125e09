"""The condition language of custseg.tiers: parsing, safety and vectorised evaluation."""

import numpy as np
import pandas as pd
import pytest

from custseg.exceptions import (
    CustsegError,
    InvalidDataError,
    InvalidParameterError,
    MissingColumnError,
)
from custseg.tiers._expr import (
    Columns,
    compile_condition,
    condition_columns,
    condition_text,
    evaluate,
)


@pytest.fixture
def frame():
    return pd.DataFrame({
        "clv": [900.0, 650.0, 120.0, 40.0, np.nan],
        "frequency": [5, 3, 0, 1, 2],
        "region": ["EU", "US", "EU", "APAC", None],
        "industry": pd.Categorical(
            ["manufacturing", "retail", "manufacturing", "services", "retail"]),
        "size": pd.Categorical(["large", "small", "mid", "large", "mid"],
                               categories=["small", "mid", "large"], ordered=True),
        "flag": [True, False, True, False, False],
        "last order": [1.0, 2.0, 3.0, 4.0, 5.0],
    })


def ev(frame, cond):
    return evaluate(compile_condition(cond), Columns(frame))


def rowwise(frame, fn):
    """Reference: evaluate a plain Python predicate row by row."""
    return np.array([bool(fn(row)) for row in frame.to_dict("records")])


@pytest.mark.parametrize("cond, fn", [
    ("clv >= 500", lambda r: r["clv"] >= 500),
    ("clv >= 500 and region == 'EU'", lambda r: r["clv"] >= 500 and r["region"] == "EU"),
    ("region == 'EU' or frequency > 2", lambda r: r["region"] == "EU" or r["frequency"] > 2),
    ("not (frequency > 2)", lambda r: not r["frequency"] > 2),
    ("industry in ['manufacturing', 'retail']",
     lambda r: r["industry"] in ("manufacturing", "retail")),
    ("industry not in ['manufacturing']", lambda r: r["industry"] != "manufacturing"),
    ("region in ('EU', 'US')", lambda r: r["region"] in ("EU", "US")),
    ("1 <= frequency < 5", lambda r: 1 <= r["frequency"] < 5),
    ("500 <= clv", lambda r: r["clv"] >= 500),
    ("clv / (frequency + 1) > 100", lambda r: r["clv"] / (r["frequency"] + 1) > 100),
    ("-frequency < -2", lambda r: r["frequency"] > 2),
    ("frequency * 2 - 1 >= 3", lambda r: r["frequency"] * 2 - 1 >= 3),
    ("(clv > 100) & (region == 'EU') | ~flag", lambda r: (
        r["clv"] > 100 and r["region"] == "EU") or not r["flag"]),
    ("flag", lambda r: r["flag"]),
    ("`last order` > 2.5", lambda r: r["last order"] > 2.5),
    ("size >= 'mid'", lambda r: r["size"] in ("mid", "large")),
    ("size == 'large' and industry == 'manufacturing'",
     lambda r: r["size"] == "large" and r["industry"] == "manufacturing"),
    ("isna(clv) or clv < 100", lambda r: r["clv"] != r["clv"] or r["clv"] < 100),
    ("notna(region) and region != 'EU'", lambda r: pd.notna(r["region"])
     and r["region"] != "EU"),
    ("True", lambda r: True),
    ("industry == 'unknown'", lambda r: False),
])
def test_string_conditions_match_rowwise_python(frame, cond, fn):
    np.testing.assert_array_equal(ev(frame, cond), rowwise(frame, fn))


def test_not_equal_and_not_in_are_false_for_missing_text(frame):
    # pandas semantics would make None != 'EU' true; a missing value matches nothing
    np.testing.assert_array_equal(ev(frame, "region != 'EU'"),
                                  [False, True, False, True, False])
    np.testing.assert_array_equal(ev(frame, "region not in ['EU']"),
                                  [False, True, False, True, False])


def test_dict_conditions_are_conjunctions(frame):
    got = ev(frame, {"clv": (">=", 100), "industry": ("in", ["manufacturing"])})
    np.testing.assert_array_equal(got, rowwise(frame, lambda r: r["clv"] >= 100 and
                                               r["industry"] == "manufacturing"))
    by_position = ev(frame, {1: (">", 1)})
    np.testing.assert_array_equal(by_position, frame["frequency"].to_numpy() > 1)


def test_callable_conditions_receive_the_frame(frame):
    got = ev(frame, lambda f: f["frequency"] >= 2)
    np.testing.assert_array_equal(got, frame["frequency"].to_numpy() >= 2)


def test_numpy_and_categorical_paths_agree(frame):
    as_text = frame.assign(industry=frame["industry"].astype(object))
    for cond in ("industry == 'retail'", "industry in ['retail', 'services']",
                 "industry != 'retail'"):
        np.testing.assert_array_equal(ev(frame, cond), ev(as_text, cond))


def test_array_backed_columns_read_without_copy():
    arr = np.arange(12.0).reshape(4, 3)
    cols = Columns.from_array(arr, ["a", "b", "c"])
    assert np.shares_memory(cols.get("b"), arr)
    np.testing.assert_array_equal(evaluate(compile_condition("b > 4"), cols),
                                  arr[:, 1] > 4)
    np.testing.assert_array_equal(evaluate(compile_condition({2: (">=", 5)}), cols),
                                  arr[:, 2] >= 5)


def test_shared_subexpressions_are_computed_once(frame):
    node = compile_condition("clv - frequency > 10")
    memo = {}
    cols = Columns(frame)
    evaluate(node, cols, memo)
    arith = node[2]
    assert arith in memo
    np.testing.assert_array_equal(memo[arith], frame["clv"] - frame["frequency"])


@pytest.mark.parametrize("cond, match", [
    ("__import__('os').system('true')", "function call"),
    ("clv.__class__", "Attribute"),
    ("[c for c in clv]", "ListComp"),
    ("clv[0] > 1", "Subscript"),
    ("lambda: 1", "Lambda"),
    ("clv ** 2 > 1", "BinOp|operator"),
    ("clv if clv else 1", "IfExp"),
    ("open('x')", "function call"),
    ("isna(1)", "not a column"),
    ("clv > ", "not valid"),
    ("clv in frequency", "list of constants"),
    ("clv in [frequency]", "not a constant"),
    ("`clv > 1", "unmatched backtick"),
    ("clv == b'x'", "not a number, a string"),
    ("x := 1", "not valid|NamedExpr"),
])
def test_unsafe_or_invalid_syntax_is_rejected(cond, match):
    with pytest.raises(InvalidParameterError, match=match):
        compile_condition(cond)


@pytest.mark.parametrize("cond, match", [
    ({"clv": 5}, r"\(op, value\) pair"),
    ({"clv": ("~", 5)}, r"\(op, value\) pair"),
    ({"clv": ("in", "EU")}, "needs a list"),
    ({}, "at least one column"),
    (42, "string expression, a dict"),
])
def test_bad_dict_or_type_conditions(cond, match):
    with pytest.raises(InvalidParameterError, match=match):
        compile_condition(cond)


@pytest.mark.parametrize("cond, match", [
    ("clv", "does not give True/False"),
    ("clv > 'EU'", "holds numbers and cannot be compared with the text"),
    ("frequency in ['a']", "holds numbers but the list holds text"),
    ("industry > 'retail'", "needs an ordered categorical"),
    ("industry + 1 > 2", "arithmetic needs numbers"),
    ("region + 1 > 2", r"Column 'region': 4 of 5 rows are not numbers(.|\n)*EU"),
    ("region >= 2", r"Column 'region': 4 of 5 rows are not numbers(.|\n)*APAC"),
    (lambda f: f["clv"].to_numpy()[:2] > 0, "gives 2 values for 5 rows"),
])
def test_evaluation_errors_name_the_problem(frame, cond, match):
    with pytest.raises(CustsegError, match=match):
        ev(frame, cond)


@pytest.mark.parametrize("store", ["object", "str"])
@pytest.mark.parametrize("cond", [
    "clv >= 500", "frequency - 1 >= 1", "-frequency < -2", "frequency in [0, 5]",
    "clv > frequency * 100", "frequency * 100 < clv", "clv != 120 and notna(clv)",
])
def test_numbers_stored_as_text_or_objects_compare_as_numbers(frame, store, cond):
    numbers = frame[["clv", "frequency"]]
    stored = numbers.astype(store).where(numbers.notna(), None)
    expected = ev(numbers, cond)
    cols = Columns(stored)
    np.testing.assert_array_equal(evaluate(compile_condition(cond), cols), expected)
    if "clv" in cond:  # converted once, for every later reader
        assert cols.get("clv").dtype == np.float64


def test_text_that_is_not_a_number_names_the_rows(frame):
    stored = frame.assign(clv=frame["clv"].astype(object))
    stored.loc[[1, 3], "clv"] = ["n/a", "twelve"]
    with pytest.raises(InvalidDataError, match=r"Column 'clv': 2 of 5 rows are not numbers\. "
                                               r"First 2 shown:(.|\n)*n/a(.|\n)*twelve"):
        ev(stored, "clv >= 100")


def test_text_compared_with_text_stays_text(frame):
    stored = frame.assign(code=["10", "9", "10", "x", None])
    np.testing.assert_array_equal(ev(stored, "code == '10'"),
                                  [True, False, True, False, False])
    np.testing.assert_array_equal(ev(stored, "region in ['EU', 'US'] and flag == True"),
                                  [True, False, True, False, False])


def test_callable_reading_a_missing_column_names_it(frame):
    with pytest.raises(MissingColumnError, match="reads column 'nope'"):
        ev(frame, lambda f: f["nope"] > 1)


def test_columns_and_text_round_trip():
    node = compile_condition("clv >= 500 and (region == 'EU' or isna(`last order`))")
    assert condition_columns(node) == ["clv", "region", "last order"]
    assert condition_columns(node, strict=True) == ["clv", "region"]
    text = condition_text(node)
    assert text == "clv >= 500 and (region == 'EU' or isna(`last order`))"
    assert compile_condition(text) == node
    assert condition_text(compile_condition({3: ("<", 1)})) == "column[3] < 1"
    assert condition_text(compile_condition("not flag")) == "not flag"
    assert condition_text(compile_condition(len)).startswith("<callable")
