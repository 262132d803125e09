"""Hypothesis fuzz targets: random (often invalid) input must only ever raise CustsegError.

Each target draws input of every kind a user may hand over, valid or not, and checks the
contract of the library: the call either succeeds with a valid result (no NaN, values in
range) or raises a :class:`~custseg.exceptions.CustsegError`; no other exception, and no
warning but the documented :class:`~custseg.exceptions.ConvergenceWarning`.

With the ``ci`` profile of tests/conftest.py they run a bounded number of examples; the
fuzz campaign of docs/fuzzing.md runs them with the ``fuzz`` profile::

    HYPOTHESIS_PROFILE=fuzz .venv/bin/python -m pytest tests/fuzz_targets.py -p no:cacheprovider
"""

import warnings

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from custseg.cluster import CustomerSegmenter
from custseg.exceptions import ConvergenceWarning, CustsegError
from custseg.features import calibration_holdout_split, clean_transactions, rfm_summary
from custseg.models import (
    BetaGeo,
    BetaGeoBetaBinom,
    ChurnEstimator,
    CLVEstimator,
    GammaGamma,
    ModifiedBetaGeo,
    ParetoNBD,
)
from custseg.tiers import (
    LifecycleStages,
    RFMScorer,
    RFMSegmenter,
    RuleTierer,
    SatisfactionTiers,
    ValueMatrix,
    ValueTiers,
)

# a draw may be large; the fuzz profile already lifts these checks
_settings = settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                            HealthCheck.filter_too_much])


class UnexpectedWarning(AssertionError):
    pass


