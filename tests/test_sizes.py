"""The core's size budget (tinygrad_edu/sizes.py): fails when the core grows past it."""

import re
from pathlib import Path

from tinygrad_edu import sizes


def test_the_core_fits_its_budget(capsys):
    assert sizes.main() == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert "engine total" in printed and "core total" in printed


def test_code_lines_skip_docstrings_comments_and_blank_lines(tmp_path: Path):
    source = tmp_path / "example.py"
    source.write_text(
        '"""Module docstring,\nover two lines."""\n\n'
        "# a comment\n"
        "def f(x):\n"
        '    """Docstring."""\n'
        "    return (x +\n"
        "            1)  # trailing comment\n"
    )
    assert sizes.code_lines(source) == 3  # def, and the two lines of the return


def test_every_core_file_exists():
    for name in sizes.CORE + sizes.OPS + sizes.TOOLS:
        assert (sizes.PACKAGE / name).is_file(), name


def test_the_readme_reading_order_gives_the_current_sizes():
    """The README's table of code lines per file says what sizes.py counts today."""
    readme = (sizes.PACKAGE.parent / "README.md").read_text()
    rows = re.findall(r"^\| \d+ \| `tinygrad_edu/([\w/]+\.py)` \| (\d+) \|", readme, re.MULTILINE)
    assert len(rows) >= 10
    counts = dict(sizes.table())
    stale = {name: (int(shown), counts[name]) for name, shown in rows if int(shown) != counts[name]}
    assert not stale, (
        f"README reading order (shown, counted): {stale}; run python -m tinygrad_edu.sizes"
    )
