"""``/v1/consents``: record a person's consents and read their state and history."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from bestnext.access import Principal
from bestnext.access.permissions import Permission
from bestnext.api.deps import AccessPurpose, ContainerDep, require
from bestnext.consent import services
from bestnext.consent.model import Source

router = APIRouter(prefix="/v1/consents", tags=["consent"])
Reader = Annotated[Principal, Depends(require(Permission.CONSENTS_READ))]
Writer = Annotated[Principal, Depends(require(Permission.CONSENTS_WRITE))]


class ConsentCreate(BaseModel):
    type: str = Field(description="Identifier type: email, phone, user_id, ... or person.")
    value: str = Field(min_length=1, max_length=300)
    purposes: dict[str, bool] = Field(description="Purpose -> granted (true) or refused (false).")
    touchpoint: str = Field("api", max_length=32)
    operator: str | None = Field(None, max_length=200)
    message_id: str | None = Field(None, max_length=200)
    legal_version: str | None = Field(None, max_length=64)
    at: datetime | None = Field(None, description="When the person stated it (default: now).")


@router.post("", status_code=201)
def record_consents(body: ConsentCreate, who: Writer, container: ContainerDep) -> dict[str, Any]:
    source = Source(body.touchpoint, body.message_id, body.operator or who.name)
    return services.record_subject(container.engine, container.clock, who, body.type, body.value,
                                   body.purposes, source, body.at, body.legal_version)


@router.get("/{id_type}/{value}")
def show_consents(id_type: str, value: str, who: Reader, container: ContainerDep,
                  why: AccessPurpose = None) -> dict[str, Any]:
    return services.show_subject(container.engine, container.clock, who, id_type, value, why)


@router.get("/{id_type}/{value}/may")
def may(id_type: str, value: str, _who: Reader, container: ContainerDep,
        use: str = Query(..., description="service, marketing, third_party_marketing, survey, export, ..."),
        category: list[str] = Query(default_factory=list), channel: str | None = None) -> dict[str, Any]:
    decision = services.may_subject(container.engine, container.clock, id_type, value, use, category, channel)
    return decision.public()
