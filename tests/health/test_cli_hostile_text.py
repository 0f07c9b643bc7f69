"""Text a camera sends (an RTSP reason phrase) is shown as it is: no markup, no escapes, short."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from health.rtsp_probe import probe_stream

pytestmark = pytest.mark.timeout(120)
ROOT = Path(__file__).resolve().parents[2]
CAMFLEET = [sys.executable, "-c", "from camfleet.cli import main; main()"]
REASON = "[/oops] [bold]loud\x1b[2J" + "x" * 5000


def _answer(conn: socket.socket) -> None:
    buffer = b""
    with conn:
        while True:
            try:
                data = conn.recv(4096)
            except OSError:
                return
            if not data:
                return
            buffer += data
            while b"\r\n\r\n" in buffer:
                request, buffer = buffer.split(b"\r\n\r\n", 1)
                cseq = next(
                    line.split(b":", 1)[1].strip()
                    for line in request.split(b"\r\n")
                    if line.lower().startswith(b"cseq")
                )
                reply = f"RTSP/1.0 503 {REASON}\r\nCSeq: {cseq.decode()}\r\n\r\n"
                conn.sendall(reply.encode())


@pytest.fixture
def hostile_rtsp() -> Iterator[int]:
    """Serve on loopback an RTSP 'camera' whose every answer is 503 with a hostile reason."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=_answer, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(timeout=2)
    server.close()


def test_probe_keeps_a_device_reason_printable_and_short(hostile_rtsp: int) -> None:
    result = probe_stream(f"rtsp://127.0.0.1:{hostile_rtsp}/s", "u", "Pw-hostile-1", 3.0)
    assert result.code == "rtsp_503"
    assert "\x1b" not in result.message
    assert len(result.message) < 200


def test_cli_shows_device_text_literally(hostile_rtsp: int, tmp_path: Path) -> None:
    variables = {k: v for k, v in os.environ.items() if not k.startswith("CAMFLEET_")}
    variables.update(
        {
            "CAMFLEET_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
            "CAMFLEET_DATA_DIR": str(tmp_path),
            "CAMFLEET_SECRET_KEY": "camfleet-test-secret-key-0123456789abcdef",
            "CAMFLEET_CHECK_DEADLINE_S": "6",
            "CAMFLEET_OPEN_TIMEOUT_S": "2",
            "CAMFLEET_READ_TIMEOUT_S": "1",
            "CAMFLEET_SAMPLE_WINDOW_S": "1.0",
            "COLUMNS": "200",
            "PYTHONPATH": str(ROOT),
        }
    )

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*CAMFLEET, *args], env=variables, capture_output=True, text=True, timeout=60
        )

    assert run("sites", "import", str(ROOT / "examples/register-jizzax.csv")).returncode == 0
    uri = f"rtsp://127.0.0.1:{hostile_rtsp}/s"
    added = run(
        "cameras", "add", "--site", "JZX-01-0105", "--name", "[red]gate", "--stream-uri", uri
    )
    assert added.returncode == 0, added.stderr
    for args in (("check", "JZX-01-0105/[red]gate"), ("verify", "--site", "JZX-01-0105")):
        result = run(*args)
        assert "Traceback" not in result.stderr, result.stderr
        assert "error: unexpected" not in result.stderr, result.stderr
        assert "[/oops]" in result.stdout, result.stdout
        assert "[red]gate" in result.stdout, result.stdout
        assert "\x1b[2J" not in result.stdout
