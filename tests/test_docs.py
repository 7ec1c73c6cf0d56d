"""The documentation cannot drift from the code.

* Every fenced ```python block of the tutorial pages runs, in order, one
  namespace per page (shell commands live in ```bash blocks and are not run).
* The back-propagation page's hand-computed gradients equal ``backward()``'s
  to 1e-12 in float64 for a 3-layer sigmoid network with the MSE cost.
* The scripts that draw the figures still run and write the images the pages
  show.
* The site builds with ``mkdocs build --strict`` (once per session, into a
  temporary folder; skipped if mkdocs is not installed), every built page's
  ``<img>`` exists in the site, the math pages carry arithmatex markup, and,
  where Chromium is installed, a screenshot of the back-propagation page is
  not blank.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from tinygrad_edu import Function

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
SNIPPETS = DOCS / "snippets"

EXECUTED_PAGES = [
    "index.md",
    "getting-started.md",
    "autodiff.md",
    "backprop.md",
    "optimizers.md",
    "extending.md",
    "internals.md",
    "training.md",
    "backends.md",
    "array-api.md",
]
MATH_PAGES = ["autodiff", "backprop", "optimizers", "internals"]
FIGURE_SCRIPTS = ["draw_graphs.py", "draw_backprop.py", "rosenbrock.py"]
PYTHON_BLOCK = re.compile(r"^```python[^\n]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
FENCE_LANGUAGE = re.compile(r"^[ \t]*```+[ \t]*([^\s`{]*)", re.MULTILINE)
RUN_OR_SHOW = {"python", "bash", "text", ""}  # python runs; bash and text are shown only


def python_blocks(page: str) -> list[str]:
    """The fenced ```python blocks of ``docs/<page>``, in order."""
    return PYTHON_BLOCK.findall((DOCS / page).read_text(encoding="utf-8"))


@pytest.fixture
def run_page(tmp_path, monkeypatch):
    """Run a page's python blocks in order in one fresh namespace; return it.

    The blocks run in a temporary working directory, with matplotlib on its
    file-only backend. Function subclasses that a page defines (the
    extending page's op) are dropped from ``Function.registry`` afterwards,
    so that the registry test of the op table sees only the library's ops.
    """
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    registered = dict(Function.registry)

    def run(page: str) -> dict:
        namespace = {"__name__": f"docs_{Path(page).stem.replace('-', '_')}"}
        for number, code in enumerate(python_blocks(page)):
            exec(compile(code, f"docs/{page} (python block {number + 1})", "exec"), namespace)
        return namespace

    yield run
    Function.registry.clear()
    Function.registry.update(registered)


# ------------------------------------------------------------------ the pages' code
@pytest.mark.parametrize("page", EXECUTED_PAGES)
def test_page_has_python_blocks(page):
    """Guards the extraction: a page whose blocks are not found would pass vacuously."""
    blocks = python_blocks(page)
    assert blocks, f"docs/{page} has no python block"
    languages = set(FENCE_LANGUAGE.findall((DOCS / page).read_text(encoding="utf-8")))
    assert languages <= RUN_OR_SHOW, (
        f"docs/{page} has code blocks in {sorted(languages - RUN_OR_SHOW)}: write Python as "
        "```python (it is executed) and shell commands as ```bash"
    )
    assert all(block.strip() for block in blocks)


@pytest.mark.parametrize("page", EXECUTED_PAGES)
def test_page_code_runs(page, run_page):
    run_page(page)


def test_backprop_page_hand_gradients_equal_backward(run_page):
    """3 sigmoid layers, MSE cost, float64: hand-made delta^l gradients == backward()."""
    page = run_page("backprop.md")
    X, Y, W, b = (page[name] for name in ("X", "Y", "W", "b"))
    assert page["L"] == 3 and len(W) == len(b) == 4
    assert all(t.dtype == np.float64 for t in [X, Y, *W[1:], *b[1:]])

    # The cost the page differentiated is the MSE of a sigmoid network (recomputed here).
    activation = X.numpy()
    for l in range(1, 4):
        activation = 1 / (1 + np.exp(-(activation @ W[l].numpy() + b[l].numpy())))
    np.testing.assert_allclose(page["C"].item(), np.mean((activation - Y.numpy()) ** 2), rtol=1e-13)

    for l in range(1, 4):
        hand_W, hand_b = page["dC_dW"][l].numpy(), page["dC_db"][l].numpy()
        assert hand_W.shape == W[l].shape and hand_b.shape == b[l].shape
        assert np.abs(hand_W - W[l].grad.numpy()).max() <= 1e-12, f"dC/dW^{l}"
        assert np.abs(hand_b - b[l].grad.numpy()).max() <= 1e-12, f"dC/db^{l}"
        assert np.abs(W[l].grad.numpy()).max() > 1e-6  # a real comparison, not 0 == 0


# ------------------------------------------------------------------ the figures
def _load_script(name: str):
    spec = importlib.util.spec_from_file_location(
        f"docs_snippet_{Path(name).stem}", SNIPPETS / name
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("script", FIGURE_SCRIPTS)
def test_figure_script_writes_the_committed_images(script, tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    written = _load_script(script).main(tmp_path)
    assert written
    for path in written:
        assert path.parent == tmp_path and path.stat().st_size > 1000
        committed = DOCS / "images" / path.name
        assert committed.exists(), f"run `python docs/snippets/{script}` to add {committed.name}"
        assert committed.stat().st_size < 200_000, f"{committed.name} is over 200 KB"


# ------------------------------------------------------------------ the built site
class _PageParser(HTMLParser):
    """Collects <img src>, <script src> and the text inside class="arithmatex"."""

    def __init__(self):
        super().__init__()
        self.images, self.scripts, self.math = [], [], []
        self._math_depth = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs.get("src", ""))
        if tag == "script" and attrs.get("src"):
            self.scripts.append(attrs["src"])
        if self._math_depth:
            self._math_depth += 1
        elif "arithmatex" in (attrs.get("class") or "").split():
            self._math_depth = 1
            self.math.append("")

    def handle_endtag(self, tag):
        if self._math_depth:
            self._math_depth -= 1

    def handle_data(self, data):
        if self._math_depth:
            self.math[-1] += data


def _parse(html_file: Path) -> _PageParser:
    parser = _PageParser()
    parser.feed(html_file.read_text(encoding="utf-8"))
    return parser


def _is_local(src: str) -> bool:
    return not re.match(r"^([a-z][a-z0-9+.-]*:|//)", src)


@pytest.fixture(scope="module")
def built_site(tmp_path_factory) -> Path:
    """The site built by ``mkdocs build --strict`` (warnings fail) into a temporary folder."""
    for module, package in [
        ("mkdocs", "mkdocs"),
        ("material", "mkdocs-material"),
        ("mkdocstrings_handlers.python", "mkdocstrings[python]"),
    ]:
        try:
            found = importlib.util.find_spec(module)
        except ModuleNotFoundError:
            found = None
        if found is None:
            pytest.skip(f"{package} is not installed (pip install -e '.[docs]')")
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "-f",
            str(REPO / "mkdocs.yml"),
            "-d",
            str(out),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1", "MPLBACKEND": "Agg"},
    )
    if result.returncode != 0:
        pytest.fail(f"mkdocs build --strict failed:\n{result.stdout}\n{result.stderr}")
    return out


def _built_page(built_site: Path, stem: str) -> Path:
    return built_site / "index.html" if stem == "index" else built_site / stem / "index.html"


@pytest.mark.parametrize("stem", MATH_PAGES)
def test_math_is_rendered_as_arithmatex_markup(built_site, stem):
    page = _parse(_built_page(built_site, stem))
    assert page.math, f"{stem}: no class='arithmatex' element"
    inline = [m for m in page.math if m.startswith("\\(") and m.endswith("\\)")]
    display = [m for m in page.math if m.startswith("\\[") and m.endswith("\\]")]
    assert inline and display, f"{stem}: want inline \\( \\) and display \\[ \\] math"
    assert any("javascripts/mathjax.js" in src for src in page.scripts)
    assert (built_site / "javascripts" / "mathjax.js").exists()


def test_api_reference_renders_docstring_math(built_site):
    """The docstrings' rst math (``:math:`` and ``.. math::``) reaches the page as arithmatex."""
    page = _parse(built_site / "api" / "optim" / "index.html")
    assert any(m.startswith("\\[") and "aligned" in m for m in page.math)
    assert ":math:" not in (built_site / "api" / "optim" / "index.html").read_text(encoding="utf-8")


def test_every_image_of_the_site_is_in_the_site(built_site):
    pages = sorted(built_site.rglob("*.html"))
    assert len(pages) >= 6
    shown = 0
    for html_file in pages:
        for src in _parse(html_file).images:
            if not _is_local(src):
                continue
            target = (html_file.parent / src.split("#")[0].split("?")[0]).resolve()
            assert target.is_file(), (
                f"{html_file.relative_to(built_site)} shows missing image {src}"
            )
            shown += 1
    assert shown >= 4  # the graph, diamond, network and Rosenbrock figures


@pytest.mark.parametrize("stem", ["autodiff", "backprop", "optimizers"])
def test_tutorial_pages_show_their_figures(built_site, stem):
    images = [src for src in _parse(_built_page(built_site, stem)).images if src.endswith(".png")]
    assert images, f"{stem} shows no figure"


def test_backprop_page_screenshot_is_not_blank(built_site, tmp_path):
    browser = next(
        (
            shutil.which(name)
            for name in ("chromium", "chromium-browser", "google-chrome")
            if shutil.which(name)
        ),
        None,
    )
    if browser is None:
        pytest.skip("no Chromium here (chromium / chromium-browser / google-chrome not on PATH)")
    shot = tmp_path / "backprop.png"
    subprocess.run(
        [
            browser,
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            "--hide-scrollbars",
            f"--screenshot={shot}",
            "--window-size=1200,1600",
            _built_page(built_site, "backprop").as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    from matplotlib.image import imread

    pixels = imread(shot)[..., :3].reshape(-1, 3)
    colors, counts = np.unique((pixels * 255).round().astype(np.uint8), axis=0, return_counts=True)
    assert len(colors) > 50, "the screenshot has almost no distinct colors"
    assert counts.max() / len(pixels) < 0.97, "the screenshot is (almost) one color"
