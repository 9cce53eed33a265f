"""Build the browser verifier: one self-contained HTML file that runs SunVote's own Python
verifier under Pyodide, offline (docs/browser-verifier.md).

    python tools/build_verifier.py [--out build/sunvote-verifier.html] [--cache DIR]
                                   [--write-hash] [--check-hash]

1. fetches the pinned npm packages (``npm pack``: pyodide, @noble/curves, @noble/hashes, jsqr
   (a QR decoder, for browsers without BarcodeDetector), and esbuild to bundle noble) into the
   cache, refusing any whose sha512 is not the pinned one;
2. bundles ``@noble/curves`` (Ed25519, P-256) into one script with esbuild;
3. zips the Python sources the verifier imports (``sunvote.verify_browser`` and what it
   imports, found by importing it) and the English catalog's entries for their strings;
4. writes one HTML file from tools/verifier/ with everything embedded (gzip, base64), and
   prints its SHA-256.

The same inputs give the same bytes (fixed zip and gzip timestamps, sorted entries), so the hash
can be printed on posters and in the docs: ``sunvote/verifier.sha256`` holds the hash of this
source tree's build (``--write-hash`` updates it; ``--check-hash`` fails when it differs).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import gzip
import hashlib
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "tools" / "verifier"
HASH_FILE = ROOT / "sunvote" / "verifier.sha256"
DEFAULT_OUT = ROOT / "build" / "sunvote-verifier.html"
DEFAULT_CACHE = Path(os.environ.get("SUNVOTE_VERIFIER_CACHE",
                                    Path.home() / ".cache" / "sunvote-verifier"))

#: npm packages, their versions and the registry's sha512 integrity of each tarball.
PINS: dict[str, tuple[str, str]] = {
    "pyodide": ("314.0.8", "sha512-74Wq1kXOC+CCEzAfxuRAO701nAcCMLjf8NrwvWpu8S41dVMXwXmLQ05dYB+F4e"
                           "46AdnGo0oq7YHSVUpHsoarLQ=="),
    "@noble/curves": ("2.4.0", "sha512-P4/62zrgfH33CneE3Dn4WhJVA22YUU0eR51wKIan4NVRvwsA0YnPTwWG"
                               "pNbpuacSujmSFLvyzpyuR30+fbq2Ew=="),
    "@noble/hashes": ("2.4.0", "sha512-X5XaVWZIBCT7HHZGm5I7ZQXDwLG+bGXuSrMQAW+7Zvl87h1kmc1ZB1VS"
                               "RJcpUfoUrGQp4Fkoxm5kZ+Ms+aW+eA=="),
    # reads a receipt's QR code from a photo or the camera where the browser has no
    # BarcodeDetector (Chromium on Linux and Windows, Firefox): its dist/jsQR.js as is
    "jsqr": ("1.4.0", "sha512-dxLob7q65Xg2DvstYkRpkYtmKm2sPJ9oFhrhmudT1dZvNFFTlroai3AWSpLey/w5"
                      "vMcLBXRgOJsbXpdN9HzU/A=="),
}
#: esbuild's binary package for the build machine (the output does not depend on it).
ESBUILD: dict[str, tuple[str, str]] = {
    "x86_64": ("@esbuild/linux-x64", "sha512-4xTZr1FUmSoQW4XIWmit3tzQrUTZM+N3P0XV8xROKYF50XfI7xeO"
                                     "90+1bZvNwxIufQ9hDQVRJH5YhgPVF8A/HQ=="),
}
ESBUILD_VERSION = "0.28.2"

#: The files of the pyodide package the page needs.
PYODIDE_FILES = ("pyodide.js", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip",
                 "pyodide-lock.json")

#: The time zone the verifier's rules read dates in (the domain's CHINA); Pyodide has no tz
#: database, so the page carries this one file from the pinned PyPI ``tzdata`` wheel.
TZDATA = ("2025.3", "06a47e5700f3081aab02b2e513160914ff0694bce9947d6b76ebd6bf57cfc5d1")
TIME_ZONES = ("Asia/Shanghai",)

ZIP_TIME = (1980, 1, 1, 0, 0, 0)


class BuildError(RuntimeError):
    """The build cannot go on (a download failed, an integrity check failed)."""


# ---------------------------------------------------------------------------- npm packages


def _integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")


def fetch_package(name: str, version: str, integrity: str, cache: Path) -> Path:
    """The package's unpacked folder in the cache, fetched with ``npm pack`` when missing;
    the tarball must have the pinned sha512, checked here on every build."""
    safe = name.replace("@", "").replace("/", "-")
    tarball = cache / "tarballs" / f"{safe}-{version}.tgz"
    if not tarball.exists():
        tarball.parent.mkdir(parents=True, exist_ok=True)
        npm = shutil.which("npm")
        if npm is None:
            raise BuildError("npm is needed to fetch the pinned packages (apt-get install npm)")
        with tempfile.TemporaryDirectory() as tmp:
            out = subprocess.run([npm, "pack", f"{name}@{version}", "--pack-destination", tmp,
                                  "--json", "--silent"], capture_output=True, text=True,
                                 check=False)
            if out.returncode != 0:
                raise BuildError(f"npm pack {name}@{version} failed: {out.stderr.strip()}")
            packed = json.loads(out.stdout)[0]["filename"]
            shutil.move(Path(tmp) / packed.replace("@", "").replace("/", "-"), tarball)
    data = tarball.read_bytes()
    if _integrity(data) != integrity:
        tarball.unlink()
        raise BuildError(f"{name}@{version}: the tarball's sha512 is not the pinned one")
    unpacked = cache / "packages" / f"{safe}-{version}-{hashlib.sha256(data).hexdigest()[:16]}"
    if not unpacked.exists():
        partial = unpacked.with_suffix(".part")
        shutil.rmtree(partial, ignore_errors=True)
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            tar.extractall(partial, filter="data")
        partial.replace(unpacked)
    return unpacked / "package"


def time_zone_files(cache: Path) -> dict[str, bytes]:
    """The TZif files of :data:`TIME_ZONES` from the pinned tzdata wheel (``pip download``)."""
    version, sha256 = TZDATA
    wheel = cache / "wheels" / f"tzdata-{version}-py2.py3-none-any.whl"
    if not wheel.exists():
        wheel.parent.mkdir(parents=True, exist_ok=True)
        out = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                              "--only-binary", ":all:", f"tzdata=={version}", "-d",
                              str(wheel.parent)], capture_output=True, text=True, check=False)
        if out.returncode != 0 or not wheel.exists():
            raise BuildError(f"pip download tzdata=={version} failed: {out.stderr.strip()}")
    data = wheel.read_bytes()
    if hashlib.sha256(data).hexdigest() != sha256:
        wheel.unlink()
        raise BuildError(f"tzdata {version}: the wheel's sha256 is not the pinned one")
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {zone: zf.read(f"tzdata/zoneinfo/{zone}") for zone in TIME_ZONES}


def bundle_noble(cache: Path) -> bytes:
    """@noble/curves' Ed25519 and P-256 verification as one script (esbuild, IIFE, minified)
    that sets ``globalThis.sunvoteCrypto``."""
    machine = platform.machine().lower()
    machine = {"amd64": "x86_64"}.get(machine, machine)
    if sys.platform != "linux" or machine not in ESBUILD:
        raise BuildError(f"no pinned esbuild for {sys.platform}/{machine}: add one to ESBUILD")
    esbuild_name, esbuild_integrity = ESBUILD[machine]
    esbuild = fetch_package(esbuild_name, ESBUILD_VERSION, esbuild_integrity, cache)
    binary = esbuild / "bin" / "esbuild"
    binary.chmod(0o755)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        modules = work / "node_modules" / "@noble"
        modules.mkdir(parents=True)
        for name in ("@noble/curves", "@noble/hashes"):
            version, integrity = PINS[name]
            shutil.copytree(fetch_package(name, version, integrity, cache),
                            modules / name.split("/")[1])
        shutil.copy(PAGE / "crypto.js", work / "entry.js")
        out = subprocess.run([str(binary), "entry.js", "--bundle", "--format=iife", "--minify",
                              "--target=es2020", "--legal-comments=none", "--charset=utf8"],
                             cwd=work, capture_output=True, check=False)
        if out.returncode != 0:
            raise BuildError(f"esbuild failed: {out.stderr.decode(errors='replace')}")
        return out.stdout


# ---------------------------------------------------------------------------- Python sources


def verifier_sources() -> list[Path]:
    """The repository's Python files that ``sunvote.verify_browser`` imports (found by importing
    it in a fresh interpreter, without ``cryptography``'s help: the page has none)."""
    probe = (
        "import sys, json\n"
        "import sunvote.verify_browser\n"
        "print(json.dumps(sorted(m.__file__ for n, m in list(sys.modules.items())\n"
        "      if n == 'sunvote' or n.startswith('sunvote.'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
    if out.returncode != 0:
        raise BuildError(f"cannot import sunvote.verify_browser: {out.stderr.strip()}")
    files = [Path(f).resolve() for f in json.loads(out.stdout)]
    for f in files:
        if ROOT not in f.parents:
            raise BuildError(f"{f} is not in this source tree")
    return sorted(files)


def english_catalog(sources: list[Path]) -> bytes:
    """The English catalog's entries for the strings of ``sources`` (JSON, sorted): only those,
    so that a string added elsewhere in the app does not change the page."""
    import ast

    from babel.messages.pofile import read_po

    literals: set[str] = set()
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                literals.add(node.value)
    with (ROOT / "sunvote/translations/en/LC_MESSAGES/messages.po").open("rb") as f:
        catalog = read_po(f)
    entries = {str(m.id): str(m.string) for m in catalog
               if m.id and isinstance(m.id, str) and m.id in literals and m.string}
    return json.dumps(entries, ensure_ascii=False, sort_keys=True, indent=0).encode("utf-8")


def python_zip() -> bytes:
    """A zip of the verifier's sources and their English catalog, the same bytes every time."""
    buffer = io.BytesIO()
    sources = verifier_sources()
    entries = {path.relative_to(ROOT).as_posix(): path.read_bytes() for path in sources}
    entries["sunvote/verify_browser.en.json"] = english_catalog(sources)
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in sorted(entries.items()):
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data, compresslevel=9)
    return buffer.getvalue()


