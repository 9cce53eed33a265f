"""Recording benchmark (issue 19): prints tables; never a pass/fail test. Figures go in
docs/performance.md ("The hall's recording").

    python benchmarks/recording_bench.py [--seconds 60] [--chunks 240] [--database URL]

1. Storage per hour. Headless Chromium with its fake camera and microphone records for
   ``--seconds`` with the hall page's settings (static/js/hall_video.js: 640×360 at 15 frames a
   second, mono audio with echo cancellation; static/js/recording.js: VP8/Opus WebM, 400 kbit/s
   video, 32 kbit/s audio, 5-second chunks) and prints the chunks' sizes, the bit rate and the
   megabytes an hour. Chromium's fake camera shows a simple moving pattern, which compresses
   better than a hall; the encoder's target (432 kbit/s, about 194 MB an hour) is the bound a
   real camera approaches.
2. The server. ``--chunks`` chunks of the measured mean size (random bytes: incompressible)
   go through services.recording.take_chunk on the demo's opened meeting: p50/p95 per chunk,
   and the ledger's share of the storage (the recording.chunk records' bytes).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import http.server
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RECORD_JS = """async (seconds) => {
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: {echoCancellation: true, noiseSuppression: true, autoGainControl: true,
            channelCount: 1},
    video: {width: {ideal: 640, max: 1280}, height: {ideal: 360, max: 720},
            frameRate: {ideal: 15, max: 24}, facingMode: "user"}});
  const track = stream.getVideoTracks()[0].getSettings();
  const sizes = [];
  const recorder = new MediaRecorder(stream, {mimeType: "video/webm;codecs=vp8,opus",
    videoBitsPerSecond: 400000, audioBitsPerSecond: 32000});
  recorder.ondataavailable = (e) => { if (e.data.size) sizes.push(e.data.size); };
  recorder.start(5000);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  recorder.stop();
  await new Promise((r) => setTimeout(r, 500));
  return {sizes, width: track.width, height: track.height, fps: track.frameRate};
}"""


def browser_sizes(seconds: int) -> dict:  # type: ignore[type-arg]
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS

    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "index.html").write_text("<!doctype html><title>bench</title>")
        handler = lambda *a: http.server.SimpleHTTPRequestHandler(*a, directory=tmp)  # noqa: E731
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            with sync_playwright() as p:
                chromium = p.chromium.launch(executable_path=CHROMIUM, args=[
                    *CHROMIUM_ARGS, "--use-fake-device-for-media-stream",
                    "--use-fake-ui-for-media-stream"])
                page = chromium.new_page()
                page.goto(f"http://127.0.0.1:{server.server_port}/index.html")
                result = page.evaluate(RECORD_JS, seconds)
                chromium.close()
        finally:
            server.shutdown()
    return result


def server_times(chunks: int, size: int, url: str | None) -> list[tuple[str, str]]:
    from sqlalchemy import func, select

    from benchmarks.ledger_bench import make_app
    from sunvote.domain.recording import GENESIS
    from sunvote.extensions import db
    from sunvote.models import LedgerRecord, Matter, Person, Village
    from sunvote.services import assembly, recording
    from sunvote.services.demo import seed_demo

    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        url = url or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        app = make_app(url, Path(tmp) / "instance")
        with app.app_context():
            seed_demo()
            village = db.session.execute(
                select(Village).where(Village.code == "sunshine")).scalar_one()
            clerk = db.session.execute(select(Person.id).where(Person.name == "张敏")).scalar_one()
            road = db.session.execute(select(Matter.id).where(
                Matter.number.like("%-001"), Matter.village_id == village.id)).scalar_one()
            start = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
            meeting = assembly.convene(clerk, village.id, "录像基准", "村委会议室",
                                       start + dt.timedelta(days=3), [road], now=start)
            opened = start + dt.timedelta(days=3)
            assembly.open_meeting(clerk, meeting.id, now=opened)
            prev, times = GENESIS, []
            for n in range(chunks):
                data = os.urandom(size)
                began = time.perf_counter()
                prev = recording.take_chunk(
                    clerk, meeting.id, seq=n, prev=prev, sha256=hashlib.sha256(data).hexdigest(),
                    content_type="video/webm", first=n == 0, data=data,
                    now=opened + dt.timedelta(seconds=5 * n)).last_sha256
                times.append(time.perf_counter() - began)
            ledger_bytes = db.session.execute(select(func.sum(func.length(LedgerRecord.data)))
                                              .where(LedgerRecord.type == "recording.chunk")
                                              ).scalar_one()
        cuts = statistics.quantiles(times, n=20)
        rows += [("database", url.split(":", 1)[0]),
                 ("chunks taken", f"{chunks} × {size / 1000:.0f} kB"),
                 ("take_chunk p50", f"{cuts[9] * 1000:.1f} ms"),
                 ("take_chunk p95", f"{cuts[18] * 1000:.1f} ms"),
                 ("ledger bytes per chunk", f"{ledger_bytes / chunks:.0f} B"),
                 ("ledger per hour (720 chunks)", f"{ledger_bytes / chunks * 720 / 1e6:.2f} MB")]
    return rows


def main() -> None:
    from benchmarks.ledger_bench import table

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--chunks", type=int, default=240)
    parser.add_argument("--database", default=None)
    args = parser.parse_args()
    result = browser_sizes(args.seconds)
    sizes = result["sizes"]
    total = sum(sizes)
    kbps = total * 8 / args.seconds / 1000
    steady = sizes[1:-1] or sizes
    table("The hall's recording: storage (Chromium, fake camera and microphone)", [
        ("recorded", f"{args.seconds} s, {len(sizes)} chunks of 5 s"),
        ("camera gave", f"{result['width']}×{result['height']} at {result['fps']} fps"),
        ("chunk size p50 / max", f"{statistics.median(steady) / 1000:.0f} kB / "
                                 f"{max(sizes) / 1000:.0f} kB"),
        ("bit rate", f"{kbps:.0f} kbit/s"),
        ("storage per hour", f"{kbps * 3600 / 8 / 1000:.0f} MB"),
        ("encoder target per hour (432 kbit/s)", f"{432 * 3600 / 8 / 1000:.0f} MB")])
    table("The hall's recording: the server", server_times(
        args.chunks, int(statistics.median(steady)), args.database))


if __name__ == "__main__":
    main()
