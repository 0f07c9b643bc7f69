"""Who the caller is (the pages use it to choose what to show)."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import PrincipalDep
from api.errors import ERROR_RESPONSES
from api.schemas import PrincipalPublic

router = APIRouter(tags=["auth"], responses={401: ERROR_RESPONSES[401]})


@router.get("/me", response_model=PrincipalPublic, summary="The caller")
def whoami(principal: PrincipalDep) -> PrincipalPublic:
    """Return the caller's token name, role and scope."""
    codes = principal.scope_path.strip("/").split("/")
    return PrincipalPublic(
        name=principal.name,
        role=principal.role.value,
        scope_path=principal.scope_path,
        scope_site_code=codes[-1] if principal.scope_path != "/" else None,
    )