# ---------------------------------------------------------------------------- the page


def _embed(data: bytes) -> str:
    """gzip (no name, no time: reproducible) then base64."""
    return base64.b64encode(gzip.compress(data, compresslevel=9, mtime=0)).decode("ascii")


def build_html(cache: Path) -> bytes:
    """The page's bytes."""
    pyodide = fetch_package("pyodide", *PINS["pyodide"], cache=cache)
    blobs = {f: (pyodide / f).read_bytes() for f in PYODIDE_FILES}
    blobs["crypto.js"] = bundle_noble(cache)
    blobs["jsqr.js"] = (fetch_package("jsqr", *PINS["jsqr"], cache=cache) / "dist" / "jsQR.js"
                        ).read_bytes()
    blobs["sunvote.zip"] = python_zip()
    for zone, tzif in time_zone_files(cache).items():
        blobs["zoneinfo/" + zone] = tzif
    template = (PAGE / "page.html").read_text(encoding="utf-8")
    script = (PAGE / "verifier.js").read_text(encoding="utf-8")
    style = (PAGE / "verifier.css").read_text(encoding="utf-8")
    for text, what in ((script, "verifier.js"), (style, "verifier.css")):
        if "</script" in text.lower() or "</style" in text.lower():
            raise BuildError(f"{what} must not contain a closing tag")
    data = "\n".join(
        f'<script type="application/octet-stream" id="blob:{name}" data-size="{len(raw)}">'
        f"{_embed(raw)}</script>" for name, raw in sorted(blobs.items()))
    versions = " · ".join(f"{n} {v}" for n, (v, _i) in sorted(PINS.items()))
    html = (template.replace("{{style}}", style).replace("{{script}}", script)
            .replace("{{versions}}", versions).replace("{{blobs}}", data))
    return html.encode("utf-8")


