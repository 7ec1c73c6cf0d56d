"""Griffe extension: render the reStructuredText math of numpy-style docstrings.

Docstrings in tinygrad_edu follow numpydoc, which writes math the Sphinx way:
``:math:`\\eta``` inline and ``.. math::`` followed by an indented block.
mkdocstrings renders docstrings as Markdown, so before rendering this
extension rewrites them for pymdownx.arithmatex:

* ``:math:`x``` becomes ``\\(x\\)``;
* a ``.. math::`` block becomes a display ``\\[ ... \\]`` (wrapped in
  ``aligned`` when its lines use ``&`` or ``\\\\``);
* the cross-reference roles ``:class:``, ``:func:``, ``:meth:``, ``:attr:``
  and ``:mod:`` become inline code.

Loaded by ``mkdocs.yml`` (``plugins: mkdocstrings: handlers: python: options:
extensions``); the source files are not changed.
"""

from __future__ import annotations

import re

import griffe

_INLINE_MATH = re.compile(r":math:`([^`]+)`")
_CODE_ROLE = re.compile(r":(?:class|func|meth|attr|mod|obj):`~?([^`]+)`")
_MATH_DIRECTIVE = re.compile(r"^(?P<indent>[ \t]*)\.\. math::[ \t]*$")


def _indent_of(line: str) -> int:
    return len(line) - len(line.lstrip())


def _display_math(lines: list[str], indent: str) -> list[str]:
    body = [line.strip() for line in lines if line.strip()]
    tex = "\n".join(f"{indent}{line}" for line in body)
    if any("&" in line or line.endswith("\\\\") for line in body):
        tex = f"{indent}\\begin{{aligned}}\n{tex}\n{indent}\\end{{aligned}}"
    return ["", f"{indent}\\[", tex, f"{indent}\\]", ""]


def rst_math_to_markdown(text: str) -> str:
    """The docstring ``text`` with its rst math and roles rewritten for Markdown."""
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        match = _MATH_DIRECTIVE.match(lines[i])
        if match is None:
            out.append(lines[i])
            i += 1
            continue
        indent = match["indent"]
        i += 1
        block = []
        while i < len(lines) and (not lines[i].strip() or _indent_of(lines[i]) > len(indent)):
            block.append(lines[i])
            i += 1
        out.extend(_display_math(block, indent))
    converted = "\n".join(out)
    converted = _INLINE_MATH.sub(lambda m: f"\\({m[1]}\\)", converted)
    return _CODE_ROLE.sub(lambda m: f"`{m[1]}`", converted)


class RstMath(griffe.Extension):
    """Rewrite every docstring once the object tree is complete."""

    def on_object(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = rst_math_to_markdown(obj.docstring.value)
