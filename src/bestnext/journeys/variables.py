"""The variables journey texts and catalog treatments are filled with, from the person's profile,
their own events, the instance and the bank's configuration."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bestnext.clock import as_utc
from bestnext.journeys import ports
from bestnext.journeys.bankcal import BankCalendar
from bestnext.journeys.store import Instance
from bestnext.journeys.texts import amount, spoken


def template_vars(inst: Instance, profile: dict[str, Any], person: dict[str, Any], assignees: dict[str, Any],
                  config_dir: Path, now: datetime, calendar: BankCalendar) -> dict[str, Any]:
    """The person's name, language and own data, the moments promised, their branch and its
    advisor, the product they signalled, the contact attempt and whether a call goes on."""
    lang, call_at = person["language"], inst.vars.get("call_at")
    branch = inst.vars.get("branch") or person.get("branch") or next(iter(assignees["branches"]), None)
    advisors = assignees["branches"].get(branch) or []
    money = person.get("simulation_yearly_eur")
    name = product_name(config_dir, inst.vars.get("product"), lang)
    return {"first_name": profile.get("profile.first_name") or "", "product": inst.vars.get("product") or "",
            "call_at": spoken(as_utc(datetime.fromisoformat(str(call_at))), now, lang) if call_at else "",
            "next_call": spoken(calendar.next_open("call_center", now), now, lang),
            "branch": assignees.get("branch_names", {}).get(branch, ""),
            "advisor": advisors[0] if advisors else "",
            "simulation_yearly_eur": amount(money, lang) if money else "",
            "product_name": name, "about_product": f" ({name})" if name else "",
            "attempt": int(inst.vars.get("attempts", 0)), "requested": list(person.get("requested", [])),
            "continuing_call": in_call(inst, now)}


def in_call(inst: Instance, now: datetime) -> bool:
    """Whether the instance's last contact is a call placed minutes ago (the same call goes on)."""
    last = inst.vars.get("last_due")
    if inst.vars.get("last_channel") != "call_center" or not last:
        return False
    return timedelta(0) <= now - as_utc(datetime.fromisoformat(str(last))) <= timedelta(minutes=10)


def product_name(config_dir: Path, product: Any, lang: str) -> str:
    """The product's name in ``lang`` (else Italian; "" for none)."""
    names = ports.product_names(config_dir).get(str(product or ""), {})
    return str(names.get(lang) or names.get("it") or "")


__all__ = ["in_call", "product_name", "template_vars"]
