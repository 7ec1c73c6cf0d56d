"""MkDocs hook: serve MathJax 3 from the built site, so formulas render offline.

The MathJax files come from a Python package of the ``docs`` extra
(``django-static-mathjax``, MathJax 3.2.2 as static files; it needs no
Django to be read), and after every build this hook copies the parts a page
uses into ``site/javascripts/mathjax/``: the TeX-to-HTML component
``tex-chtml.js``, its web fonts, the TeX extensions that ``autoload`` may
fetch, and the menu's modules. ``mkdocs.yml`` loads
``javascripts/mathjax/tex-chtml.js``; no page asks a CDN for anything.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

from mkdocs.exceptions import PluginError

# Relative to MathJax's es5/ folder: the component and what it loads on demand.
FILES = ["tex-chtml.js"]
FOLDERS = ["output/chtml/fonts/woff-v2", "input/tex/extensions", "ui", "a11y"]
TARGET = Path("javascripts") / "mathjax"


def mathjax_es5() -> Path:
    """The es5/ folder of the installed MathJax package, or a clear error."""
    spec = importlib.util.find_spec("mathjax")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            es5 = Path(location) / "static" / "mathjax" / "es5"
            if (es5 / "tex-chtml.js").is_file():
                return es5
    raise PluginError(
        "MathJax is not installed: pip install -e '.[docs]' (it brings "
        "django-static-mathjax, MathJax 3 as files served from the built site)"
    )


def on_post_build(config, **kwargs) -> None:
    es5 = mathjax_es5()
    target = Path(config["site_dir"]) / TARGET
    target.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        shutil.copyfile(es5 / name, target / name)
    for folder in FOLDERS:
        shutil.copytree(es5 / folder, target / folder, dirs_exist_ok=True)