def build(out: Path = DEFAULT_OUT, cache: Path = DEFAULT_CACHE) -> str:
    """Build the page into ``out`` (atomically) and return its SHA-256 (hex)."""
    html = build_html(cache)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + f".{os.getpid()}.part")
    partial.write_bytes(html)
    partial.replace(out)
    return hashlib.sha256(html).hexdigest()


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` (several test workers build once, the others wait)."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def published_hash() -> str:
    """The SHA-256 of this source tree's build, as committed (printed on posters)."""
    return HASH_FILE.read_text(encoding="ascii").strip()


def main(argv: list[str] | None = None) -> int:
    """Build, print the hash; optionally write or check the committed hash."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--write-hash", action="store_true",
                        help=f"write the hash to {HASH_FILE.relative_to(ROOT)}")
    parser.add_argument("--check-hash", action="store_true",
                        help=f"fail unless the hash equals {HASH_FILE.relative_to(ROOT)}")
    args = parser.parse_args(argv)
    try:
        digest = build(args.out, args.cache)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    size = args.out.stat().st_size
    print(f"{args.out}: {size:,} bytes, SHA-256 {digest}")
    if args.write_hash:
        HASH_FILE.write_text(digest + "\n", encoding="ascii")
        print(f"written to {HASH_FILE.relative_to(ROOT)}")
    if args.check_hash and published_hash() != digest:
        print(f"error: {HASH_FILE.relative_to(ROOT)} says {published_hash()}; rebuild and run "
              "with --write-hash when the verifier's sources changed", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
