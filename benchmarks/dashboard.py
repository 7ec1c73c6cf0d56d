"""Publish the asv dashboard so that it also works without internet access.

    python benchmarks/dashboard.py            # asv publish, then serve the scripts locally
    python benchmarks/dashboard.py --preview  # ... and asv preview (http://127.0.0.1:8080/)

``asv publish`` writes ``.asv/html/index.html``, which loads jQuery, flot,
bootstrap and three small plugins from public CDNs; where those cannot be
reached (as on the machines this project is developed on, which reach only
the package registries) the page shows asv's "external dependencies failed
to load" error instead of the graphs. After publishing, this script fetches
the same libraries from the npm registry (``npm pack``, cached in
``~/.cache/tinygrad_edu/asv-vendor``), copies them to ``.asv/html/vendor/``
and points the page at the copies. Without npm the CDN links stay (and the
page works wherever they load).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CDNJS = "https://cdnjs.cloudflare.com/ajax/libs"
JSDELIVR = "https://cdn.jsdelivr.net/npm"
# What asv 0.6's index.html loads -> (npm package@version, file in the package).
# stupidtable 1.0.1 is not on npm: 1.1.3 is the same jQuery plugin, later.
VENDOR = {
    "https://code.jquery.com/jquery-3.3.1.min.js": ("jquery@3.3.1", "dist/jquery.min.js"),
    f"{CDNJS}/flot/0.8.3/jquery.flot.min.js": ("flot@0.8.3", "jquery.flot.js"),
    f"{CDNJS}/flot/0.8.3/jquery.flot.time.min.js": ("flot@0.8.3", "jquery.flot.time.js"),
    f"{CDNJS}/flot/0.8.3/jquery.flot.selection.min.js": ("flot@0.8.3", "jquery.flot.selection.js"),
    f"{CDNJS}/flot/0.8.3/jquery.flot.categories.min.js": (
        "flot@0.8.3",
        "jquery.flot.categories.js",
    ),
    f"{JSDELIVR}/flot-orderbars@1.0.0/js/jquery.flot.orderBars.js": (
        "flot-orderbars@1.0.0",
        "js/jquery.flot.orderBars.js",
    ),
    f"{CDNJS}/stupidtable/1.0.1/stupidtable.min.js": (
        "stupid-table-plugin@1.1.3",
        "stupidtable.min.js",
    ),
    f"{CDNJS}/blueimp-md5/2.19.0/js/md5.min.js": ("blueimp-md5@2.19.0", "js/md5.min.js"),
    f"{JSDELIVR}/bootstrap@3.1.1/dist/js/bootstrap.min.js": (
        "bootstrap@3.1.1",
        "dist/js/bootstrap.min.js",
    ),
    f"{JSDELIVR}/bootstrap@3.1.1/dist/css/bootstrap.min.css": (
        "bootstrap@3.1.1",
        "dist/css/bootstrap.min.css",
    ),
}
EXTRA_FILES = {"bootstrap@3.1.1": "dist/fonts/"}  # the css's ../fonts/ glyphicons
TAG = re.compile(r"""<(script|link)\b[^>]*?\b(?:src|href)="(https://[^"]+)"[^>]*>""")


def asv(*args: str) -> None:
    exe = shutil.which("asv")
    command = [exe] if exe else [sys.executable, "-m", "asv"]
    subprocess.run([*command, *args], cwd=ROOT, check=True)


def html_dir() -> Path:
    from asv import util

    conf = util.load_json(str(ROOT / "asv.conf.json"), js_comments=True)
    return ROOT / conf.get("html_dir", "html")


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "tinygrad_edu" / "asv-vendor"


def package(spec: str) -> Path:
    """The unpacked npm package ``spec`` (``name@version``), fetched once."""
    target = cache_dir() / spec
    if (target / "package.json").exists():
        return target
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed")
    download = cache_dir() / "downloads"
    download.mkdir(parents=True, exist_ok=True)
    out = subprocess.run(
        [npm, "pack", "--silent", spec],
        cwd=download,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if out.returncode != 0:
        raise RuntimeError(f"npm pack {spec} failed: {out.stderr.strip()[-300:]}")
    tgz = download / out.stdout.strip().splitlines()[-1]
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    with tarfile.open(tgz) as archive:
        try:
            archive.extractall(partial, filter="data")
        except TypeError:  # Python without extraction filters (before 3.10.12 / 3.11.4)
            archive.extractall(partial)
    shutil.rmtree(target, ignore_errors=True)
    (partial / "package").rename(target)
    shutil.rmtree(partial, ignore_errors=True)
    tgz.unlink()
    return target


def localize(html: Path) -> list[str]:
    """Point ``html/index.html`` at local copies of its CDN files; return what stayed remote."""
    index = html / "index.html"
    page = index.read_text()
    vendor = html / "vendor"
    remote = []

    def replace(match):
        tag, url = match.group(0), match.group(2)
        if url not in VENDOR:
            remote.append(f"{url} (not in benchmarks/dashboard.py's table)")
            return tag
        spec, path = VENDOR[url]
        try:
            source = package(spec)
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
            remote.append(f"{url} ({exc})")
            return tag
        local = vendor / spec / path
        local.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / path, local)
        if spec in EXTRA_FILES:
            shutil.copytree(
                source / EXTRA_FILES[spec], vendor / spec / EXTRA_FILES[spec], dirs_exist_ok=True
            )
        tag = tag.replace(url, f"vendor/{spec}/{path}")
        # The copies are npm's files, not byte for byte the CDN's: drop the hashes.
        tag = re.sub(r'\s(integrity|crossorigin|referrerpolicy)="[^"]*"', "", tag)
        return tag

    index.write_text(TAG.sub(replace, page))
    return remote


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preview", action="store_true", help="then serve it (asv preview)")
    parser.add_argument("--port", type=int, default=8080, help="asv preview's port (8080)")
    parser.add_argument(
        "--cdn", action="store_true", help="keep asv's CDN links (needs internet to view)"
    )
    args = parser.parse_args(argv)
    asv("publish")
    html = html_dir()
    if not args.cdn:
        remote = localize(html)
        for line in remote:
            print(f"dashboard: still loaded from the internet: {line}")
        print(
            f"dashboard: {html / 'index.html'}"
            + (" (needs internet for the files above)" if remote else " (works offline)")
        )
    if args.preview:
        asv("preview", "--port", str(args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
