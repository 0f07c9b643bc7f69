"""The commission's site register: parse, validate, import (all-or-nothing) and export as CSV."""

from __future__ import annotations

import csv
import io
import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from camfleet.models import LEVEL_ORDER, Site, SiteLevel

COLUMNS = (
    "region_code",
    "region_name",
    "district_code",
    "district_name",
    "constituency_code",
    "constituency_name",
    "precinct_code",
    "precinct_name",
    "address",
    "expected_cameras",
    "responsible_person",
    "responsible_role",
    "phone",
    "network",
)
REQUIRED = COLUMNS[:10]
OPTIONAL = frozenset(COLUMNS[10:]) | {"address"}
MAX_EXPECTED_CAMERAS = 64
MAX_FILE_BYTES = 50_000_000

CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
PHONE_RE = re.compile(r"^\+?[0-9][0-9 ()-]{4,24}$")


@dataclass(frozen=True)
class RowError:
    """One problem in the register file, with the line it is on (1 = header)."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class RegisterInvalid(ValueError):
    """The register file has problems; nothing was written."""

    def __init__(self, errors: Sequence[RowError]) -> None:
        self.errors = list(errors)
        super().__init__(f"{len(self.errors)} problem(s) in the register; nothing was imported")


@dataclass(frozen=True)
class RegisterRow:
    """One precinct of the register with its ancestors."""

    line: int
    region: tuple[str, str]
    district: tuple[str, str]
    constituency: tuple[str, str]
    precinct_code: str
    precinct_name: str
    address: str | None
    expected_cameras: int
    responsible_person: str | None
    responsible_role: str | None
    phone: str | None
    network: str | None


@dataclass
class ImportSummary:
    """What an import did, per level."""

    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        """Return whether anything was created or updated."""
        return any(self.created.values()) or any(self.updated.values())


def _clean(value: str | None) -> str:
    return (value or "").strip()


def _shown(value: str, limit: int = 60) -> str:
    """Return the value quoted for an error message, cut short: a hostile file may be huge."""
    return repr(value if len(value) <= limit else value[:limit] + "…")


def _listed(names: list[str], limit: int = 10) -> str:
    """Return a few names for an error message, and how many more there are."""
    shown = ", ".join(_shown(n) for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _check_code(value: str, column: str, errors: list[str]) -> None:
    if not value:
        errors.append(f"{column} is empty")
    elif not CODE_RE.match(value):
        errors.append(f"{column} {_shown(value)} is not a valid code (letters, digits, . _ -)")


def _check_name(value: str, column: str, errors: list[str]) -> None:
    if not value:
        errors.append(f"{column} is empty")
    elif len(value) > 300:
        errors.append(f"{column} is longer than 300 characters")


def _parse_row(line: int, raw: dict[str, str | None]) -> tuple[RegisterRow | None, list[str]]:
    errors: list[str] = []
    v = {k: _clean(raw.get(k)) for k in COLUMNS}
    for level in LEVEL_ORDER:
        _check_code(v[f"{level}_code"], f"{level}_code", errors)
        _check_name(v[f"{level}_name"], f"{level}_name", errors)
    expected = 0
    try:
        expected = int(v["expected_cameras"])
        if not 0 <= expected <= MAX_EXPECTED_CAMERAS:
            errors.append(f"expected_cameras must be between 0 and {MAX_EXPECTED_CAMERAS}")
    except ValueError:
        errors.append(f"expected_cameras {_shown(v['expected_cameras'])} is not a whole number")
    if v["phone"] and not PHONE_RE.match(v["phone"]):
        errors.append(f"phone {_shown(v['phone'])} is not a phone number")
    if v["network"]:
        try:
            net = ipaddress.ip_network(v["network"], strict=False)
            if net.prefixlen < (22 if net.version == 4 else 64):
                errors.append(f"network {v['network']} is larger than a /22")
        except ValueError:
            errors.append(f"network {_shown(v['network'])} is not an IP network (CIDR)")
    for column in ("address", "responsible_person", "responsible_role"):
        if len(v[column]) > 500:
            errors.append(f"{column} is longer than 500 characters")
    if errors:
        return None, errors
    return (
        RegisterRow(
            line=line,
            region=(v["region_code"], v["region_name"]),
            district=(v["district_code"], v["district_name"]),
            constituency=(v["constituency_code"], v["constituency_name"]),
            precinct_code=v["precinct_code"],
            precinct_name=v["precinct_name"],
            address=v["address"] or None,
            expected_cameras=expected,
            responsible_person=v["responsible_person"] or None,
            responsible_role=v["responsible_role"] or None,
            phone=v["phone"] or None,
            network=str(ipaddress.ip_network(v["network"], strict=False)) if v["network"] else None,
        ),
        [],
    )


def _decode(data: bytes) -> str:
    if len(data) > MAX_FILE_BYTES:
        raise RegisterInvalid([RowError(0, f"file larger than {MAX_FILE_BYTES} bytes")])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise RegisterInvalid([RowError(line, "the file is not UTF-8 text")]) from None


def parse_register(data: bytes) -> list[RegisterRow]:
    """Parse and validate a register file; raise RegisterInvalid listing every bad row."""
    text = _decode(data)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    missing = [c for c in REQUIRED if c not in header and c not in OPTIONAL]
    unknown = [c for c in header if c not in COLUMNS]
    if missing or unknown:
        problems = []
        if missing:
            problems.append(f"missing column(s): {', '.join(missing)}")
        if unknown:
            problems.append(f"unknown column(s): {_listed(unknown)}")
        raise RegisterInvalid([RowError(1, "; ".join(problems))])
    rows: list[RegisterRow] = []
    errors: list[RowError] = []
    try:
        for raw in reader:
            line = reader.line_num
            if None in raw:
                errors.append(RowError(line, "more fields than columns"))
                continue
            if all(not _clean(x) for x in raw.values()):
                continue
            row, problems = _parse_row(line, raw)
            errors.extend(RowError(line, p) for p in problems)
            if row is not None:
                rows.append(row)
    except csv.Error as exc:
        errors.append(RowError(reader.line_num, f"CSV syntax: {exc}"))
    errors.extend(_consistency_errors(rows))
    if not rows and not errors:
        errors.append(RowError(1, "the register has no precincts"))
    if errors:
        raise RegisterInvalid(sorted(errors, key=lambda e: e.line))
    return rows


def _consistency_errors(rows: Iterable[RegisterRow]) -> list[RowError]:
    """Find codes used twice with different names, parents or levels."""
    errors: list[RowError] = []
    seen: dict[str, tuple[str, str, str | None, int]] = {}  # code -> level, name, parent, line

    def note(code: str, level: str, name: str, parent: str | None, line: int) -> None:
        prior = seen.get(code)
        if prior is None:
            seen[code] = (level, name, parent, line)
            return
        p_level, p_name, p_parent, p_line = prior
        if p_level != level:
            errors.append(RowError(line, f"code {code} is a {p_level} on line {p_line}"))
        elif level == SiteLevel.PRECINCT:
            errors.append(RowError(line, f"precinct {code} already on line {p_line}"))
        elif p_name != name:
            errors.append(RowError(line, f"{level} {code} is named {p_name!r} on line {p_line}"))
        elif p_parent != parent:
            errors.append(RowError(line, f"{level} {code} has another parent on line {p_line}"))

    for r in rows:
        note(r.region[0], SiteLevel.REGION, r.region[1], None, r.line)
        note(r.district[0], SiteLevel.DISTRICT, r.district[1], r.region[0], r.line)
        note(
            r.constituency[0],
            SiteLevel.CONSTITUENCY,
            r.constituency[1],
            r.district[0],
            r.line,
        )
        note(
            r.precinct_code,
            SiteLevel.PRECINCT,
            r.precinct_name,
            r.constituency[0],
            r.line,
        )
    return errors


def _site_values(row: RegisterRow, level: SiteLevel) -> tuple[str, dict[str, object]]:
    if level is SiteLevel.REGION:
        return row.region[0], {"name": row.region[1]}
    if level is SiteLevel.DISTRICT:
        return row.district[0], {"name": row.district[1]}
    if level is SiteLevel.CONSTITUENCY:
        return row.constituency[0], {"name": row.constituency[1]}
    return row.precinct_code, {
        "name": row.precinct_name,
        "address": row.address,
        "expected_cameras": row.expected_cameras,
        "contact_person": row.responsible_person,
        "contact_role": row.responsible_role,
        "contact_phone": row.phone,
        "network": row.network,
    }


def apply_register(session: Session, rows: Sequence[RegisterRow]) -> ImportSummary:
    """Create or update every site of the rows in the session; the caller commits or rolls back.

    Sites already known at another level are refused, so a register cannot turn a district into a
    precinct by accident.
    """
    summary = ImportSummary()
    existing = {s.code: s for s in session.scalars(select(Site))}
    errors: list[RowError] = []
    chains: list[tuple[RegisterRow, list[tuple[SiteLevel, str]]]] = []
    for row in rows:
        chain = [
            (SiteLevel.REGION, row.region[0]),
            (SiteLevel.DISTRICT, row.district[0]),
            (SiteLevel.CONSTITUENCY, row.constituency[0]),
            (SiteLevel.PRECINCT, row.precinct_code),
        ]
        for level, code in chain:
            known = existing.get(code)
            if known is not None and known.level != level:
                errors.append(
                    RowError(row.line, f"{code} is already registered as a {known.level}")
                )
        chains.append((row, chain))
    if errors:
        raise RegisterInvalid(errors)

    done: set[str] = set()
    for row, chain in chains:
        parent: Site | None = None
        for level, code in chain:
            if code in done:
                parent = existing[code]
                continue
            done.add(code)
            _, values = _site_values(row, level)
            path = f"{parent.path if parent else '/'}{code}/"
            values = {
                **values,
                "parent_id": parent.id if parent else None,
                "path": path,
            }
            site = existing.get(code)
            if site is None:
                site = Site(code=code, level=level.value, **values)
                session.add(site)
                session.flush()
                existing[code] = site
                summary.created[level] = summary.created.get(level, 0) + 1
            elif any(getattr(site, k) != v for k, v in values.items()):
                for k, v in values.items():
                    setattr(site, k, v)
                summary.updated[level] = summary.updated.get(level, 0) + 1
            else:
                summary.unchanged[level] = summary.unchanged.get(level, 0) + 1
            parent = site
    session.flush()
    return summary


def import_register(session: Session, data: bytes) -> ImportSummary:
    """Parse and apply a register file in the caller's transaction (all-or-nothing)."""
    return apply_register(session, parse_register(data))


def export_register(session: Session) -> str:
    """Return every precinct of the tree as a register CSV, in path order."""
    sites = {s.id: s for s in session.scalars(select(Site))}
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    precincts = sorted(
        (s for s in sites.values() if s.level == SiteLevel.PRECINCT),
        key=lambda s: s.path,
    )
    for p in precincts:
        con = sites[p.parent_id] if p.parent_id else None
        dis = sites[con.parent_id] if con and con.parent_id else None
        reg = sites[dis.parent_id] if dis and dis.parent_id else None
        if con is None or dis is None or reg is None:
            continue
        writer.writerow(
            [
                reg.code,
                reg.name,
                dis.code,
                dis.name,
                con.code,
                con.name,
                p.code,
                p.name,
                p.address or "",
                p.expected_cameras or 0,
                p.contact_person or "",
                p.contact_role or "",
                p.contact_phone or "",
                p.network or "",
            ]
        )
    return out.getvalue()
