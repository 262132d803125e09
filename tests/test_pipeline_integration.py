"""One scikit-learn Pipeline from the customer table to tiers and segments.

Fitted on a calibration snapshot, it predicts a later snapshot with the cut points,
parameters and centroids learned on the first one.
"""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline

from custseg.cluster import CustomerSegmenter
from custseg.features import rfm_summary
from custseg.models import BetaGeo, CLVEstimator, GammaGamma
from custseg.tiers import LifecycleStages, RFMSegmenter, ValueMatrix, ValueTiers

RFM = ["frequency", "recency", "T", "monetary_value"]


def _pipeline():
    scores = ColumnTransformer(
        [("bgnbd", BetaGeo(horizon=52), ["frequency", "recency", "T"]),
         ("clv", CLVEstimator(BetaGeo(), GammaGamma(), horizon=12, time_unit="W"), RFM),
         ("rfm", "passthrough", RFM)],
        verbose_feature_names_out=False)
    labels = ColumnTransformer(
        [("value_tier", ValueTiers(column="clv"), ["clv"]),
         ("rfm_segment", RFMSegmenter(), RFM),
         ("lifecycle", LifecycleStages(), ["recency", "T", "p_alive"]),
         ("value_matrix", ValueMatrix(x="frequency", y="clv"), ["frequency", "clv"]),
         ("segment", CustomerSegmenter(n_segments=3, value_column="clv", random_state=0,
                                       features=["frequency", "recency", "monetary_value",
                                                 "clv"]),
          ["frequency", "recency", "monetary_value", "clv"])],
        verbose_feature_names_out=False)
    return Pipeline([("scores", scores), ("labels", labels)]).set_output(transform="pandas")


@pytest.fixture(scope="module")
def snapshots(cdnow_transactions):
    log = cdnow_transactions
    kwargs = dict(customer_id_col="customer_id", datetime_col="date",
                  monetary_value_col="amount", freq="W")
    early = rfm_summary(log[log["date"] <= "1997-09-30"],
                        observation_period_end="1997-09-30", **kwargs)
    late = rfm_summary(log, observation_period_end="1998-06-30", **kwargs)
    return early, late


def test_pipeline_fits_one_snapshot_and_predicts_the_next(snapshots):
    early, late = snapshots
    pipe = _pipeline().fit(early)
    out = pipe.transform(late)
    assert list(out.columns) == ["value_tier", "rfm_segment", "lifecycle", "value_matrix",
                                 "segment"]
    assert out.index.equals(late.index)
    assert out.notna().all().all()

    # the same cut points as the pieces fitted by hand on the calibration snapshot
    model = BetaGeo(horizon=52).fit(early)
    clv = CLVEstimator(BetaGeo(), GammaGamma(), horizon=12, time_unit="W").fit(early)
    scored_early = early.assign(p_alive=model.probability_alive(early),
                                clv=clv.predict(early))
    scored_late = late.assign(p_alive=model.probability_alive(late), clv=clv.predict(late))
    tiers = ValueTiers(column="clv").fit(scored_early)
    np.testing.assert_array_equal(out["value_tier"].to_numpy(dtype=object),
                                  np.asarray(tiers.predict(scored_late), dtype=object))
    fitted_tiers = pipe.named_steps["labels"].named_transformers_["value_tier"]
    np.testing.assert_allclose(fitted_tiers.thresholds_, tiers.thresholds_)
    fitted_model = pipe.named_steps["scores"].named_transformers_["bgnbd"]
    pd.testing.assert_series_equal(fitted_model.params_, model.params_)

    # refitting on the later snapshot would move the cut points: predictions used the old
    refit = ValueTiers(column="clv").fit(scored_late)
    assert not np.allclose(refit.thresholds_, tiers.thresholds_)

    # segment 0 is the most valuable by CLV on the training snapshot
    seg_early = pipe.transform(early)["segment"].to_numpy()
    means = pd.Series(scored_early["clv"].to_numpy()).groupby(seg_early).mean()
    assert means.idxmax() == 0


def test_pipeline_clones_and_predicts_identically(snapshots):
    early, late = snapshots
    a = _pipeline().fit(early).transform(late)
    b = clone(_pipeline()).fit(early.sample(frac=1.0, random_state=3)).transform(late)
    pd.testing.assert_frame_equal(a, b)
