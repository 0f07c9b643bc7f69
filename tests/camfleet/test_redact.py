"""URL and text redaction: the one place credentials are blanked out of what is shown."""

from __future__ import annotations

import json

import pytest

from camfleet.redact import redact_text, redact_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("rtsp://admin:pw@10.0.0.5:554/s1", "rtsp://***@10.0.0.5:554/s1"),
        ("rtsp://admin@cam.local/s1", "rtsp://***@cam.local/s1"),
        ("rtsp://10.0.0.5/s1", "rtsp://10.0.0.5/s1"),
        ("http://u:p%40ss@[fe80::1]:80/x?y=1", "http://***@[fe80::1]:80/x?y=1"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_redact_text_hides_urls_and_named_secrets() -> None:
    text = "open rtsp://admin:s3cret@h/p failed; password s3cret rejected"
    out = redact_text(text, ("s3cret",))
    assert "s3cret" not in out
    assert "rtsp://***@h/p" in out


@pytest.mark.parametrize(
    "url",
    [
        "rtsp://admin:se/cret@127.0.0.1:554/x",
        "rtsp://admin:pa#cret@127.0.0.1/x",
        "rtsp://admin:pa?cret@127.0.0.1/x",
        "rtsp://admin:p@cret@127.0.0.1/x",
    ],
)
def test_unencoded_password_characters_are_still_blanked(url: str) -> None:
    assert "cret" not in redact_url(url)
    assert "cret" not in redact_text(f"open {url} failed")


def test_redacting_a_json_document_keeps_it_json() -> None:
    document = json.dumps(
        {"a": "rtsp://10.0.0.5/s1", "b": "rtsp://u:se/cret@10.0.0.6/s1", "c": "ops@example"},
        separators=(",", ":"),
    )
    out = json.loads(redact_text(document))
    assert out == {"a": "rtsp://10.0.0.5/s1", "b": "rtsp://***@10.0.0.6/s1", "c": "ops@example"}
