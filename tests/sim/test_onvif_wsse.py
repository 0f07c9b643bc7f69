"""UsernameToken and HTTP credential checks, against tokens made by zeep and httpx themselves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree as ET

import httpx
from lxml import etree
from zeep.wsse.username import UsernameToken as ZeepUsernameToken

from sim.onvif.httpauth import HttpCredentialChecker, parse_digest_params
from sim.onvif.wsse import (
    AuthPolicy,
    NonceCache,
    extract_token,
    parse_created,
    password_digest,
    verify_token,
)

ENV = "http://www.w3.org/2003/05/soap-envelope"


def _zeep_header(user: str, password: str, created: datetime) -> ET.Element:
    envelope = etree.fromstring(f'<e:Envelope xmlns:e="{ENV}"><e:Body/></e:Envelope>')
    token = ZeepUsernameToken(user, password, use_digest=True, created=created, zulu_timestamp=True)
    signed, _ = token.apply(envelope, {})
    header = ET.fromstring(etree.tostring(signed)).find(f"{{{ENV}}}Header")
    assert header is not None
    return header


def _verify(header: ET.Element, now: datetime, nonces: NonceCache | None = None) -> str | None:
    return verify_token(
        extract_token(header),
        username="admin",
        password="s3cret",
        device_now=now,
        policy=AuthPolicy(),
        nonces=nonces or NonceCache(),
    )


def test_a_zeep_digest_token_verifies_at_the_device_clock() -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    header = _zeep_header("admin", "s3cret", now)
    assert _verify(header, now + timedelta(minutes=4)) is None
    assert _verify(header, now + timedelta(minutes=6)) == "Created outside the accepted window"
    assert _verify(header, now - timedelta(minutes=6)) == "Created outside the accepted window"
    assert _verify(_zeep_header("admin", "other", now), now) == "wrong password digest"
    assert _verify(_zeep_header("root", "s3cret", now), now) == "unknown user"
    assert _verify(None, now) == "no UsernameToken"


def test_a_nonce_is_accepted_once() -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    header = _zeep_header("admin", "s3cret", now)
    nonces = NonceCache()
    assert _verify(header, now, nonces) is None
    assert _verify(header, now, nonces) == "replayed nonce"


def test_digest_formula_and_created_parsing() -> None:
    assert password_digest(b"\x00" * 4, "2024-01-01T00:00:00Z", "pw") == password_digest(
        b"\x00" * 4, "2024-01-01T00:00:00Z", "pw"
    )
    assert parse_created("2024-01-01T00:00:00Z") == datetime(2024, 1, 1, tzinfo=UTC)
    assert parse_created("2024-01-01T05:00:00+05:00") == datetime(2024, 1, 1, tzinfo=UTC)
    assert parse_created("2024-01-01T00:00:00") == datetime(2024, 1, 1, tzinfo=UTC)
    assert parse_created("yesterday") is None
    assert parse_created("") is None


def test_http_digest_from_httpx_and_basic_verify() -> None:
    checker = HttpCredentialChecker("admin", "s3cret")
    challenge = checker.challenges()[0]
    request = httpx.Request("GET", "http://127.0.22.1:8080/onvif/snapshot/main.jpg")
    flow = httpx.DigestAuth("admin", "s3cret").sync_auth_flow(request)
    next(flow)
    response = httpx.Response(401, headers={"WWW-Authenticate": challenge}, request=request)
    authorised = flow.send(response)
    header = authorised.headers["Authorization"]
    target = "/onvif/snapshot/main.jpg"
    assert checker.check("GET", target, header) is True
    assert checker.check("GET", "/onvif/snapshot/sub.jpg", header) is False
    assert checker.check("POST", target, header) is False
    basic = httpx.BasicAuth("admin", "s3cret").sync_auth_flow(request)
    assert checker.check("GET", target, next(basic).headers["Authorization"]) is True
    assert checker.check("GET", target, "Basic !!!") is False
    assert checker.check("GET", target, None) is False
    assert parse_digest_params('a="x, y", b=z, c="q\\"r"') == {"a": "x, y", "b": "z", "c": 'q"r'}
