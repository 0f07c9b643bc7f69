"""Settings refuse bad values with a clear message; production refuses a missing secret."""

from __future__ import annotations

import pytest

from camfleet.config import ConfigError, Mode, load_settings


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"sweep_interval_s": 5}, "sweep_interval_s: Input should be greater than or equal to 60"),
        ({"concurrency": 0}, "concurrency"),
        ({"api_port": 70000}, "api_port"),
        ({"database_url": "mysql://x"}, "database_url"),
        ({"check_deadline_s": -1}, "check_deadline_s"),
        ({"unknown_field": 1}, "unknown_field"),
    ],
)
def test_bad_values_are_refused_readably(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(**overrides)
    assert message in str(info.value)


def test_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMFLEET_SWEEP_INTERVAL_S", "900")
    assert load_settings().sweep_interval_s == 900


def test_environment_typo_value_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMFLEET_CONCURRENCY", "lots")
    with pytest.raises(ConfigError, match="concurrency"):
        load_settings()


@pytest.mark.parametrize("secret", [None, "change-me", "short"])
def test_production_refuses_missing_or_default_secret(secret: str | None) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(mode=Mode.PRODUCTION, secret_key=secret)
    assert "secret" in str(info.value).lower()
    if secret:
        assert secret not in str(info.value)


def test_production_accepts_a_real_secret() -> None:
    s = load_settings(mode=Mode.PRODUCTION, secret_key="x" * 44)
    assert s.mode is Mode.PRODUCTION
