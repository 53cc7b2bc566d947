"""HTTP entry points of channels: provider webhooks, one-click unsubscribe, outbox status,
call tasks, service cases and branch briefings. Thin: parse, call one service, render."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field

from bestnext.access import Principal
from bestnext.access.permissions import Permission
from bestnext.api.deps import ContainerDep, require
from bestnext.bootstrap import Container
from bestnext.channels import assisted, branch, calls, cases, engagement, inbound, outbox
from bestnext.channels.config import channels_config, operators_config
from bestnext.channels.signatures import verify_generic, verify_hub, verify_twilio
from bestnext.db import read
from bestnext.errors import InvalidInput, NotFound, Unauthorized, Unavailable

router = APIRouter(tags=["channels"])
Agent = Annotated[Principal, Depends(require(Permission.CONTACTS_WORK))]
Ops = Annotated[Principal, Depends(require(Permission.METRICS_READ))]
Admin = Annotated[Principal, Depends(require(Permission.OUTBOX_MANAGE))]
TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
# a transparent 1x1 GIF, and headers that keep caches (and the Referer) out of tracking
PIXEL = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b")
NO_STORE = {"Cache-Control": "no-store, no-cache, must-revalidate, max-age=0", "Pragma": "no-cache",
            "Expires": "0", "Referrer-Policy": "no-referrer"}


def _secret(container: Container, channel: str, name: str) -> str:
    cfg = channels_config(container.settings.config_dir).providers.get(channel)
    value = cfg.secret(name) if cfg else None
    if not value:
        raise Unavailable(f"The {channel} provider has no {name} configured.")
    return value


async def _twilio_form(request: Request, container: Container) -> dict[str, str]:
    form = {k: str(v) for k, v in (await request.form()).items()}
    url = channels_config(container.settings.config_dir).public_base_url.rstrip("/") + request.url.path
    if request.url.query:  # Twilio signs the URL exactly as it called it, query included
        url += "?" + request.url.query
    if not verify_twilio(url, form, _secret(container, "sms", "auth_token"),
                         request.headers.get("x-twilio-signature")):
        raise Unauthorized("The Twilio signature is not valid.")
    return form


@router.post("/v1/webhooks/twilio/sms", include_in_schema=False)
async def twilio_sms(request: Request, container: ContainerDep) -> Response:
    form = await _twilio_form(request, container)
    with container.engine.begin() as conn:
        inbound.sms_reply(conn, form, container.clock.now())
    container.notifier.notify()
    return Response(TWIML, media_type="application/xml")


@router.post("/v1/webhooks/twilio/status", include_in_schema=False)
async def twilio_status(request: Request, container: ContainerDep) -> Response:
    form = await _twilio_form(request, container)
    with container.engine.begin() as conn:
        inbound.sms_status(conn, form, container.clock.now())
    container.notifier.notify()
    return Response(status_code=204)


@router.get("/v1/webhooks/meta", include_in_schema=False)
def meta_verify(container: ContainerDep, mode: str = Query("", alias="hub.mode"),
                token: str = Query("", alias="hub.verify_token"),
                challenge: str = Query("", alias="hub.challenge")) -> Response:
    if mode != "subscribe" or token != _secret(container, "social", "verify_token"):
        raise Unauthorized("The verify token is not valid.")
    return Response(challenge, media_type="text/plain")


@router.post("/v1/webhooks/meta", include_in_schema=False)
async def meta_webhook(request: Request, container: ContainerDep) -> dict[str, int]:
    body = await request.body()
    if not verify_hub(body, _secret(container, "social", "app_secret"), request.headers.get("x-hub-signature-256")):
        raise Unauthorized("The X-Hub-Signature-256 is not valid.")
    with container.engine.begin() as conn:
        count = inbound.meta_messages(conn, _json(body), container.clock.now())
    container.notifier.notify()
    return {"accepted": count}


@router.post("/v1/webhooks/generic", include_in_schema=False)
async def generic_webhook(request: Request, container: ContainerDep) -> dict[str, bool]:
    body = await request.body()
    secret = channels_config(container.settings.config_dir).inbound_key()
    if not secret:
        raise Unavailable("No inbound webhook secret is configured.")
    if not verify_generic(request.headers.get("x-bestnext-timestamp"), body, secret,
                          request.headers.get("x-bestnext-signature"), container.clock.now().timestamp()):
        raise Unauthorized("The X-Bestnext-Signature is not valid.")
    with container.engine.begin() as conn:
        new = inbound.generic(conn, _json(body), container.clock.now())
    container.notifier.notify()
    return {"accepted": new}


def _json(body: bytes) -> dict[str, Any]:
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise InvalidInput("The body is not JSON.") from None
    if not isinstance(value, dict):
        raise InvalidInput("The body must be a JSON object.")
    return value


@router.post("/v1/unsubscribe/{token}")
def unsubscribe(token: str, container: ContainerDep) -> dict[str, Any]:
    """RFC 8058 one-click unsubscribe (the signed token is the credential)."""
    with container.engine.begin() as conn:
        channel, recorded = inbound.unsubscribe(conn, token, container.settings.secret_key, container.clock.now())
    container.notifier.notify()
    return {"unsubscribed": True, "channel": channel, "consent_recorded": recorded}


@router.get("/v1/t/o/{token}.gif", include_in_schema=False)
def email_opened(token: str, container: ContainerDep) -> Response:
    """The open pixel: the same GIF whatever the token (valid tokens are never revealed)."""
    action_id = engagement.open_of(token, container.settings.secret_key)
    if action_id is not None:
        with container.engine.begin() as conn:
            recorded = engagement.opened(conn, action_id, container.clock.now())
        if recorded:
            container.notifier.notify()
    return Response(PIXEL, media_type="image/gif", headers=NO_STORE)


@router.get("/v1/t/c/{token}", include_in_schema=False)
def email_link_clicked(token: str, container: ContainerDep) -> RedirectResponse:
    """A tracked link: the click is recorded (durably), then 302 to where the message pointed."""
    link = engagement.link_of(token, container.settings.secret_key)
    with container.engine.begin() as conn:
        recorded = engagement.clicked(conn, link, container.clock.now())
    if recorded:
        container.notifier.notify()
    return RedirectResponse(str(link.url), status_code=302, headers=NO_STORE)


@router.get("/v1/outbox/status")
def outbox_status(container: ContainerDep, _who: Ops) -> dict[str, Any]:
    with read(container.engine) as conn:
        state = outbox.status(conn)
    return {"depth": state.depth, "oldest_pending_due_at": state.oldest_pending_due_at,
            "by_channel": state.by_channel, "failed_attempts": state.failures}


@router.post("/v1/outbox/{action_id}/redrive")
def outbox_redrive(action_id: str, container: ContainerDep, _who: Admin) -> dict[str, int]:
    with container.engine.begin() as conn:
        n = outbox.redrive(conn, container.clock.now(), action_id)
    if not n:
        raise NotFound("No dead action with that id.")
    return {"redriven": n}


@router.get("/v1/tasks")
def tasks_list(container: ContainerDep, _who: Agent, queue: str | None = None,
               status: str | None = None) -> list[dict[str, Any]]:
    with read(container.engine) as conn:
        return [_plain(t) for t in calls.list_tasks(conn, queue=queue, status=status)]


class Claim(BaseModel):
    operator: str | None = Field(None, max_length=64)


class Outcome(BaseModel):
    outcome: str = Field(pattern="^(" + "|".join(calls.OUTCOMES) + ")$")
    operator: str | None = Field(None, max_length=64)
    call_back_at: datetime | None = None


@router.post("/v1/tasks/{task_id}/claim")
def tasks_claim(task_id: str, body: Claim, container: ContainerDep, who: Agent) -> dict[str, Any]:
    with container.engine.begin() as conn:
        return _plain(calls.claim(conn, task_id, body.operator or who.name, container.clock.now()))


@router.post("/v1/tasks/{task_id}/outcome")
def tasks_outcome(task_id: str, body: Outcome, container: ContainerDep, who: Agent) -> dict[str, Any]:
    ops = operators_config(container.settings.config_dir)
    with container.engine.begin() as conn:
        task = assisted.record_outcome(conn, task_id, body.outcome, body.operator or who.name,
                                       container.clock.now(), ops, body.call_back_at)
    container.notifier.notify()
    return _plain(task)


class CaseCreate(BaseModel):
    person_id: str = Field(min_length=1, max_length=36)
    type: str = Field(min_length=1, max_length=64)
    based_on: list[str] = []


class CaseStatus(BaseModel):
    status: str = Field(pattern="^(open|in_progress|resolved|closed)$")


@router.get("/v1/cases")
def cases_list(container: ContainerDep, _who: Agent, status: str | None = None,
               person_id: str | None = None) -> list[dict[str, Any]]:
    with read(container.engine) as conn:
        return [_plain(c) for c in cases.list_cases(conn, status=status, person_id=person_id)]


@router.post("/v1/cases", status_code=201)
def cases_open(body: CaseCreate, container: ContainerDep, who: Agent) -> dict[str, Any]:
    kind = operators_config(container.settings.config_dir).case_types.get(body.type)
    if kind is None:
        raise InvalidInput(f"Unknown case type '{body.type}'.")
    now = container.clock.now()
    with container.engine.begin() as conn:
        case_id = cases.open_case(conn, body.person_id, body.type, team=kind.team,
                                  sla=timedelta(hours=kind.sla_hours), opened_by=who.name, at=now,
                                  based_on=tuple(body.based_on))
        return _plain(cases.get(conn, case_id))


@router.post("/v1/cases/{case_id}/status")
def cases_status(case_id: str, body: CaseStatus, container: ContainerDep, who: Agent) -> dict[str, Any]:
    with container.engine.begin() as conn:
        return _plain(cases.set_status(conn, case_id, body.status, who.name, container.clock.now()))


@router.get("/v1/branches/{branch_id}/briefings")
def briefings(branch_id: str, container: ContainerDep, _who: Agent) -> list[dict[str, Any]]:
    with read(container.engine) as conn:
        return [_plain(a) for a in branch.list_for_branch(conn, branch_id)]


def _plain(value: Any) -> dict[str, Any]:
    return {name: getattr(value, name) for name in value.__slots__}
