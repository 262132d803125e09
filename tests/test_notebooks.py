"""The notebooks run from top to bottom without errors."""

from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def test_notebooks_are_present():
    assert [p.name for p in NOTEBOOKS] == ["01-quickstart.ipynb",
                                          "02-tiers-and-matrices.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes(path, tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    book = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(book, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    errors = [out for cell in book.cells if cell.cell_type == "code"
              for out in cell.get("outputs", []) if out.get("output_type") == "error"]
    assert not errors
    # every code cell ran and the last one produced output
    code = [cell for cell in book.cells if cell.cell_type == "code"]
    assert all(cell.get("execution_count") for cell in code)
    assert code[-1]["outputs"]