def call(fn, *args, **kwargs):
    """Run ``fn``: return its result, or None when it raised a CustsegError. Any other
    exception propagates; any warning but ConvergenceWarning fails."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = fn(*args, **kwargs)
        except CustsegError as exc:
            note(f"{getattr(fn, '__qualname__', fn)}: {type(exc).__name__}: "
                 f"{str(exc).splitlines()[0]}")
            assert str(exc).strip(), "an error without a message"
            result = None
    unexpected = [w for w in caught if not issubclass(w.category, ConvergenceWarning)]
    if unexpected:
        w = unexpected[0]
        raise UnexpectedWarning(f"{w.category.__name__} from {w.filename}:{w.lineno}: "
                                f"{w.message}")
    return result


# ---- transaction logs -----------------------------------------------------------------------

ZONES = [None, "UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata"]
FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%Y-%m-%d %H:%M:%S", "%d.%m.%Y %H:%M",
           "%Y%m%d", "%b %d %Y"]


def _stamps(draw, n):
    days = draw(st.lists(st.integers(-400, 800), min_size=n, max_size=n))
    minutes = draw(st.lists(st.integers(0, 24 * 60 - 1), min_size=n, max_size=n))
    return [pd.Timestamp("2022-01-01") + pd.Timedelta(days=d, minutes=m)
            for d, m in zip(days, minutes)]


@st.composite
def id_columns(draw, n):
    kind = draw(st.sampled_from(["int", "big int", "float", "str", "mixed", "category",
                                 "bool", "Int64"]))
    ints = draw(st.lists(st.integers(-3, 12), min_size=n, max_size=n))
    if kind == "int":
        return pd.Series(ints, dtype=np.int64)
    if kind == "big int":
        return pd.Series([i * 10**15 + 7 for i in ints], dtype=np.int64)
    if kind == "float":
        return pd.Series([float(i) if i >= 0 else np.nan for i in ints])
    if kind == "Int64":
        return pd.Series([i if i >= 0 else None for i in ints], dtype="Int64")
    if kind == "bool":
        return pd.Series([i % 2 == 0 for i in ints])
    words = st.sampled_from(["a", "b", "c", "", "  ", "ü-7", "b ", "NaN", "None", "1"])
    if kind in ("str", "category"):
        values = draw(st.lists(words, min_size=n, max_size=n))
        return pd.Series(values, dtype="category" if kind == "category" else object)
    mixed = st.one_of(st.integers(-2, 5), words, st.none(), st.just(np.nan),
                      st.floats(-1, 5, allow_nan=False).map(lambda v: round(v, 1)))
    return pd.Series(draw(st.lists(mixed, min_size=n, max_size=n)), dtype=object)


@st.composite
def date_columns(draw, n):
    kind = draw(st.sampled_from(["naive", "aware", "mixed zones", "text", "mixed text",
                                 "garbage", "numbers"]))
    stamps = _stamps(draw, n)
    if kind == "naive":
        values = pd.Series(stamps, dtype="datetime64[ns]")
        if n and draw(st.booleans()):
            values[draw(st.lists(st.integers(0, n - 1), max_size=2))] = pd.NaT
        return values
    if kind == "aware":
        zone = draw(st.sampled_from(ZONES[1:]))
        return pd.Series(stamps, dtype="datetime64[ns]").dt.tz_localize(
            zone, nonexistent="shift_forward", ambiguous="NaT")
    if kind == "mixed zones":
        zones = draw(st.lists(st.sampled_from(ZONES), min_size=n, max_size=n))
        return pd.Series([s if z is None else s.tz_localize(z, nonexistent="shift_forward",
                                                             ambiguous=True)
                          for s, z in zip(stamps, zones)], dtype=object)
    if kind == "numbers":
        return pd.Series([int(s.strftime("%Y%m%d")) for s in stamps])
    fmt = draw(st.sampled_from(FORMATS))
    if kind == "text":
        return pd.Series([s.strftime(fmt) for s in stamps], dtype=object)
    junk = st.sampled_from(["", "not a date", "2022-13-45", "31/02/2022", "0", None,
                            "2022-03-01T10:00:00+05:30", "2022-03-01Z", "yesterday"])
    if kind == "mixed text":
        fmts = draw(st.lists(st.sampled_from(FORMATS), min_size=n, max_size=n))
        return pd.Series([s.strftime(f) for s, f in zip(stamps, fmts)], dtype=object)
    return pd.Series([s.strftime(fmt) if draw(st.booleans()) else draw(junk)
                      for s in stamps], dtype=object)


@st.composite
def amount_columns(draw, n):
    kind = draw(st.sampled_from(["float", "int", "text", "mixed"]))
    floats = st.floats(-1e3, 1e6, allow_nan=False, allow_infinity=False).map(
        lambda v: round(v, 2))
    special = st.sampled_from([0.0, -0.0, np.nan, np.inf, -np.inf, 1e308, 5e-324])
    if kind == "float":
        return pd.Series(draw(st.lists(st.one_of(floats, special), min_size=n, max_size=n)),
                         dtype=float)
    if kind == "int":
        return pd.Series(draw(st.lists(st.integers(-100, 10**6), min_size=n, max_size=n)))
    text = st.sampled_from(["$12.50", "€3", "12,50", "1,234.00", "-$4.00", "abc", "",
                            "7 €", "£0.99", " 42 ", "1e3", "inf", "NaN", "$$5"])
    if kind == "text":
        return pd.Series(draw(st.lists(text, min_size=n, max_size=n)), dtype=object)
    values = st.one_of(floats, special, text, st.none(), st.integers(-5, 5))
    return pd.Series(draw(st.lists(values, min_size=n, max_size=n)), dtype=object)


@st.composite
def transaction_logs(draw):
    n = draw(st.integers(0, 30))
    log = pd.DataFrame({"customer_id": draw(id_columns(n)), "date": draw(date_columns(n)),
                        "amount": draw(amount_columns(n))})
    if n and draw(st.booleans()):  # duplicated rows
        log = pd.concat([log, log.sample(frac=0.3, random_state=0)], ignore_index=True)
    return log


@st.composite
def log_options(draw):
    end = draw(st.one_of(st.none(), st.sampled_from(
        ["2021-06-30", "2022-01-01", "2022-06-15 12:00", "2024-01-01", "not a date",
         "2022-06-15T12:00:00+02:00"])))
    return {
        "monetary_value_col": draw(st.sampled_from([None, "amount"])),
        "observation_period_end": end,
        "freq": draw(st.sampled_from(["D", "W", "M", "h", "Q"])),
        "datetime_format": draw(st.one_of(st.none(), st.sampled_from(FORMATS))),
    }


def check_customer_table(table, monetary):
    assert table.index.is_unique
    values = table[["frequency", "recency", "T"]].to_numpy(dtype=float)
    assert np.all(np.isfinite(values))
    f, r, T = values.T
    assert np.all(f >= 0) and np.all(f == np.round(f))
    assert np.all((r >= 0) & (r <= T + 1e-9))
    if monetary:
        m = table["monetary_value"].to_numpy(dtype=float)
        assert np.all(np.isfinite(m)) and np.all(m >= 0)


@_settings
@given(log=transaction_logs(), options=log_options(),
       first=st.booleans(), extra=st.booleans())
def test_fuzz_rfm_summary(log, options, first, extra):
    note(repr(log.dtypes.to_dict()))
    table = call(rfm_summary, log, include_first_transaction=first, extra_columns=extra,
                 **options)
    if table is not None:
        check_customer_table(table, options["monetary_value_col"] is not None)
        assert len(table) <= log["customer_id"].nunique(dropna=False)


@_settings
@given(log=transaction_logs(), options=log_options(),
       cut=st.sampled_from(["2021-12-31", "2022-03-01", "2022-06-30 18:00", "2023-01-01"]))
def test_fuzz_calibration_holdout_split(log, options, cut):
    table = call(calibration_holdout_split, log, calibration_period_end=cut, **options)
    if table is not None:
        cal = table.rename(columns=lambda c: c.removesuffix("_cal"))
        check_customer_table(cal, options["monetary_value_col"] is not None)
        assert np.all(np.isfinite(table["frequency_holdout"]))
        assert (table["frequency_holdout"] >= 0).all()


@_settings
@given(log=transaction_logs(), options=log_options(),
       returns=st.sampled_from(["drop", "net", "keep"]),
       policy=st.sampled_from(["drop", "raise"]))
def test_fuzz_clean_transactions(log, options, returns, policy):
    options.pop("freq")
    result = call(clean_transactions, log, returns=returns, missing_ids=policy,
                  bad_dates=policy, **options)
    if result is None:
        return
    cleaned, report = result
    assert report.n_input_rows == report.n_output_rows + report.n_dropped_rows
    assert report.n_output_rows == len(cleaned)
    assert report.n_input_customers == (report.n_output_customers
                                        + len(report.dropped_customers))
    if options["monetary_value_col"] and returns != "keep" and len(cleaned):
        assert (cleaned["amount"].astype(float) > 0).all()
    # a cleaned log is a valid input of rfm_summary, or is empty
    if len(cleaned):
        table = call(rfm_summary, cleaned, monetary_value_col=options["monetary_value_col"],
                     datetime_format=options["datetime_format"])
        if table is not None:
            check_customer_table(table, options["monetary_value_col"] is not None)


# ---- customer tables ------------------------------------------------------------------------

CELL = st.one_of(
    st.integers(0, 60).map(float),  # usually valid
    st.integers(0, 60).map(float),
    st.floats(0, 1e5, allow_nan=False),
    st.sampled_from([-1.0, 0.5, np.nan, np.inf, -np.inf, 1e4, 1e5, 1e300, 5e-324]),
    st.sampled_from(["3", "x", "", None, True]),
)


@st.composite
def customer_tables(draw, columns=("frequency", "recency", "T", "monetary_value",
                                   "n_periods", "clv", "nps", "p_alive")):
    n = draw(st.integers(0, 25))
    corrupt = draw(st.booleans())
    valid_share = draw(st.sampled_from([1.0, 0.9]))
    rows = []
    for _ in range(n):
        age = float(draw(st.integers(1, 60)))
        x = float(draw(st.integers(0, 20)))
        t_x = float(draw(st.integers(int(min(x, age)), int(age)))) if x else 0.0
        money = float(draw(st.integers(1, 500))) if x else 0.0
        rows.append([x, t_x, age, money, age, money * (x + 1), float(x % 11),
                     draw(st.sampled_from([0.05, 0.5, 0.95]))])
    table = pd.DataFrame(rows, columns=list(columns), dtype=float)
    if corrupt and n:
        cells = draw(st.lists(st.tuples(st.integers(0, n - 1), st.sampled_from(columns),
                                        CELL), max_size=max(1, int(n * (1 - valid_share)))))
        table = table.astype(object)
        for i, col, value in cells:
            table.iloc[i, table.columns.get_loc(col)] = value
    elif draw(st.booleans()):  # the valid table in another dtype (all values are whole
        dtype = draw(st.sampled_from(["object", "Int64", "int64"]))  # but p_alive)
        whole = [c for c in columns if c != "p_alive"]
        table[whole] = table[whole].astype(dtype)
    return table


MODELS = {
    "BetaGeo": BetaGeo, "ModifiedBetaGeo": ModifiedBetaGeo,
    "ParetoNBD": lambda: ParetoNBD(n_init=1, random_state=0),
    "BetaGeoBetaBinom": BetaGeoBetaBinom, "GammaGamma": GammaGamma,
    "CLVEstimator": lambda: CLVEstimator(horizon=3), "ChurnEstimator": ChurnEstimator,
}


def check_predictions(model, X):
    outputs = [call(model.predict, X)]
    if hasattr(model, "probability_alive"):
        alive = call(model.probability_alive, X)
        if alive is not None:
            assert np.all((alive >= 0) & (alive <= 1))
        outputs += [call(model.expected_purchases, X, t=10), call(model.score_samples, X)]
    if hasattr(model, "predict_proba"):
        outputs.append(call(model.predict_proba, X))
    for out in outputs:
        if out is not None and np.asarray(out).dtype.kind == "f":
            assert not np.any(np.isnan(out))
            assert np.all(np.isfinite(out))


@_settings
@given(name=st.sampled_from(list(MODELS)), fit_table=customer_tables(),
       score_table=customer_tables())
def test_fuzz_models(name, fit_table, score_table):
    model = MODELS[name]()
    if call(model.fit, fit_table) is None:
        return
    if hasattr(model, "params_"):
        assert np.all(np.isfinite(model.params_))
    check_predictions(model, fit_table)
    check_predictions(model, score_table)


TIERERS = {
    "ValueTiers": lambda: ValueTiers(column="clv"),
    "ValueTiers-pareto": lambda: ValueTiers(column="clv", mode="pareto"),
    "RFMScorer": RFMScorer, "RFMSegmenter": RFMSegmenter,
    "LifecycleStages": LifecycleStages,
    "LifecycleStages-p_alive": lambda: LifecycleStages(p_alive_thresholds=(0.6, 0.2)),
    "ValueMatrix": ValueMatrix, "SatisfactionTiers": SatisfactionTiers,
    "RuleTierer": lambda: RuleTierer([("vip", "clv >= 100 and nps >= 9"),
                                      ("lapsed", "T - recency > 20")]),
    "CustomerSegmenter": lambda: CustomerSegmenter(n_segments=2, random_state=0),
}


@_settings
@given(name=st.sampled_from(list(TIERERS)), fit_table=customer_tables(),
       score_table=customer_tables())
def test_fuzz_tierers_and_segmenter(name, fit_table, score_table):
    est = TIERERS[name]()
    labels = call(est.fit_predict, fit_table)
    if labels is None:
        return
    assert len(labels) == len(fit_table)
    for X in (fit_table, score_table):
        out = call(est.predict, X)
        if out is not None:
            assert len(out) == len(X)
            if hasattr(est, "classes_"):
                assert np.isin(out, est.classes_).all()
            else:
                assert set(np.unique(out)) <= set(range(est.n_segments_))
