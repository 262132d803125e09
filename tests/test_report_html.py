"""The self-contained HTML report: sections, embedded images, no network, and a browser."""

import base64
import shutil
import struct
import subprocess
import warnings
from html.parser import HTMLParser
from pathlib import Path

import matplotlib
import matplotlib.image
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

from custseg.exceptions import (  # noqa: E402
    EmptyDataError,
    InvalidDataError,
    MissingColumnError,
)
from custseg.report._html import REPORT_SECTIONS, build_report  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
LABEL_COLUMNS = ["value_tier", "rfm_segment", "lifecycle", "value_matrix"]


class _Page(HTMLParser):
    """Sections, images, scripts, links and every attribute of a page."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.sections, self.images, self.scripts, self.links = [], [], [], []
        self.attributes, self.headings, self.body = [], [], {}
        self.style = ""
        self._in = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.attributes.extend((tag, k, v or "") for k, v in attrs.items())
        if tag == "section":
            self.sections.append(attrs.get("id"))
        elif tag == "img":
            self.images.append(attrs)
        elif tag == "script":
            self.scripts.append(attrs)
        elif tag == "link":
            self.links.append(attrs)
        elif tag == "body":
            self.body = attrs
        self._in = tag

    def handle_endtag(self, tag):
        self._in = None

    def handle_data(self, data):
        if self._in == "style":
            self.style += data
        elif self._in in ("h2", "h3"):
            self.headings.append(data)


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


# ---------------------------------------------------------------------- the CDNOW report
@pytest.fixture(scope="module")
def cdnow_job(cdnow_transactions):
    """Everything a whole job produces on the CDNOW sample, weekly."""
    from custseg.cluster import CustomerSegmenter
    from custseg.features import calibration_holdout_split, clean_transactions, rfm_summary
    from custseg.models._clv import CLVEstimator
    from custseg.tiers import LifecycleStages, RFMScorer, RFMSegmenter, ValueMatrix, ValueTiers

    log, cleaning = clean_transactions(cdnow_transactions, monetary_value_col="amount")
    table = rfm_summary(log, monetary_value_col="amount", freq="W", extra_columns=True)
    clv = CLVEstimator(time_unit="W").fit(table)
    table["p_alive"] = clv.transaction_model_.probability_alive(table)
    table["clv"] = clv.predict(table)
    tiers = ValueTiers(column="clv").fit(table)
    table["value_tier"] = pd.Categorical(tiers.predict(table), categories=tiers.classes_,
                                         ordered=True)
    scorer = RFMScorer().fit(table)
    scores = pd.DataFrame(np.asarray(scorer.transform(table)), index=table.index,
                          columns=scorer.get_feature_names_out())
    table = pd.concat([table, scores], axis=1)
    table["rfm_segment"] = RFMSegmenter().fit(table).predict(table)
    table["lifecycle"] = LifecycleStages().fit(table).predict(table)
    matrix = ValueMatrix(x="total_spend", y="clv").fit(table)
    table["value_matrix"] = matrix.predict(table)
    segmenter = CustomerSegmenter(n_segments=3, value_column="clv", random_state=0)
    segmenter.fit(table)
    holdout = calibration_holdout_split(log, "customer_id", "date", "1997-09-30",
                                        "1998-06-30", freq="W", monetary_value_col="amount")
    return {"table": table, "cleaning_report": cleaning, "clv_model": clv,
            "segmenter": segmenter, "holdout_table": holdout, "value_matrix": matrix}


@pytest.fixture(scope="module")
def report(cdnow_job, tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "report.html"
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*section could not be built")
        out = build_report(
            path, **cdnow_job, label_columns=LABEL_COLUMNS + ["not_a_column"],
            value_column="clv", title="CDNOW <sample> report",
            config={"freq": "W", "model": "bgnbd", "value_tiers": {"column": "clv"},
                    "segmenter": {}},
            timings=[("reading", 0.5), ("fitting", 1.5)])
    assert out == path
    text = path.read_text(encoding="utf-8")
    return path, text, _Page(text)


def test_every_section_is_present_in_order(report):
    _, _, page = report
    assert page.sections == list(REPORT_SECTIONS)
    for key, title in REPORT_SECTIONS.items():
        assert title in page.headings, key


def test_every_image_is_an_embedded_png(report):
    _, text, page = report
    assert len(page.images) >= 12
    for img in page.images:
        src = img["src"]
        assert src.startswith("data:image/png;base64,")
        data = base64.b64decode(src.split(",", 1)[1], validate=True)
        width, height = _png_size(data)
        assert width > 100 and height > 100
        assert img.get("alt")
    assert text.count("<img") == len(page.images)


def test_nothing_is_loaded_from_the_network(report):
    _, text, page = report
    assert page.links == []  # no style sheets or fonts
    assert all("src" not in s for s in page.scripts)  # inline script only
    for tag, name, value in page.attributes:
        assert "http://" not in value and "https://" not in value, (tag, name)
        assert not value.startswith("//"), (tag, name)
    assert "url(" not in page.style and "@import" not in page.style
    assert "data-images-loaded" in text and "naturalWidth" in text


def test_overview_and_data_quality_show_the_numbers(report, cdnow_job):
    _, text, _ = report
    table, cleaning = cdnow_job["table"], cdnow_job["cleaning_report"]
    assert f"{len(table):,}" in text
    assert f"{cleaning.n_output_rows:,}" in text and f"{cleaning.n_input_rows:,}" in text
    assert "1997-01-01 to 1998-06-30" in text
    assert f"{table['clv'].sum():,.0f}" in text
    duplicates = cleaning.duplicate_row
    assert duplicates.n_rows > 0
    assert (f"duplicate row: {duplicates.n_rows:,} rows, {duplicates.n_dropped:,} dropped "
            f"({duplicates.action})") in text
    first_example = duplicates.examples["customer_id"].iloc[0]
    assert f"<td>{first_example}</td>" in text


def test_models_show_estimates_with_intervals(report, cdnow_job):
    _, text, page = report
    model = cdnow_job["clv_model"].transaction_model_
    summary = model.summary()
    for col in ("coef", "se", "lower_95", "upper_95"):
        assert f"<th>{col}</th>" in text
    assert f"{summary.loc['alpha', 'coef']:.4g}" in text
    assert f"{summary.loc['alpha', 'upper_95']:.4g}" in text
    assert "Transaction model: BetaGeo" in page.headings
    assert "Spend model: GammaGamma" in page.headings


def test_fit_checks_use_the_holdout_period(report, cdnow_job):
    from sklearn.base import clone

    from custseg.models._diagnostics import calibration_table, holdout_errors

    _, text, _ = report
    holdout = cdnow_job["holdout_table"]
    model = clone(cdnow_job["clv_model"].transaction_model_)
    errors = holdout_errors(model.fit(calibration_table(holdout, monetary=False)), holdout)
    assert f"<td>{int(errors['total_actual']):,}</td>" in text
    assert 'alt="Actual and predicted holdout purchases by calibration frequency"' in text


def test_tiers_segments_configuration_and_timings(report, cdnow_job):
    _, text, page = report
    table = cdnow_job["table"]
    for col in LABEL_COLUMNS:
        assert col in page.headings
        for label in pd.unique(table[col].astype(str)):
            assert f"<th>{label}</th>" in text, (col, label)
    assert "Not in the table: not_a_column." in text
    for name in cdnow_job["segmenter"].segment_names_:
        assert f"<th>{name}</th>" in text
    assert "<th>value_tiers.column</th>" in text and "<th>segmenter</th>" in text
    assert "<td>(defaults)</td>" in text
    assert "<th>total</th>" in text and "<td>75.0%</td>" in text


def test_text_is_escaped(report):
    _, text, _ = report
    assert "<title>CDNOW &lt;sample&gt; report</title>" in text
    assert "<sample>" not in text


# ---------------------------------------------------------------------- optional pieces
def test_tiers_only_report(cdnow_summary, tmp_path):
    table = cdnow_summary.copy()
    table["tier"] = np.where(table["frequency"] > 2, "frequent <b>buyers</b>", "others")
    path = build_report(tmp_path / "tiers.html", table=table)
    text = path.read_text(encoding="utf-8")
    page = _Page(text)
    assert page.sections == ["overview", "tiers", "value-matrix"]
    assert "&lt;b&gt;buyers&lt;/b&gt;" in text and "<b>buyers</b>" not in text
    assert len(page.images) == 2
    assert f"{len(table):,}" in text


def test_table_without_rfm_columns(tmp_path):
    table = pd.DataFrame({"region": ["north", "south", "south", "east"],
                          "revenue": [10.0, 30.0, 20.0, 40.0]})
    path = build_report(tmp_path / "plain.html", table=table, value_column="revenue")
    page = _Page(path.read_text(encoding="utf-8"))
    assert page.sections == ["overview", "tiers"]
    assert len(page.images) == 1


def test_a_broken_section_is_reported_not_fatal(cdnow_summary, tmp_path):
    from custseg.cluster import CustomerSegmenter

    with pytest.warns(UserWarning, match="segments section could not be built: "
                                         "NotFittedError"):
        path = build_report(tmp_path / "broken.html", table=cdnow_summary,
                            segmenter=CustomerSegmenter())
    text = path.read_text(encoding="utf-8")
    assert 'class="warning">The segments section could not be built' in text


def test_bad_input_is_refused(cdnow_summary, tmp_path):
    with pytest.raises(EmptyDataError, match="customer table has no rows"):
        build_report(tmp_path / "empty.html", table=cdnow_summary.iloc[:0])
    with pytest.raises(MissingColumnError, match="missing column.*'clv'"):
        build_report(tmp_path / "x.html", table=cdnow_summary, value_column="clv")
    with pytest.raises(InvalidDataError, match="must be a pandas DataFrame"):
        build_report(tmp_path / "x.html", table=np.zeros((3, 3)))
    assert not (tmp_path / "x.html").exists()


# ---------------------------------------------------------------------- in a browser
def _chromium():
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and Path("/usr/bin/chromium").exists():
        found = "/usr/bin/chromium"
    return found


_BROWSER_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync",
                  "--virtual-time-budget=5000"]


@pytest.mark.skipif(_chromium() is None, reason="chromium not installed (CI installs it)")
def test_report_renders_in_a_browser(report, tmp_path):
    path, text, page = report
    browser = _chromium()
    profile = tmp_path / "profile"
    dump = subprocess.run(
        [browser, *_BROWSER_FLAGS, f"--user-data-dir={profile}", "--dump-dom",
         path.resolve().as_uri()],
        capture_output=True, text=True, timeout=120, check=True)
    rendered = _Page(dump.stdout)
    n_images = text.count("<img")
    assert n_images > 0
    assert rendered.body.get("data-images-total") == str(n_images)
    assert rendered.body.get("data-images-loaded") == str(n_images)

    shot = tmp_path / "report.png"
    subprocess.run(
        [browser, *_BROWSER_FLAGS, f"--user-data-dir={profile}", f"--screenshot={shot}",
         "--window-size=1280,4000", path.resolve().as_uri()],
        capture_output=True, timeout=120, check=True)
    assert shot.exists() and shot.stat().st_size > 0
    pixels = matplotlib.image.imread(shot)
    assert pixels.shape[:2] == (4000, 1280)
    assert float(pixels[..., :3].var()) > 0


# ---------------------------------------------------------------------- notes, title, file
def _small_table():
    from custseg.datasets import load_cdnow_summary

    return load_cdnow_summary().iloc[:200]


@pytest.fixture
def overview_only(monkeypatch):
    from custseg.report import _html

    monkeypatch.setattr(_html, "_BUILDERS", {"overview": _html._overview})


def test_notes_open_the_overview(tmp_path, overview_only):
    notes = ["no amount column: the table has no clv column.", "holdout check <skipped>."]
    text = build_report(tmp_path / "r.html", table=_small_table(),
                        notes=notes).read_text(encoding="utf-8")
    overview = text[text.index('<section id="overview">'):]
    assert overview.index("No amount column: the table has no clv column.") < \
        overview.index('class="cards"')
    assert "Holdout check &lt;skipped&gt;." in overview  # escaped


def test_title_with_undecodable_bytes_is_escaped(tmp_path, overview_only):
    import os

    name = os.fsdecode(b"caf\xe9.csv")  # a Latin-1 file name on a UTF-8 system
    path = build_report(tmp_path / "r.html", table=_small_table(), title=f"Report of {name}")
    text = path.read_text(encoding="utf-8")
    assert "<h1>Report of caf\\xe9.csv</h1>" in text
    other = build_report(tmp_path / "s.html", table=_small_table(), title="lone \ud800 here")
    assert "lone \\ud800 here" in other.read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html", "s.html"]


def test_failed_write_leaves_no_partial_file(tmp_path, overview_only, monkeypatch):
    def full_disk(self, *args, **kwargs):
        with open(self, "w", encoding="utf-8") as f:
            f.write("<!DOCTYPE html> half")
        raise OSError(28, "No space left on device")

    (tmp_path / "r.html").write_text("previous", encoding="utf-8")
    monkeypatch.setattr(Path, "write_text", full_disk)
    with pytest.raises(OSError, match="No space left on device"):
        build_report(tmp_path / "r.html", table=_small_table())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]
    assert (tmp_path / "r.html").read_bytes() == b"previous"
