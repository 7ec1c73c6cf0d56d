"""The tutorial notebooks in docs/notebooks/ run from top to bottom without an error.

Each is executed in a fresh Jupyter kernel (nbclient, the docs extra; skipped
when it is not installed) in a temporary folder, with a 30 s limit per cell,
and the outputs that carry the lesson are checked: the hand-computed
gradients equal backward()'s, the graph draws itself as SVG and the tracer as
an HTML table, the sweep marks its best cell. The docs site shows the same
notebooks executed at build time (mkdocs-jupyter, ``execute: true``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="nbformat is in the docs extra")
nbclient = pytest.importorskip("nbclient", reason="nbclient is in the docs extra")
pytest.importorskip("ipykernel", reason="ipykernel is in the docs extra")

NOTEBOOKS = Path(__file__).resolve().parent.parent / "docs" / "notebooks"


def execute(name: str, workdir: Path):
    book = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = nbclient.NotebookClient(
        book,
        timeout=30,
        kernel_name="python3",
        resources={"metadata": {"path": str(workdir)}},
    )
    client.execute()
    return book


def outputs(book) -> list:
    """Every output of every code cell, as (mime type or "stream", text)."""
    found = []
    for cell in book.cells:
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                found.append(("stream", output.text))
            for mime, value in output.get("data", {}).items():
                found.append((mime, value if isinstance(value, str) else ""))
    return found


def test_the_notebooks_folder_holds_the_three_tutorials():
    assert sorted(path.name for path in NOTEBOOKS.glob("*.ipynb")) == [
        "backprop-by-hand.ipynb",
        "inside-a-graph.ipynb",
        "training-digits.ipynb",
    ]
    for path in NOTEBOOKS.glob("*.ipynb"):
        book = nbformat.read(path, as_version=4)
        nbformat.validate(book)
        stale = [cell for cell in book.cells if cell.get("outputs")]
        assert not stale, f"{path.name} is committed with outputs (they are made fresh)"


def test_backprop_notebook_hand_gradients_equal_backward(tmp_path):
    found = outputs(execute("backprop-by-hand.ipynb", tmp_path))
    text = "".join(value for mime, value in found if mime == "stream")
    differences = [float(d) for d in re.findall(r"= (\d\.\de-\d+)", text)]
    assert len(differences) == 6 and max(differences) < 1e-12
    assert any(mime == "text/html" and "<table>" in value for mime, value in found)


def test_inside_a_graph_notebook_draws_the_graph_and_says_when_it_is_freed(tmp_path):
    found = outputs(execute("inside-a-graph.ipynb", tmp_path))
    text = "".join(value for mime, value in found if mime == "stream")
    assert "const (8, 64) float64" in text and "array(" not in text
    assert "this graph was freed by backward()" in text
    assert "Log produced non-finite values" in text
    assert any(mime == "image/svg+xml" and "<svg" in value for mime, value in found)
    assert any(mime == "text/html" and "SoftmaxCrossEntropy" in value for mime, value in found)


def test_training_notebook_trains_and_marks_the_best_sweep_cell(tmp_path):
    found = outputs(execute("training-digits.ipynb", tmp_path))
    text = "".join(value for mime, value in found if mime == "stream")
    accuracy = float(re.search(r"validation accuracy (\d+\.\d)%", text).group(1))
    assert accuracy > 85
    assert re.search(r"best: hidden \d+, lr [\d.e-]+: \d+\.\d%", text)
    assert sum(mime == "image/png" for mime, _ in found) == 2
    assert list(tmp_path.iterdir()) == []  # the figures went to a temporary folder
