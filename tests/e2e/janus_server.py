"""Debian's Janus (the SFU of the meeting video, docs/video.md "Through Janus") started for a test
module, with the set-up docs/operations.md gives: its own configuration folder, only the
VideoRoom plugin and the HTTP transport, the API on loopback, a small media port range. Shared
by the web tests (tests/web/test_video_sfu.py), the browser test (tests/e2e/test_video_sfu.py)
and the benchmark (benchmarks/video_bench.py --sfu)."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LIB = Path("/usr/lib/x86_64-linux-gnu/janus")
PLUGINS = ["audiobridge", "duktape", "echotest", "lua", "nosip", "recordplay", "sip",
           "streaming", "textroom", "videocall", "voicemail"]
TRANSPORTS = ["mqtt", "nanomsg", "pfunix", "rabbitmq", "websockets"]


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(folder: Path, port: int, rtp_ports: str = "20000-20999") -> Path:
    """janus.jcfg, janus.transport.http.jcfg and janus.plugin.videoroom.jcfg in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    disabled = ",".join(f"libjanus_{p}.so" for p in PLUGINS)
    no_transports = ",".join(f"libjanus_{t}.so" for t in TRANSPORTS)
    (folder / "janus.jcfg").write_text(f"""general: {{
	configs_folder = "{folder}"
	plugins_folder = "{LIB / 'plugins'}"
	transports_folder = "{LIB / 'transports'}"
	events_folder = "{LIB / 'events'}"
	loggers_folder = "{LIB / 'loggers'}"
	debug_level = 4
	session_timeout = 60
	server_name = "sunvote-test"
}}
media: {{
	rtp_port_range = "{rtp_ports}"
}}
nat: {{
	nice_debug = false
	ignore_mdns = true
}}
plugins: {{
	disable = "{disabled}"
}}
transports: {{
	disable = "{no_transports}"
}}
loggers: {{
	disable = "libjanus_jsonlog.so"
}}
events: {{
	broadcast = false
}}
""")
    (folder / "janus.transport.http.jcfg").write_text(f"""general: {{
	json = "plain"
	base_path = "/janus"
	http = true
	port = {port}
	ip = "127.0.0.1"
	https = false
}}
admin: {{
	admin_http = false
}}
""")
    (folder / "janus.plugin.videoroom.jcfg").write_text("general: {\n}\n")
    return folder / "janus.jcfg"


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/info", timeout=1) as response:
            return json.loads(response.read()).get("janus") == "server_info"
    except (OSError, ValueError):
        return False


@contextmanager
def running_janus(folder: Path) -> Iterator[str]:
    """Janus running with a configuration in ``folder``; yields its API URL (…/janus)."""
    binary = shutil.which("janus")
    assert binary is not None, "janus is not installed (apt-get install janus)"
    port = free_tcp_port()
    config = write_config(folder, port)
    log = (folder / "janus.log").open("wb")
    process = subprocess.Popen([binary, "-F", str(folder), "-C", str(config), "--disable-colors"],
                               stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/janus"
    try:
        end = time.monotonic() + 20
        while not answers(url):
            assert process.poll() is None and time.monotonic() < end, \
                (folder / "janus.log").read_text(errors="replace")[-2000:]
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
