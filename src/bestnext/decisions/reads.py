"""The reads of one decision, as named queries built once (the decision's hot path).

A decision reads the person's profile (following merges; own and joint holdings; whether a
household links them), consent ledger and contact history. The general services
(``profiles.services.get_profile``, ``consent.services.state``, ``store.contact_state``) build
their statements on every call, which costs several times the query itself; these statements
are built once, with bound parameters, and return the same values (a test compares them).
What a decision does not need is not read (the household's members, the identities' details).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, bindparam, func, select

from bestnext.channels.cases import OPEN_STATES
from bestnext.channels.tables import service_cases as channel_cases
from bestnext.consent.model import ConsentEntry, ConsentState, Purpose, Source
from bestnext.consent.tables import consent_ledger
from bestnext.decisions.contact_policy import Contact, ContactPolicyConfig, ContactState
from bestnext.decisions.learning.tables import decision_models
from bestnext.decisions.model import ProfileView
from bestnext.decisions.profile_view import _value, build_view
from bestnext.decisions.store import _CASES, _CONTACTS, _MARKS
from bestnext.decisions.tables import offer_grants
from bestnext.errors import NotFound
from bestnext.identity.model import USER_ID
from bestnext.identity.tables import household_links, identities, persons
from bestnext.profiles.model import ProfileState, stage_rank
from bestnext.profiles.tables import profile_joint_holdings, profiles

_PERSON = select(persons.c.absorbed_into).where(persons.c.id == bindparam("person"))
_PROFILE = select(profiles.c.doc, profiles.c.event_count).where(profiles.c.person_id == bindparam("person"))
_USER_IDS = select(identities.c.value).where(identities.c.person_id == bindparam("person"),
                                            identities.c.id_type == USER_ID)
_JOINT = select(profile_joint_holdings.c.product, profile_joint_holdings.c.since,
                profile_joint_holdings.c.message_id).where(
    profile_joint_holdings.c.user_id.in_(bindparam("users", expanding=True)))
_HOUSEHOLD = (select(household_links.c.household_id)
              .join(identities, and_(identities.c.id_type == household_links.c.id_type,
                                     identities.c.value == household_links.c.value))
              .where(identities.c.person_id == bindparam("person")).limit(1))
_CONSENT = (select(consent_ledger.c.purpose, consent_ledger.c.granted, consent_ledger.c.touchpoint,
                   consent_ledger.c.message_id, consent_ledger.c.operator, consent_ledger.c.at,
                   consent_ledger.c.legal_version, consent_ledger.c.id)
            .where(consent_ledger.c.person_id == bindparam("person"))
            .order_by(consent_ledger.c.at, consent_ledger.c.id))
_OPEN_CASE = select(channel_cases.c.id).where(channel_cases.c.person_id == bindparam("person"),
                                              channel_cases.c.status.in_(OPEN_STATES)).limit(1)
_GRANTS = select(offer_grants.c.offer, offer_grants.c.granted)
_STAMP = select(func.count(), func.coalesce(func.sum(decision_models.c.responses), 0))


def current_person(conn: Connection, person_id: str) -> str | None:
    """The person an id now stands for (following merges), or None when unknown."""
    seen: set[str] = set()
    current = person_id
    row = conn.execute(_PERSON, {"person": current}).first()
    if row is None:
        return None
    while row is not None and row[0] and current not in seen:
        seen.add(current)
        current = str(row[0])
        row = conn.execute(_PERSON, {"person": current}).first()
    return current


def profile_view(conn: Connection, person_id: str, at: datetime) -> ProfileView:
    """What arbitration may know about the person (``profile_view.view_of_profile`` of
    ``profiles.services.get_profile``)."""
    current = current_person(conn, person_id)
    if current is None:
        raise NotFound("No such person.")
    row = conn.execute(_PROFILE, {"person": current}).first()
    state = ProfileState.from_doc(row.doc, row.event_count) if row is not None else ProfileState()
    users = list(conn.execute(_USER_IDS, {"person": current}).scalars())
    if users:
        for joint in conn.execute(_JOINT, {"users": users}):
            state.hold(joint.product, joint.since, joint.message_id)
    household = conn.execute(_HOUSEHOLD, {"person": current}).first() is not None
    stage = state.stage
    traits = {str(k): _value(v) for k, v in state.traits.items()}
    return build_view(current, dict(sorted(traits.items())), lifecycle_stage=stage if stage_rank(stage) else None,
                      holdings=sorted(str(h) for h in state.holdings),
                      interests=sorted({str(p) for p in state.interests}), household=household or None,
                      event_count=int(state.event_count or 0), at=at)


def consent_state(conn: Connection, person_id: str) -> ConsentState:
    """The person's consent history (``consent.services.state``)."""
    return ConsentState.of(person_id, [
        ConsentEntry(Purpose(r.purpose), bool(r.granted), Source(r.touchpoint, r.message_id, r.operator), r.at,
                     r.legal_version, int(r.id))
        for r in conn.execute(_CONSENT, {"person": person_id})])


def contact_state(conn: Connection, person_id: str, at: datetime, cfg: ContactPolicyConfig) -> ContactState:
    """The person's contacts, declines, complaints and open cases at ``at`` (``store.contact_state``)."""
    since = at - timedelta(days=max(cfg.marketing_window_days, 1) + 1)
    contacts = conn.execute(_CONTACTS, {"person": person_id, "since": since, "at": at})
    marks_since = at - timedelta(days=max(cfg.decline_cool_off_days, cfg.complaint_cool_off_days) + 1)
    marks = list(conn.execute(_MARKS, {"person": person_id, "since": marks_since, "at": at}))
    cases = [str(c.case_id) for c in conn.execute(_CASES, {"person": person_id, "at": at})]
    if conn.execute(_OPEN_CASE, {"person": person_id}).first() is not None:
        cases.append("channels")
    return ContactState(
        person_id,
        tuple(Contact(r.at, r.channel, r.purpose, r.action_id, r.direction) for r in contacts),
        tuple((str(m.action_id), m.at) for m in marks if m.kind == "decline"),
        tuple(m.at for m in marks if m.kind == "complaint"),
        tuple(cases))


def models_stamp(conn: Connection) -> tuple[int, int]:
    """(models, responses learnt) over every persisted model (``learning.store.models_stamp``)."""
    row = conn.execute(_STAMP).one()
    return int(row[0]), int(row[1])


def offer_usage(conn: Connection) -> dict[str, int]:
    """How many times each offer was accepted (``store.offer_usage``)."""
    return {str(r.offer): int(r.granted) for r in conn.execute(_GRANTS)}


__all__ = ["consent_state", "contact_state", "current_person", "models_stamp", "offer_usage", "profile_view"]
