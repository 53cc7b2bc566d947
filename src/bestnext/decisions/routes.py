"""HTTP API of decisions: decide, record outcomes, model monitoring, contact policy."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from bestnext.access import Principal
from bestnext.access.permissions import Permission
from bestnext.api.deps import ContainerDep, require
from bestnext.db import read
from bestnext.decisions import contact_policy, services
from bestnext.decisions.catalog import Channel
from bestnext.decisions.model import DecisionContext

router = APIRouter(tags=["decisions"])
Decider = Annotated[Principal, Depends(require(Permission.DECISIONS_REQUEST))]
Watcher = Annotated[Principal, Depends(require(Permission.DECISIONS_READ))]


class DecisionCreate(BaseModel):
    """Ask for the best next actions of a person."""

    model_config = ConfigDict(extra="forbid")

    person_id: str = Field(min_length=1, max_length=64)
    channel: Channel | None = Field(default=None, description="only actions on this channel")
    n: int = Field(default=3, ge=1, le=50)
    reason: str = Field(default="browse", max_length=64, description="why now: own_request, new_lead, ...")
    inbound_channel: Channel | None = Field(default=None, description="where the person is now, if inbound")
    language: Literal["it", "en"] = "it"
    based_on: list[str] = Field(default_factory=list, max_length=50)
    variables: dict[str, str] = Field(default_factory=dict, description="operator, advisor, branch")


class OutcomeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action_id: str = Field(min_length=1, max_length=64)
    outcome: Literal["impression", "accepted", "declined", "ignored", "converted"]
    at: datetime | None = None


@router.post("/v1/decisions", status_code=201, response_model=None)
def create_decision(body: DecisionCreate, container: ContainerDep, _who: Decider) -> Response:
    now = container.clock.now()
    context = DecisionContext(at=now, reason=body.reason, inbound_channel=body.inbound_channel,
                              language=body.language, based_on=tuple(body.based_on), variables=body.variables)
    with read(container.engine) as conn:  # decide without holding the write lock
        decided = services.prepare(conn, body.person_id, context, body.channel, body.n,
                                   config_dir=container.settings.config_dir)
    with container.engine.begin() as conn:
        services.log_decision(conn, decided)
    # encoded once, by orjson (the view is plain JSON types already: no jsonable_encoder pass)
    return Response(orjson.dumps(services.decision_public(decided.id, body.person_id, now, decided.decision)),
                    status_code=201, media_type="application/json")


@router.post("/v1/decisions/{decision_id}/outcome")
def create_outcome(decision_id: str, body: OutcomeCreate, container: ContainerDep,
                   _who: Decider) -> dict[str, Any]:
    with container.engine.begin() as conn:
        done = services.record_outcome(conn, decision_id, body.action_id, body.outcome,
                                       body.at or container.clock.now(), config_dir=container.settings.config_dir)
    return {"decision_id": done.decision_id, "action_id": done.action_id, "outcome": done.outcome,
            "recorded": done.recorded, "learned": done.learned}


@router.get("/v1/models")
def list_models(container: ContainerDep, _who: Watcher) -> dict[str, Any]:
    with read(container.engine) as conn:
        return {"models": services.models_report(conn)}


@router.get("/v1/contact-policy/check")
def check_contact(container: ContainerDep, _who: Watcher, person_id: Annotated[str, Query(max_length=64)],
                  channel: Channel, purpose: Literal["service", "marketing"],
                  at: datetime | None = None) -> dict[str, Any]:
    with read(container.engine) as conn:
        result = contact_policy.check(conn, person_id, channel, purpose, at or container.clock.now(),
                                      config=contact_policy.load_config(container.settings.config_dir))
    return contact_policy.as_dict(result)


@router.get("/v1/contact-policy/at-risk")
def at_risk(container: ContainerDep, _who: Watcher) -> dict[str, Any]:
    with read(container.engine) as conn:
        rows = services.at_risk_of_abandonment(conn, container.clock.now())
    return {"at_risk": rows}
