"""The meeting video in mesh or through Janus (issue 19): prints a table; never a pass/fail
test. Figures go in docs/performance.md ("Meeting video") and docs/video.md ("How many phones").

    python benchmarks/video_bench.py [--phones 1,2,4,6] [--seconds 10] [--sfu]

With ``--sfu``, Debian's Janus is started (tests/e2e/janus_server.py, the set-up of
docs/operations.md) and SunVote is configured with it (JANUS_URL): the hall publishes once and
subscribes to each phone; the table adds Janus's CPU.

Builds the demo village in a temporary SQLite database, opens a meeting and joins N members
from enrolled phones (real keys, by the services), serves it from a thread, and opens the hall
video page (the clerk) in one Chromium and the N phones' video pages (390×844) in another, both
with Chromium's fake camera (a 640×480 moving pattern) and microphone, on loopback, with no
STUN or TURN. For each N it measures, from ``getStats()`` as meeting_video.js reports it:

- setup: from the phone's new RTCPeerConnection to the first frame of the hall on the phone
  (median and worst), and to the first frame of the phone on the hall;
- each phone's upload and download in kbit/s over ``--seconds`` (bytes of the selected ICE
  candidate pair, headers included), and the hall's total upload;
- the hall's sending frame rate to each phone and WebRTC's ``qualityLimitationReason`` (cpu
  or bandwidth: the encoder cut its resolution or rate);
- the CPU used by the hall's Chromium (all its processes, from /proc) per second of wall time.

Both browsers share this machine's cores: with many phones the phones' own encoders and decoders
take CPU from the hall, so the limit found here is a lower bound for a hall laptop serving real
phones (docs/video.md says how to read it).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHROMIUM = os.environ.get("SUNVOTE_CHROMIUM", "/usr/bin/chromium")
REPS = [f"rep{n:02d}" for n in range(1, 21)]


def build(instance: Path, phones: int) -> tuple[Any, int, dict[str, Any]]:
    os.environ["SUNVOTE_INSTANCE_PATH"] = str(instance)
    from sunvote import create_app
    from sunvote.extensions import db
    from sunvote.services.demo import seed_demo
    from tests.e2e.test_assembly import prepare
    from tests.e2e.video_world import open_with_cloud_members

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance}/bench.sqlite3"})
    with app.app_context():
        db.create_all()
        seed_demo()
    number = prepare(app)
    members = open_with_cloud_members(app, number, REPS[:phones])
    return app, number, members


def serve(app: Any) -> tuple[Any, str]:
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, CPU ticks used) of a process, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), int(fields[11]) + int(fields[12])


def tree_ticks(marker: str) -> int:
    """CPU ticks of the Chromium started with ``marker`` on its command line and all its
    descendants (renderers, GPU and network services)."""
    stats = {int(p.name): s for p in Path("/proc").iterdir() if p.name.isdigit()
             and (s := _stat(int(p.name))) is not None}
    roots = []
    for pid in stats:
        try:
            if marker.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                roots.append(pid)
        except OSError:
            pass
    family = set(roots)
    grew = True
    while grew:
        grew = False
        for pid, (parent, _) in stats.items():
            if parent in family and pid not in family:
                family.add(pid)
                grew = True
    return sum(stats[p][1] for p in family if p in stats)


#: Each outbound video stream of the page (mesh: one per phone; through Janus: one).
HALL_SENDING = """() => Promise.all([window.sunvoteVideo.publisher,
    ...Object.values(window.sunvoteVideo.peers)].filter(Boolean).map(l =>
  l.pc.getStats().then(r => { let out = null;
    r.forEach(s => { if (s.type === 'outbound-rtp' && s.kind === 'video') {
      out = {fps: s.framesPerSecond || 0, reason: s.qualityLimitationReason || '',
             width: s.frameWidth || 0}; } });
    return out; }))).then(all => all.filter(Boolean))"""
#: The frame rate at which a phone receives the hall.
RECEIVING = """() => Promise.all(Object.values(window.sunvoteVideo.peers).map(l =>
  l.pc.getStats().then(r => { let fps = 0;
    r.forEach(s => { if (s.type === 'inbound-rtp' && s.kind === 'video')
                       fps = s.framesPerSecond || 0; });
    return fps; }))).then(all => all[0] || 0)"""
#: The bytes of every connection of the page (its publisher's too, through Janus).
BYTES = """() => [window.sunvoteVideo.publisher, ...Object.values(window.sunvoteVideo.peers)]
  .filter(Boolean).map(l => l.bytes || {sent: 0, received: 0, at: performance.now()})"""


def run(n: int, seconds: float, browser_type: Any, args: list[str],
        janus: str | None = None) -> dict[str, Any]:
    from tests.e2e.video_world import flowing, phone_context, report, wait_for

    with tempfile.TemporaryDirectory() as tmp:
        app, number, members = build(Path(tmp), n)
        app.config["JANUS_URL"] = janus
        server, base = serve(app)
        hall_marker = f"--sunvote-bench-hall-{os.getpid()}-{n}"
        hall_browser = browser_type.launch(executable_path=CHROMIUM, args=[*args, hall_marker])
        phone_browser = browser_type.launch(executable_path=CHROMIUM, args=args)
        try:
            hall = hall_browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
            hall.goto(f"{base}/login")
            hall.fill("#username", "clerk")
            hall.fill("#password", "sunvote2026")
            hall.click("main button[type=submit]")
            hall.wait_for_load_state()
            hall.goto(f"{base}/v/sunshine/meetings/{number}/video")
            phones = []
            for username in REPS[:n]:
                page = phone_context(phone_browser, base, members[username]["session"]).new_page()
                page.goto(f"{base}/c/video")
                phones.append(page)
            wait_for(lambda: flowing(hall, n), 60 + 10 * n, f"the hall to show {n} phones")
            for page in phones:
                wait_for(lambda p=page: flowing(p, 1), 60, "a phone to show the hall")
            time.sleep(3)  # past the start's ramp-up
            setup = [report(p)[0]["firstFrameMs"] for p in phones]
            setup_hall = [r["firstFrameMs"] for r in report(hall)]
            first = [p.evaluate(BYTES) for p in phones]
            hall_first = hall.evaluate(BYTES)
            ticks, wall = tree_ticks(hall_marker), time.monotonic()
            janus_ticks = tree_ticks("janus.jcfg") if janus else 0
            time.sleep(seconds)
            ticks, wall = tree_ticks(hall_marker) - ticks, time.monotonic() - wall
            janus_ticks = tree_ticks("janus.jcfg") - janus_ticks if janus else 0
            last = [p.evaluate(BYTES) for p in phones]
            hall_last = hall.evaluate(BYTES)
            sending = hall.evaluate(HALL_SENDING)
            receiving = [p.evaluate(RECEIVING) for p in phones]
        finally:
            hall_browser.close()
            phone_browser.close()
            server.shutdown()

    def kbps(a: dict[str, Any], b: dict[str, Any], key: str) -> float:
        return 8 * (b[key] - a[key]) / ((b["at"] - a["at"]) / 1000) / 1000

    def total(a: list[dict[str, Any]], b: list[dict[str, Any]], key: str) -> float:
        return sum(kbps(x, y, key) for x, y in zip(a, b, strict=True) if x["at"] != y["at"])

    up = [total(a, b, "sent") for a, b in zip(first, last, strict=True)]
    down = [total(a, b, "received") for a, b in zip(first, last, strict=True)]
    hall_up = total(hall_first, hall_last, "sent")
    reasons = sorted({s["reason"] for s in sending if s["reason"] and s["reason"] != "none"})
    return {
        "phones": n,
        "setup p50 ms": round(statistics.median(setup)), "setup max ms": round(max(setup)),
        "hall sees phone p50 ms": round(statistics.median(setup_hall)),
        "phone up kbps": round(statistics.mean(up)),
        "phone down kbps": round(statistics.mean(down)),
        "hall up kbps": round(hall_up),
        "hall video streams": len(sending),
        "hall fps sent": round(statistics.mean(s["fps"] for s in sending), 1),
        "phone fps of hall": round(statistics.mean(receiving), 1),
        "hall width": min(s["width"] for s in sending),
        "limited by": ",".join(reasons) or "-",
        "hall CPU %": round(100 * ticks / os.sysconf("SC_CLK_TCK") / wall),
        **({"Janus CPU %": round(100 * janus_ticks / os.sysconf("SC_CLK_TCK") / wall)}
           if janus else {}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--phones", default="1,2,4,6")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--sfu", action="store_true", help="through Janus (started here)")
    options = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import CHROMIUM_ARGS, MEDIA_ARGS
    from tests.e2e.janus_server import running_janus

    rows = []
    with (tempfile.TemporaryDirectory() as folder, sync_playwright() as p,
          running_janus(Path(folder)) if options.sfu else nullcontext() as janus):
        for n in (int(x) for x in options.phones.split(",")):
            rows.append(run(n, options.seconds, p.chromium, CHROMIUM_ARGS + MEDIA_ARGS, janus))
            print(rows[-1], file=sys.stderr, flush=True)
    mode = "through Janus (SFU)" if options.sfu else "mesh"
    print(f"\n{mode}, loopback, {os.cpu_count()} cores shared by the hall's and the phones' "
          f"Chromium{' and Janus' if options.sfu else ''}; {options.seconds:.0f} s per row\n")
    heads = list(rows[0])
    widths = [max(len(h), *(len(str(r[h])) for r in rows)) for h in heads]
    print("  ".join(h.rjust(w) for h, w in zip(heads, widths, strict=True)))
    for row in rows:
        print("  ".join(str(row[h]).rjust(w) for h, w in zip(heads, widths, strict=True)))


if __name__ == "__main__":
    main()
