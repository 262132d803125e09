"""The documentation builds with warnings as errors, and the docstring examples run."""

import doctest
import importlib
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import custseg

ROOT = Path(__file__).resolve().parents[1]


def _all_modules():
    """Every module of the package: the examples live in the implementation modules."""
    return ["custseg"] + sorted(
        info.name for info in pkgutil.walk_packages(custseg.__path__, "custseg."))


@pytest.mark.parametrize("module_name", _all_modules())
def test_docstring_examples_run(module_name):
    if module_name == "custseg.dask":
        pytest.importorskip("dask.dataframe")
    module = importlib.import_module(module_name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(module, module_name):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} docstring examples failed in {module_name}"


@pytest.mark.skipif(shutil.which("sphinx-build") is None and
                    importlib.util.find_spec("sphinx") is None,
                    reason="sphinx is not installed (it is in the dev extra)")
def test_docs_build_without_warnings(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         str(ROOT / "docs"), str(tmp_path / "html")],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert (tmp_path / "html" / "api.html").exists()
    assert (tmp_path / "html" / "guide" / "models.html").exists()
