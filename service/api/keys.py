"""/api/v1/keys: API keys, for organisers only. A key's secret is in the answer to its creation
and nowhere else; the list shows its first characters to tell keys apart."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from service import keys
from service.api.errors import ApiError
from service.api.responses import READ, WRITE, errors
from service.models import ApiKey, Role
from service.principals import OrganiserDep
from service.web import SessionDep

router = APIRouter(prefix="/api/v1", tags=["keys"])

KeyId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The key's id.")]


class KeyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=keys.MAX_NAME, description="Who uses the key.",
                      examples=["园区招商平台"])
    role: Role = Field(description="organiser: everything; integrator: read-only, contacts included.")


class KeyPublic(BaseModel):
    id: int
    name: str
    role: Role
    prefix: str = Field(description="The key's first characters.")
    created_by: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, key: ApiKey) -> KeyPublic:
        return cls.model_validate(key, from_attributes=True)


class KeyCreated(KeyPublic):
    secret: str = Field(description="Send as 'Authorization: Bearer <secret>'. Shown this once: "
                                    "only its hash is stored.")


@router.post("/keys", status_code=201, response_model=KeyCreated, responses=errors(*WRITE))
def create_key(body: KeyCreate, session: SessionDep, principal: OrganiserDep) -> KeyCreated:
    """A new key; its secret is shown in this answer only."""
    try:
        key, secret = keys.create_key(session, name=body.name, role=body.role, actor=principal.actor)
    except keys.KeyError_ as error:
        raise ApiError(422, str(error), field="name") from None
    return KeyCreated(**KeyPublic.of(key).model_dump(), secret=secret)


@router.get("/keys", response_model=list[KeyPublic], responses=errors(*READ))
def list_keys(session: SessionDep, principal: OrganiserDep) -> list[KeyPublic]:
    """Every key, revoked ones too (never a secret or its hash)."""
    return [KeyPublic.of(key) for key in keys.list_keys(session)]


@router.post("/keys/{key_id}/revoke", response_model=KeyPublic, responses=errors(*READ, 404, 422))
def revoke_key(key_id: KeyId, session: SessionDep, principal: OrganiserDep) -> KeyPublic:
    """Revoke a key: from now on it is answered 401. Revoking twice changes nothing."""
    key = keys.revoke_key(session, key_id, actor=principal.actor)
    if key is None:
        raise ApiError(404, f"no key with id {key_id}", field="key_id")
    return KeyPublic.of(key)
