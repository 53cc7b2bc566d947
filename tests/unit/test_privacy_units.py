"""Pure parts of privacy and access: tombstone normalisation, identifier extraction,
pseudonymised views, retention periods, the permission matrix."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bestnext.access import Role
from bestnext.access.permissions import MATRIX, Permission, allows, roles_for
from bestnext.access.pseudonym import pseudonymise
from bestnext.errors import ConfigInvalid
from bestnext.privacy import retention, tombstones

MARTINA = [json.loads(line) for line in Path("/work/shared/scenarios/martina.jsonl").read_text().splitlines()]


def test_identifiers_of_a_message_are_normalised_and_hashed_stably() -> None:
    found = tombstones.identifiers_in(MARTINA[0])
    assert found == {"anonymous_id:web-5c1e", "email:martina.bianchi@example.org", "phone:+393471112233",
                     "dmp_cookie:dmp-88af"}
    assert tombstones.normalise("phone", "347 111 2233") == tombstones.normalise("phone", "+39 347 1112233")
    assert tombstones.digest("email:a@b.it") == tombstones.digest("email:a@b.it")
    assert "a@b.it" not in tombstones.digest("email:a@b.it")
    social = tombstones.identifiers_in(MARTINA[5])
    assert "email:martina.bianchi@example.org" in social and "facebook_id:1000234" in social


def test_a_pseudonymised_profile_keeps_no_identifier() -> None:
    view = {"id": "9d7c", "identities": [{"type": "email", "value": "martina.bianchi@example.org"},
                                         {"type": "phone", "value": "+393471112233"}],
            "traits": {"first_name": "Martina", "last_name": "Bianchi", "age": 21, "city": "Milano",
                       "note": "call me at +39 347 1112233"},
            "household": {"holders": ["C100234"]}, "holdings": ["prepaid_card"]}
    out = pseudonymise(view, "secret")
    dumped = json.dumps(out)
    for value in ("9d7c", "martina", "Martina", "Bianchi", "+393471112233", "347 1112233", "C100234"):
        assert value not in dumped
    assert out["traits"]["age"] == 21 and out["traits"]["city"] == "Milano" and out["holdings"] == ["prepaid_card"]
    assert out == pseudonymise(view, "secret") and out != pseudonymise(view, "other key")


def test_retention_periods() -> None:
    now = datetime(2026, 1, 31, 12, tzinfo=UTC)
    assert retention.Rule("x", 1, "month").cutoff(now) == datetime(2025, 12, 31, 12, tzinfo=UTC)
    assert retention.Rule("x", 2, "year").cutoff(now) == datetime(2024, 1, 31, 12, tzinfo=UTC)
    assert retention.Rule("x", 2, "week").cutoff(now) == datetime(2026, 1, 17, 12, tzinfo=UTC)
    for bad in ({"events": {"page": "13 moons"}}, {"page": "13 months"}, None):
        with pytest.raises(ConfigInvalid):
            retention.parse_rules(bad)


def test_the_matrix_gives_compliance_the_privacy_permissions_and_analysts_no_identities() -> None:
    assert set(MATRIX) == set(Permission)
    for p in (Permission.PRIVACY_EXPORT, Permission.PRIVACY_ERASE, Permission.AUDIT_READ):
        assert roles_for(p) == {Role.COMPLIANCE, Role.ADMIN}
    assert allows(Role.ANALYST, Permission.PROFILES_READ) and not allows(Role.ANALYST, Permission.PROFILES_IDENTIFIED)
    assert all(not allows(Role.SOURCE, p) for p in Permission if p is not Permission.EVENTS_WRITE)
