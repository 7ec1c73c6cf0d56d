"""The core's size, in lines of code: ``python -m tinygrad_edu.sizes``.

A line of code is a line with a token that is not a comment, a docstring or
blank space. The budget is part of the design (STYLE.md): the engine is what
a student reads in one sitting, so it must stay short, and growth beyond a
budget needs a reason (and a new number here, in review). The op modules are
counted apart: they grow with every operation the library offers.
"""

from __future__ import annotations

import ast
import io
import sys
import tokenize
from pathlib import Path

PACKAGE = Path(__file__).parent

# group -> (files, budget in code lines). The core is what every operation runs through:
# the op record, the Tensor, the engine, and the backend's namespaces, arrays and random
# numbers. The ops (and the kernels and rule vocabulary they are written in) are counted
# apart: they grow with every operation the library offers.
ENGINE = ("function.py", "autograd.py")
CORE = ENGINE + (
    "tensor.py",
    "backend/__init__.py",
    "backend/namespaces.py",
    "backend/arrays.py",
    "backend/random.py",
)
BUDGETS = {"engine": (ENGINE, 450), "core": (CORE, 1000)}
OPS = (
    "ops.py",
    "ops_elementwise.py",
    "ops_reduce.py",
    "ops_shape.py",
    "ops_linalg.py",
    "ops_rnn.py",
    "ops_conv.py",
    "fused.py",
    "functional.py",
    "more_ops.py",
    "tensor_methods.py",
    "derivatives.py",
    "backend/kernels.py",
    "backend/extra_kernels.py",
)
TOOLS = ("gradcheck.py", "backend/info.py")


def code_lines(path: Path) -> int:
    """Lines of ``path`` holding code: not blank, not only a comment, not in a docstring."""
    source = path.read_text()
    docstring_lines = set()
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                docstring_lines.update(range(body[0].lineno, body[0].end_lineno + 1))
    lines = set()
    skipped = (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT)
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in skipped and token.type != tokenize.ENDMARKER:
            lines.update(range(token.start[0], token.end[0] + 1))
    return len(lines - docstring_lines)


def table() -> list[tuple[str, int]]:
    """``(file, code lines)`` for every core and op file, then the group totals."""
    files = dict.fromkeys(CORE + OPS + TOOLS)
    return [(name, code_lines(PACKAGE / name)) for name in files]


def over_budget() -> list[str]:
    """The groups above their budget, each as a sentence (empty when all fit)."""
    counts = dict(table())
    problems = []
    for group, (files, budget) in BUDGETS.items():
        total = sum(counts[name] for name in files)
        if total > budget:
            problems.append(f"{group}: {total} code lines, budget {budget}")
    return problems


def main() -> int:
    counts = dict(table())
    for name, lines in counts.items():
        print(f"{name:<22} {lines:5d}")
    for group, (files, budget) in BUDGETS.items():
        print(f"{group + ' total':<22} {sum(counts[n] for n in files):5d}  (budget {budget})")
    print(f"{'ops total':<22} {sum(counts[n] for n in OPS):5d}  (counted apart)")
    problems = over_budget()
    for problem in problems:
        print(f"over budget: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
