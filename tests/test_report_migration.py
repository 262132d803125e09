import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from custseg.exceptions import InvalidDataError, InvalidParameterError
from custseg.report import migration_matrix

TIERS = ["gold", "silver", "bronze"]


def snapshot(labels: dict, categories=TIERS):
    ids = list(labels)
    return pd.Series(pd.Categorical([labels[i] for i in ids], categories=categories),
                     index=pd.Index(ids, name="customer_id"))


@pytest.fixture
def snapshots():
    before = snapshot({1: "gold", 2: "gold", 3: "silver", 4: "silver", 5: "silver",
                       6: "bronze", 7: "bronze"})
    # 1 stays gold, 2 drops to silver, 3 rises to gold, 4 stays, 5 leaves, 6 stays,
    # 7 rises to silver, 8 and 9 are new
    after = snapshot({1: "gold", 2: "silver", 3: "gold", 4: "silver", 6: "bronze",
                      7: "silver", 8: "bronze", 9: "gold"})
    return before, after


def test_hand_made_snapshots(snapshots):
    before, after = snapshots
    counts = migration_matrix(before, after)
    expected = pd.DataFrame(
        [[1, 1, 0, 0],
         [1, 1, 0, 1],
         [0, 1, 1, 0],
         [1, 0, 1, 0]],
        index=pd.Index(["gold", "silver", "bronze", "(new)"], name="before", dtype=object),
        columns=pd.Index(["gold", "silver", "bronze", "(gone)"], name="after", dtype=object))
    pd.testing.assert_frame_equal(counts, expected)


def test_row_shares(snapshots):
    before, after = snapshots
    shares = migration_matrix(before, after, normalize="index")
    np.testing.assert_allclose(shares.sum(axis=1), 1.0)
    np.testing.assert_allclose(shares.loc["silver"], [1 / 3, 1 / 3, 0, 1 / 3])
    np.testing.assert_allclose(shares.loc["(new)"], [0.5, 0, 0.5, 0])


def test_empty_rows_are_nan_and_categories_are_kept():
    before = snapshot({1: "gold", 2: "gold"})
    after = snapshot({1: "gold", 2: "bronze"})
    counts = migration_matrix(before, after)
    assert list(counts.index) == TIERS + ["(new)"]
    assert list(counts.columns) == TIERS + ["(gone)"]
    assert counts.loc["silver"].sum() == 0
    shares = migration_matrix(before, after, normalize="index")
    assert shares.loc["silver"].isna().all()
    assert shares.loc["(new)"].isna().all()
    np.testing.assert_allclose(shares.loc["gold"], [0.5, 0, 0.5, 0])


def test_aligned_on_customer_id_not_position(snapshots):
    before, after = snapshots
    shuffled = after.sample(frac=1.0, random_state=1)
    pd.testing.assert_frame_equal(migration_matrix(before, shuffled),
                                  migration_matrix(before, after))


def test_different_label_sets_and_plain_labels():
    before = pd.Series([2, 1, 1, 0], index=["a", "b", "c", "d"])
    after = pd.Series(["x", "y", "x"], index=["d", "c", "e"])
    counts = migration_matrix(before, after)
    assert list(counts.index) == [0, 1, 2, "(new)"]  # sorted labels
    assert list(counts.columns) == ["x", "y", "(gone)"]
    assert counts.loc[0, "x"] == 1 and counts.loc[1, "y"] == 1
    assert counts.loc[1, "(gone)"] == 1 and counts.loc[2, "(gone)"] == 1
    assert counts.loc["(new)", "x"] == 1
    assert counts.to_numpy().sum() == 5


def test_errors(snapshots):
    before, after = snapshots
    with pytest.raises(InvalidParameterError, match="normalize must be False"):
        migration_matrix(before, after, normalize="columns")
    with pytest.raises(InvalidDataError, match="labels_before must be a pandas Series"):
        migration_matrix(before.to_numpy(), after)
    dup = pd.concat([after, after.iloc[:1]])
    with pytest.raises(InvalidDataError, match="Column 'customer_id': 2 of 9 rows of "
                                               "labels_after have a duplicated customer id"):
        migration_matrix(before, dup)
    missing = before.astype(object)
    missing.iloc[[0, 2]] = None
    with pytest.raises(InvalidDataError, match="(?s)2 of 7 rows of labels_before have no "
                                               "label.*\n1 .*\n3 "):
        migration_matrix(missing, after)
    with pytest.raises(InvalidDataError, match="uses the label '\\(new\\)'"):
        migration_matrix(pd.Series(["(new)"], index=[1]), after)


@given(st.dictionaries(st.integers(0, 40), st.sampled_from(TIERS), max_size=30),
       st.dictionaries(st.integers(0, 40), st.sampled_from(TIERS), max_size=30))
def test_margins(before_map, after_map):
    before, after = snapshot(before_map), snapshot(after_map)
    counts = migration_matrix(before, after)
    both = set(before_map) | set(after_map)
    assert counts.to_numpy().sum() == len(both)
    assert counts.loc["(new)", "(gone)"] == 0
    row_totals = counts.drop(index="(new)").sum(axis=1)
    np.testing.assert_array_equal(row_totals, before.value_counts().reindex(TIERS))
    col_totals = counts.drop(columns="(gone)").sum(axis=0)
    np.testing.assert_array_equal(col_totals, after.value_counts().reindex(TIERS))
    assert counts.loc["(new)"].sum() == len(set(after_map) - set(before_map))
    assert counts["(gone)"].sum() == len(set(before_map) - set(after_map))
    stayed = [c for c in before_map if after_map.get(c) == before_map[c]]
    assert np.trace(counts.loc[TIERS, TIERS].to_numpy()) == len(stayed)
