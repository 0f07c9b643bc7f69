"""The errors the CLI turns into one readable line and a non-zero exit code."""

from __future__ import annotations

from camfleet.config import ConfigError
from camfleet.credentials import CredentialError
from camfleet.register import RegisterInvalid
from camfleet.sites import SiteNotFound
from camfleet.tokens import TokenError
from camfleet.vault import VaultError


class CliError(Exception):
    """A command cannot do what was asked; the message says why."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


USER_ERRORS: tuple[type[Exception], ...] = (
    CliError,
    ConfigError,
    CredentialError,
    RegisterInvalid,
    SiteNotFound,
    TokenError,
    VaultError,
)
