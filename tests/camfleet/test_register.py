"""The register import: all-or-nothing, every bad row reported, idempotent, Uzbek text intact."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from camfleet.db import transaction
from camfleet.models import Site
from camfleet.register import (
    COLUMNS,
    RegisterInvalid,
    export_register,
    import_register,
    parse_register,
)

EXAMPLE = Path(__file__).parents[2] / "examples" / "register-jizzax.csv"
HEADER = ",".join(COLUMNS)


def _row(code: str = "JZX-07-0123", name: str = "123-son saylov uchastkasi", **kw: str) -> str:
    v = {
        "region_code": "JZX",
        "region_name": "Jizzax viloyati",
        "district_code": "JZX-07",
        "district_name": "Zomin tumani",
        "constituency_code": "JZX-07-K1",
        "constituency_name": "13-son Zomin saylov okrugi",
        "precinct_code": code,
        "precinct_name": name,
        "address": "Zomin, Navoiy ko‘chasi 5",
        "expected_cameras": "2",
        "responsible_person": "Qo‘chqorova G‘ayrat",
        "responsible_role": "raisi",
        "phone": "+998 90 123 45 67",
        "network": "",
    }
    v.update(kw)
    return ",".join(f'"{v[c]}"' for c in COLUMNS)


def _csv(*rows: str) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode("utf-8")


def _count(sessions: sessionmaker[Session]) -> int:
    with sessions() as s:
        return s.scalar(select(func.count(Site.id))) or 0


def test_example_register_imports_and_round_trips(sessions: sessionmaker[Session]) -> None:
    data = EXAMPLE.read_bytes()
    with transaction(sessions) as s:
        summary = import_register(s, data)
    assert summary.created["precinct"] == 288
    assert summary.created["region"] == 1
    with sessions() as s:
        exported = export_register(s)
    assert exported.encode("utf-8") == data  # byte for byte, Uzbek characters included


def test_reimport_changes_nothing(sessions: sessionmaker[Session]) -> None:
    data = EXAMPLE.read_bytes()
    with transaction(sessions) as s:
        import_register(s, data)
    with sessions() as s:
        before = {x.code: (x.updated_at, x.name, x.path) for x in s.scalars(select(Site))}
    with transaction(sessions) as s:
        summary = import_register(s, data)
    assert not summary.changed
    with sessions() as s:
        after = {x.code: (x.updated_at, x.name, x.path) for x in s.scalars(select(Site))}
    assert before == after


def test_updated_file_updates_in_place(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as s:
        import_register(s, _csv(_row(), _row("JZX-07-0124", "124-son")))
    with sessions() as s:
        ids = {x.code: x.id for x in s.scalars(select(Site))}
    with transaction(sessions) as s:
        summary = import_register(
            s, _csv(_row(name="123-son saylov uchastkasi (yangi bino)", expected_cameras="3"))
        )
    assert summary.updated == {"precinct": 1}
    with sessions() as s:
        p = s.scalars(select(Site).where(Site.code == "JZX-07-0123")).one()
        assert p.id == ids["JZX-07-0123"]
        assert p.name == "123-son saylov uchastkasi (yangi bino)"
        assert p.expected_cameras == 3
        assert p.path == "/JZX/JZX-07/JZX-07-K1/JZX-07-0123/"


def test_bad_rows_are_all_reported_and_nothing_is_written(
    sessions: sessionmaker[Session],
) -> None:
    data = _csv(
        _row(),
        _row("JZX-07-0124", expected_cameras="two"),
        _row("JZX 07 0125"),
        _row("JZX-07-0126", phone="call me"),
        _row("JZX-07-0127", name=""),
        _row("JZX-07-0123"),
        _row("JZX-07-0128", network="10.0.0.0/8"),
    )
    with pytest.raises(RegisterInvalid) as info, transaction(sessions) as s:
        import_register(s, data)
    lines = {e.line for e in info.value.errors}
    assert lines == {3, 4, 5, 6, 7, 8}
    text = "\n".join(str(e) for e in info.value.errors)
    assert "expected_cameras 'two' is not a whole number" in text
    assert "already on line 2" in text
    assert _count(sessions) == 0


def test_inconsistent_parents_are_reported() -> None:
    data = _csv(_row(), _row("JZX-07-0124", district_name="Boshqa tuman"))
    with pytest.raises(RegisterInvalid) as info:
        parse_register(data)
    assert "named 'Zomin tumani' on line 2" in str(info.value.errors[0])


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\xff\xfe not utf8", "not UTF-8"),
        (b"a,b\n1,2\n", "missing column(s)"),
        ((HEADER + "\n").encode(), "no precincts"),
        (_csv(_row() + ',"extra"'), "more fields than columns"),
    ],
)
def test_malformed_files_give_readable_errors(data: bytes, expected: str) -> None:
    with pytest.raises(RegisterInvalid) as info:
        parse_register(data)
    assert expected in "; ".join(str(e) for e in info.value.errors)


def test_uzbek_characters_are_preserved(sessions: sessionmaker[Session]) -> None:
    name = "G‘allaorol ʻOʻzbekistonʼ uchastkasi ’"
    with transaction(sessions) as s:
        import_register(s, _csv(_row(name=name)))
    with sessions() as s:
        assert s.scalars(select(Site.name).where(Site.code == "JZX-07-0123")).one() == name


def test_utf8_bom_is_accepted() -> None:
    rows = parse_register(b"\xef\xbb\xbf" + _csv(_row()))
    assert rows[0].precinct_code == "JZX-07-0123"


def test_hostile_values_are_quoted_short_in_errors() -> None:
    huge = "9" * 100_000
    data = _csv(
        _row(huge),
        _row("JZX-07-0124", expected_cameras=huge),
        _row("JZX-07-0125", phone=huge),
        _row("JZX-07-0126", network=huge),
    )
    with pytest.raises(RegisterInvalid) as info:
        parse_register(data)
    assert len(info.value.errors) == 4
    assert all(len(str(e)) < 300 for e in info.value.errors), [
        len(str(e)) for e in info.value.errors
    ]
    header = (HEADER + "," + ",".join(f"x{i}" + "y" * 50_000 for i in range(100))).encode()
    with pytest.raises(RegisterInvalid) as info:
        parse_register(header + b"\n")
    (error,) = info.value.errors
    assert len(str(error)) < 1_000
    assert "and 90 more" in str(error)
