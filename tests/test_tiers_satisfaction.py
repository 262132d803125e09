"""SatisfactionTiers: NPS groups, CSAT bands and net scores."""

import numpy as np
import pandas as pd
import pytest

from custseg.exceptions import InvalidDataError, InvalidParameterError
from custseg.tiers import SatisfactionTiers


@pytest.fixture
def survey(rng):
    n = 500
    return pd.DataFrame({"nps": rng.integers(0, 11, n), "csat": rng.integers(1, 6, n),
                         "tier": rng.choice(["high", "mid", "low"], n)})


def test_nps_groups_and_net_score(survey):
    nps = SatisfactionTiers().fit(survey)
    labels = nps.predict(survey)
    s = survey["nps"]
    expected = np.select([s >= 9, s >= 7], ["promoter", "passive"], "detractor")
    np.testing.assert_array_equal(labels, expected.astype(object))
    assert nps.classes_.tolist() == ["detractor", "passive", "promoter"]
    overall = 100 * ((s >= 9).mean() - (s <= 6).mean())
    assert nps.net_score(survey) == pytest.approx(overall)
    by_tier = nps.net_score(survey, by="tier")
    for tier, value in by_tier.items():
        part = s[survey["tier"] == tier]
        assert value == pytest.approx(100 * ((part >= 9).mean() - (part <= 6).mean()))
    assert by_tier.name == "net_score" and by_tier.index.name == "tier"
    series = pd.Series(survey["tier"].to_numpy(), index=survey.index, name="segment")
    pd.testing.assert_series_equal(nps.net_score(survey, by=series.sample(frac=1.0,
                                                                          random_state=1)),
                                   by_tier.rename_axis("segment"))
    np.testing.assert_allclose(nps.net_score(survey, by=survey["tier"].to_list()),
                               by_tier.to_numpy())


def test_csat_and_custom_bands(survey):
    csat = SatisfactionTiers(column="csat", scheme="csat").fit(survey)
    s = survey["csat"]
    expected = np.select([s >= 4, s >= 3], ["satisfied", "neutral"], "dissatisfied")
    np.testing.assert_array_equal(csat.predict(survey), expected.astype(object))
    assert csat.get_feature_names_out().tolist() == ["csat_tier"]
    custom = SatisfactionTiers(column="csat", scheme="csat",
                               bands=[("top box", 5), ("rest", 1)]).fit(survey)
    np.testing.assert_array_equal(custom.predict(survey),
                                  np.where(s == 5, "top box", "rest").astype(object))
    assert custom.net_score(survey) == pytest.approx(100 * ((s == 5).mean() - (s < 5).mean()))
    seven = SatisfactionTiers(column="csat", scale=(1, 7), bands=[("high", 6), ("mid", 3),
                                                                   ("low", 1)])
    assert seven.fit(survey).thresholds_.tolist() == [3.0, 6.0]


def test_satisfaction_errors(survey):
    out_of_scale = survey.assign(nps=survey["nps"].replace(10, 11))
    n_bad = int((survey["nps"] == 10).sum())
    with pytest.raises(InvalidDataError,
                       match=f"'nps': {n_bad} of 500 rows are outside the scale 0..10"):
        SatisfactionTiers().fit(out_of_scale)
    nps = SatisfactionTiers().fit(survey)
    with pytest.raises(InvalidDataError, match="Negative values in data"):
        nps.predict(survey.assign(nps=survey["nps"] - 1))
    with pytest.raises(InvalidDataError, match="'csat': .* outside the scale 1..5"):
        SatisfactionTiers(column="csat", scheme="csat").fit(survey.assign(csat=0))
    holes = survey.astype({"nps": float})
    holes.loc[4, "nps"] = np.nan
    with pytest.raises(InvalidDataError, match="'nps': 1 of 500 rows are NaN"):
        nps.predict(holes)
    for bands, match in [([("a", 3), ("b", 7), ("c", 0)], "strictly decrease"),
                         ([("a", 1)], "at least two bands"),
                         ([("a", 12), ("b", 0)], "do not split the scale"),
                         ([("a", 5), ("a", 0)], "must be distinct"),
                         (["a", "b"], "list of numbers|pairs")]:
        with pytest.raises(InvalidParameterError, match=match):
            SatisfactionTiers(bands=bands).fit(survey)
    with pytest.raises(InvalidParameterError, match="scale must be"):
        SatisfactionTiers(scale=(5, 1)).fit(survey)
    with pytest.raises(InvalidDataError, match="by holds 2 labels for 500 rows"):
        nps.net_score(survey, by=["a", "b"])
