"""Camera passwords are unreadable in the database and absent from every serialisation."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from camfleet.config import Settings
from camfleet.credentials import add_credential, candidate_credentials, unlock
from camfleet.db import transaction
from camfleet.models import Credential, Site
from camfleet.vault import Vault, VaultError

PASSWORD = "Zx9-secret-Parol‘2026"


@pytest.fixture
def vault(tmp_path: Path) -> Vault:
    return Vault.from_settings(Settings(data_dir=tmp_path))


def _tree(s: Session) -> Site:
    region = Site(code="R", name="R", level="region", path="/R/")
    s.add(region)
    s.flush()
    precinct = Site(code="P", name="P", level="precinct", path="/R/P/", parent_id=region.id)
    s.add(precinct)
    s.flush()
    return precinct


def test_password_is_encrypted_and_never_serialised(
    sessions: sessionmaker[Session], vault: Vault, db_url: str
) -> None:
    with transaction(sessions) as s:
        site = _tree(s)
        cred = add_credential(s, vault, site, "admin", PASSWORD)
    with sessions() as s:
        raw = s.execute(text("SELECT * FROM credentials")).all()
        assert PASSWORD.encode() not in repr(raw).encode()
        row = s.scalars(select(Credential)).one()
        assert PASSWORD not in repr(row)
        assert PASSWORD not in repr(unlock(vault, row))
        assert unlock(vault, row).password == PASSWORD
        assert PASSWORD.encode() not in pickle.dumps(unlock(vault, row).__repr__())
    assert cred.id is not None
    if db_url.startswith("sqlite"):
        db_file = Path(db_url.removeprefix("sqlite:///"))
        for f in db_file.parent.glob(db_file.name + "*"):
            assert PASSWORD.encode() not in f.read_bytes()


def test_candidates_inherit_down_the_tree(sessions: sessionmaker[Session], vault: Vault) -> None:
    with transaction(sessions) as s:
        precinct = _tree(s)
        region = s.get(Site, precinct.parent_id)
        add_credential(s, vault, None, "global", "g-pass")
        add_credential(s, vault, region, "regional", "r-pass")
        add_credential(s, vault, precinct, "local", "l-pass")
    with sessions() as s:
        site = s.scalars(select(Site).where(Site.code == "P")).one()
        names = [c.username for c in candidate_credentials(s, site)]
    assert names == ["local", "regional", "global"]


def test_wrong_key_fails_readably(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    v1 = Vault.from_settings(Settings(secret_key="k" * 40, data_dir=tmp_path))
    v2 = Vault.from_settings(Settings(secret_key="j" * 40, data_dir=tmp_path))
    token = v1.encrypt(PASSWORD)
    with pytest.raises(VaultError) as info:
        v2.decrypt(token)
    assert PASSWORD not in str(info.value)
    assert token.decode() not in str(info.value)


def test_key_file_is_created_private(tmp_path: Path) -> None:
    Vault.from_settings(Settings(data_dir=tmp_path))
    key = tmp_path / "secret.key"
    assert key.stat().st_mode & 0o777 == 0o600
    assert json.dumps({"v": repr(Vault.from_settings(Settings(data_dir=tmp_path)))})
