"""The browser verifier's cost (issue 20): prints a table; never a pass/fail test. Figures go in
docs/performance.md, "The browser verifier".

    python benchmarks/browser_verifier.py [--records 10000] [--runs 3]

Builds the page (tools/build_verifier.py), a valid village log of ``--records`` records (the
verifier tests' LogBuilder: the cast, then matters walked through four steps) as an export zip,
and opens the page from file:// in Chromium (Playwright, /usr/bin/chromium) with every other
request refused, at desktop speed and under the DevTools protocol's 4× CPU throttle (a mid-range
phone). For each: the time from opening the file to "ready" (decompressing and starting
Pyodide), the time to verify the export (the Python verifier under Pyodide), and the time to the
first result (opening the file, then picking the export, until the verdict shows). For
comparison, the same export verified by CPython (``verify_export``, jobs=1) on this machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.domain.ledger.logbuilder import big_log  # noqa: E402
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.e2e.verifier_build import built_verifier  # noqa: E402


def export_zip(records: int, folder: Path) -> Path:
    log = big_log(records)
    directory = log.export(folder / "export")
    target = folder / "export.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for file in sorted(directory.iterdir()):
            zf.write(file, f"sunvote-ledger-sunshine/{file.name}")
    return target


def run_page(browser: Any, html: Path, export: Path, throttle: float) -> dict[str, float]:
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    refused: list[str] = []
    context.route(lambda url: not url.startswith("file:"),
                  lambda route: (refused.append(route.request.url), route.abort()))
    page = context.new_page()
    if throttle > 1:
        cdp = context.new_cdp_session(page)
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": throttle})
    started = time.perf_counter()
    page.goto(html.as_uri())
    page.wait_for_function("() => window.sunvoteVerifier && window.sunvoteVerifier.ready",
                           timeout=600_000)
    ready = time.perf_counter() - started
    picked = time.perf_counter()
    page.set_input_files("#export-file", str(export))
    page.wait_for_selector("#verdict[data-ok]", timeout=1_200_000)
    done = time.perf_counter()
    ok = page.get_attribute("#verdict", "data-ok")
    verify_ms = page.evaluate("() => window.sunvoteVerifier.lastMs")
    context.close()
    if ok != "true" or refused:
        raise SystemExit(f"unexpected: verdict {ok}, requests {refused[:3]}")
    return {"ready": ready, "verify": verify_ms / 1000, "pick_to_verdict": done - picked,
            "first_result": done - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from sunvote.domain.ledger.verifier import verify_export
    from sunvote.verify_browser import unpack_export

    html = built_verifier()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t = time.perf_counter()
        export = export_zip(args.records, folder)
        print(f"log of {args.records:,} records built in {time.perf_counter() - t:.1f} s; "
              f"export zip {export.stat().st_size:,} bytes")
        unpacked = unpack_export(export.read_bytes(), folder / "cpython")
        cpython = []
        for _ in range(args.runs):
            t = time.perf_counter()
            assert verify_export(unpacked).ok
            cpython.append(time.perf_counter() - t)
        rows: list[list[str]] = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for label, throttle in (("desktop", 1.0), ("4× CPU throttle", 4.0)):
                runs = [run_page(browser, html, export, throttle) for _ in range(args.runs)]
                med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
                rows.append([label, f"{med['ready']:.1f}", f"{med['verify']:.1f}",
                             f"{med['pick_to_verdict']:.1f}", f"{med['first_result']:.1f}"])
            browser.close()
    print(f"\nthe page: {html.stat().st_size:,} bytes ({html.stat().st_size / 2**20:.1f} MiB); "
          f"CPython verify_export of the same export: {statistics.median(cpython):.2f} s "
          f"(median of {args.runs})")
    print(f"\n{args.records:,} records, median of {args.runs} runs, seconds:")
    header = ["Chromium", "open → ready", "verify (Pyodide)", "pick → verdict",
              "open → first result"]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, ["-" * w for w in widths], *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
