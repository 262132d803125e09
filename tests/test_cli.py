"""The command line: help, version, one-line user errors with exit code 2, safe outputs."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from custseg import __version__
from custseg._config import JobConfig
from custseg.cli import main
from custseg.exceptions import CustsegError


def run_cli(*args):
    proc = subprocess.run([sys.executable, "-m", "custseg.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


def test_version_and_help(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"custseg {__version__}"
    for command in ([], ["segment"], ["demo"], ["migrate"]):
        with pytest.raises(SystemExit) as exc:
            main([*command, "--help"])
        assert exc.value.code == 0
        assert "usage: custseg" in capsys.readouterr().out


def test_no_command_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    assert "segment" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["segment", "missing.csv", "--out", "o.csv"], "Input file 'missing.csv' does not exist"),
    (["segment", "in.csv", "--out", "in.csv"], "is the input file"),
    (["segment", "in.csv", "--out", "o.csv", "--customer-id", "nope"],
     "Column 'nope' (given as the customer id column) is not in the input"),
    (["segment", "in.xlsx", "--out", "o.csv"], "Cannot tell the format"),
    (["segment", "in.csv", "--out", "no_such_dir/o.csv"], "folder of the output path"),
])
def test_user_errors_are_one_line_with_exit_code_2(tmp_path, monkeypatch, capsys, args,
                                                   message):
    monkeypatch.chdir(tmp_path)
    pd.DataFrame({"customer_id": [1, 2], "date": ["2020-01-01", "2020-02-01"],
                  "amount": [1.0, 2.0]}).to_csv("in.csv", index=False)
    (tmp_path / "in.xlsx").write_bytes(b"")
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1 and err.startswith("custseg segment: error:")
    assert "Traceback" not in err
    assert pd.read_csv("in.csv").shape == (2, 3)  # the input is never touched


def test_argparse_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["segment", "x.csv", "--out", "y.csv", "--horizon", "-3"])
    assert exc.value.code == 2
    assert "expected a positive number" in capsys.readouterr().err


def test_config_precedence_and_errors(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[job]\nfreq = "D"\nhorizon = 30\n[value_tiers]\nquantiles = [0.9, 0.5]\n')

    class Args:
        freq = "M"
        horizon = None

    config = JobConfig.from_sources(cfg, Args())
    assert config.freq == "M" and config.horizon == 30
    assert config.value_tiers == {"quantiles": [0.9, 0.5]}
    bad = tmp_path / "bad.toml"
    bad.write_text("[job]\nfrequency = 'D'\n")
    with pytest.raises(CustsegError, match="unknown option 'frequency' in \\[job\\]"):
        JobConfig.from_toml(bad)
    bad.write_text("[tiers]\nx = 1\n")
    with pytest.raises(CustsegError, match="unknown section \\[tiers\\]"):
        JobConfig.from_toml(bad)
    bad.write_text("[job\n")
    with pytest.raises(CustsegError, match="is not valid TOML"):
        JobConfig.from_toml(bad)
    with pytest.raises(CustsegError, match="Option 'freq' must be one of D, W, M"):
        JobConfig(freq="Q").validate()


def test_column_guessing():
    config = JobConfig()
    assert config.resolve_columns(["CustomerID", "InvoiceDate", "Revenue"]) == (
        "CustomerID", "InvoiceDate", "Revenue")
    assert config.resolve_columns(["customer_id", "date"]) == ("customer_id", "date", None)
    with pytest.raises(CustsegError, match="name it with --date COL"):
        config.resolve_columns(["customer_id", "when"])


def test_progress_bar_draws_only_when_enabled():
    import io

    from custseg._progress import StepProgress

    stream = io.StringIO()
    with StepProgress(2, enabled=True, stream=stream) as bar:
        bar.step("one")
        bar.step("two")
    text = stream.getvalue()
    assert "[" in text and "2/2" in text and "one" in text
    assert [name for name, _ in bar.timings] == ["one", "two"]
    quiet = io.StringIO()
    with StepProgress(1, stream=quiet) as bar:  # StringIO is not a terminal
        bar.step("x")
    assert quiet.getvalue() == ""
    assert np.isfinite(bar.timings[0][1])
