"""Run a docs page's Python blocks; regenerate the figures that pages draw themselves.

Run from the repository root to redraw the PNGs in ``docs/images/`` that a
page's own code saves (``internals-mlp-graph.png``, ``internals-rosenbrock.png``)::

    python docs/snippets/page_figures.py

The same :func:`run_page` is what ``tests/test_docs.py`` uses to execute the
pages, collect what each block prints, and compare that with the ```text
block shown after it and the written figures with the committed ones.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent
IMAGES = DOCS / "images"
FENCE = re.compile(r"^```+([^\s`{]*)[^\n]*\n(.*?)^```+[ \t]*$", re.MULTILINE | re.DOTALL)
SHOWN_IMAGE = re.compile(r"\]\(images/([^)\s]+\.png)\)")


@dataclass
class Block:
    """One ```python block of a page: its code, what it printed, and what the page shows.

    ``shown`` is the text of the ```text block that directly follows it (only
    blank lines in between), or None when the page shows no output for it.
    """

    number: int
    code: str
    line: int
    shown: str | None
    printed: str = ""


def page_blocks(page: str) -> list:
    """The python blocks of ``docs/<page>`` in order, each with the output shown after it."""
    text = (DOCS / page).read_text(encoding="utf-8")
    fences = list(FENCE.finditer(text))
    blocks = []
    for index, fence in enumerate(fences):
        if fence.group(1) != "python":
            continue
        shown = None
        following = fences[index + 1] if index + 1 < len(fences) else None
        if following is not None and following.group(1) == "text":
            between = text[fence.end() : following.start()]
            if not between.strip():
                shown = following.group(2)
        line = text.count("\n", 0, fence.start()) + 2
        blocks.append(Block(len(blocks) + 1, fence.group(2), line, shown))
    return blocks


def run_page(page: str, workdir: Path) -> tuple[list, dict]:
    """Run the page's python blocks in order in one namespace, inside ``workdir``.

    Returns the blocks (with ``printed`` filled in) and the namespace. Each
    block is compiled under the name ``docs/<page> (python block N)``, which
    is how tracebacks (and the anomaly page's "created at") name it.
    """
    namespace = {"__name__": f"docs_{Path(page).stem.replace('-', '_')}"}
    blocks = page_blocks(page)
    previous = Path.cwd()
    os.chdir(workdir)
    try:
        for block in blocks:
            code = compile(block.code, f"docs/{page} (python block {block.number})", "exec")
            captured = io.StringIO()
            with contextlib.redirect_stdout(captured):
                exec(code, namespace)
            block.printed = captured.getvalue()
    finally:
        os.chdir(previous)
    return blocks, namespace


def figures_drawn_by(page: str) -> list:
    """The images the page shows (``![...](images/NAME.png)``) that its own code saves."""
    text = (DOCS / page).read_text(encoding="utf-8")
    code = "\n".join(block.code for block in page_blocks(page))
    return [name for name in SHOWN_IMAGE.findall(text) if f'"{name}"' in code]


PAGES_THAT_DRAW = ["internals.md"]


def main(out_dir: Path = IMAGES) -> list:
    """Run each page that draws its own figures and copy those figures to ``out_dir``."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for page in PAGES_THAT_DRAW:
        with tempfile.TemporaryDirectory() as workdir:
            run_page(page, Path(workdir))
            for name in figures_drawn_by(page):
                written.append(Path(shutil.copyfile(Path(workdir) / name, out_dir / name)))
    return written


if __name__ == "__main__":
    for path in main(Path(sys.argv[1]) if len(sys.argv) > 1 else IMAGES):
        print(path)
