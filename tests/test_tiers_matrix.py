"""ValueMatrix."""

import numpy as np
import pandas as pd
import pytest

from custseg.exceptions import InvalidDataError, InvalidParameterError, MissingColumnError
from custseg.tiers import ValueMatrix
from custseg.tiers._base import quantile_edges


@pytest.fixture
def table(rng):
    n = 600
    return pd.DataFrame({"frequency": rng.poisson(2.0, n),
                         "monetary_value": rng.gamma(2.0, 25.0, n),
                         "clv": rng.gamma(1.0, 100.0, n)})


def test_two_by_two_cells(table):
    matrix = ValueMatrix().fit(table)
    (tx,) = quantile_edges(table["frequency"], [0.5])
    (ty,) = quantile_edges(table["monetary_value"], [0.5])
    np.testing.assert_array_equal(matrix.x_thresholds_, [tx])
    np.testing.assert_array_equal(matrix.y_thresholds_, [ty])
    hx, hy = table["frequency"] >= tx, table["monetary_value"] >= ty
    expected = np.select([hy & hx, hy, hx], ["strategic", "develop", "maintain"], "monitor")
    np.testing.assert_array_equal(matrix.predict(table), expected.astype(object))
    assert matrix.classes_.tolist() == ["monitor", "maintain", "develop", "strategic"]


def test_three_by_three_with_thresholds_and_names(table):
    names = [["a", "b", "c"], ["d", "e", "f"], ["g", "h", "i"]]
    matrix = ValueMatrix(x="clv", y="monetary_value", n_bins=3, mode="threshold",
                         thresholds={"x": [50, 150], "y": [30, 80]}, names=names).fit(table)
    col = 2 - np.searchsorted([50, 150], table["clv"], side="right")
    row = 2 - np.searchsorted([30, 80], table["monetary_value"], side="right")
    expected = np.array(names, dtype=object)[row, col]
    np.testing.assert_array_equal(matrix.predict(table), expected)


def test_default_names_beyond_two_by_two(table):
    matrix = ValueMatrix(n_bins=3).fit(table)
    assert matrix.classes_[-1] == "high monetary_value / high frequency"
    assert matrix.classes_[0] == "low monetary_value / low frequency"
    assert len(set(matrix.classes_)) == 9


def test_cell_table(table):
    matrix = ValueMatrix().fit(table)
    cells = matrix.cell_table(table, value="clv")
    labels = matrix.predict(table)
    assert cells.index.tolist() == ["strategic", "develop", "maintain", "monitor"]
    assert cells["customers"].sum() == len(table)
    for name, row in cells.iterrows():
        assert row["customers"] == (labels == name).sum()
        assert row["value"] == pytest.approx(table["clv"][labels == name].sum())
    assert cells["value_share"].sum() == pytest.approx(1.0)
    assert cells["customer_share"].sum() == pytest.approx(1.0)
    assert cells.loc["develop", ["y_level", "x_level"]].tolist() == ["high", "low"]
    by_array = matrix.cell_table(table, value=table["clv"].to_numpy())
    pd.testing.assert_frame_equal(by_array, cells)
    assert "value" not in matrix.cell_table(table).columns


def test_matrix_errors(table):
    with pytest.raises(InvalidParameterError, match="needs thresholds"):
        ValueMatrix(mode="threshold").fit(table)
    with pytest.raises(InvalidParameterError, match=r"thresholds\['y'\] must be strictly"):
        ValueMatrix(mode="threshold", thresholds={"x": [1, 2], "y": [5, 2]}, n_bins=3).fit(table)
    with pytest.raises(InvalidParameterError, match="needs 2 cut points"):
        ValueMatrix(mode="threshold", thresholds={"x": [1], "y": [5]}, n_bins=3).fit(table)
    with pytest.raises(InvalidParameterError, match="2 rows of 2 cell names"):
        ValueMatrix(names=[["a", "b", "c"], ["d", "e", "f"]]).fit(table)
    with pytest.raises(InvalidParameterError, match="must be distinct"):
        ValueMatrix(names=[["a", "a"], ["b", "c"]]).fit(table)
    with pytest.raises(MissingColumnError, match="'margin'"):
        ValueMatrix(y="margin").fit(table)
    matrix = ValueMatrix().fit(table)
    with pytest.raises(MissingColumnError, match="'revenue'"):
        matrix.cell_table(table, value="revenue")
    with pytest.raises(InvalidDataError, match="3 numbers for 600 customers"):
        matrix.cell_table(table, value=[1, 2, 3])
    with pytest.raises(InvalidDataError, match="'value': 1 of 600 rows are NaN"):
        matrix.cell_table(table, value=np.r_[np.nan, np.ones(599)])


def test_array_columns_follow_the_parameter_order(table):
    X = table[["frequency", "monetary_value"]].to_numpy()
    mixed = ValueMatrix(x=0, y="monetary_value").fit(X)
    np.testing.assert_array_equal(mixed.predict(X), ValueMatrix().fit(table).predict(table))
