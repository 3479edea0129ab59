"""Sharing agreements as data: what each partner shares, why, and who may see what.

One TOML file per project (by default ``<db>.sharing.toml`` beside the store; an example is
``data/partner-sample/sharing.toml``)::

    project = "Cambridgeshire community safety partnership"
    suppression = { rule = "threshold", threshold = 5 }

    [partners.police]
    title = "Cambridgeshire Constabulary"
    shares = ["forename", "surname", "date_of_birth", "postcode", "address", "sex"]
    purpose = "Repeat victims known to other agencies (Crime and Disorder Act 1998 s.115)"
    records = "victims"            # what one record is: victims, offenders, service users, ...
    users = ["alice"]              # dashboard users who act for this partner

    [roles]                        # what each dashboard role sees of person data
    analyst = "pseudonymous"       # every record as keys and links, no record id; aggregates in full
    partner = "own"                # own records in full (keys the partner can match to its ids),
                                   # others only as pseudonymous links; aggregates suppressed
    public = "aggregates"          # suppressed aggregates only

The rules are enforced by the API (:mod:`thrv.web.partners`); every access is audited.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from thrv.report.disclosure import DisclosureRule

VIEWS = ("pseudonymous", "own", "aggregates", "none")
FIELDS = ("forename", "surname", "date_of_birth", "postcode", "address", "identifier", "sex")


class SharingError(ValueError):
    """A sharing agreement that cannot be used (the message names the file and key)."""


@dataclass(frozen=True)
class PartnerAgreement:
    name: str
    title: str
    shares: tuple[str, ...]
    purpose: str
    records: str = "records"
    users: tuple[str, ...] = ()


@dataclass(frozen=True)
class Agreement:
    project: str
    partners: dict[str, PartnerAgreement]
    roles: dict[str, str] = field(default_factory=lambda: {"analyst": "pseudonymous", "partner": "own",
                                                          "public": "aggregates"})
    rule: DisclosureRule = field(default_factory=DisclosureRule)
    path: str = ""

    def partner_of(self, user: str) -> str | None:
        for partner in self.partners.values():
            if user in partner.users:
                return partner.name
        return None

    def view_for(self, role: str) -> str:
        return self.roles.get(role, "none")

    def victims(self) -> list[str]:
        return [p.name for p in self.partners.values() if p.records.lower().startswith("victim")]

    def public(self) -> dict[str, Any]:
        """The agreement as anyone may read it (no user names)."""
        return {"project": self.project, "suppression": {"rule": self.rule.rule, "threshold": self.rule.threshold},
                "roles": dict(self.roles),
                "partners": [{"name": p.name, "title": p.title, "shares": list(p.shares), "purpose": p.purpose,
                              "records": p.records} for p in self.partners.values()]}


def sharing_path_for(db: str | Path) -> Path:
    db = Path(db)
    return db.with_name(db.name + ".sharing.toml")


def load_agreement(path: str | Path) -> Agreement:
    try:
        doc = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SharingError(f"{path}: cannot read the sharing agreement ({exc})") from exc
    return parse_agreement(doc, str(path))


def parse_agreement(doc: dict[str, Any], source: str) -> Agreement:
    partners: dict[str, PartnerAgreement] = {}
    for name, body in (doc.get("partners") or {}).items():
        where = f"{source}: [partners.{name}]"
        if not isinstance(body, dict):
            raise SharingError(f"{where} must be a table")
        shares = tuple(body.get("shares", []))
        unknown = [f for f in shares if f not in FIELDS]
        if unknown:
            raise SharingError(f"{where} shares unknown field(s) {', '.join(unknown)}; fields are {', '.join(FIELDS)}")
        if not str(body.get("purpose", "")).strip():
            raise SharingError(f"{where} needs a purpose: data is shared for a stated purpose only")
        partners[name] = PartnerAgreement(name, str(body.get("title", name)), shares, str(body["purpose"]),
                                          str(body.get("records", "records")), tuple(body.get("users", [])))
    roles = {"analyst": "pseudonymous", "partner": "own", "public": "aggregates", **(doc.get("roles") or {})}
    bad = {r: v for r, v in roles.items() if v not in VIEWS}
    if bad:
        raise SharingError(f"{source}: [roles] views must be one of {', '.join(VIEWS)}; got {bad}")
    sup = doc.get("suppression") or {}
    try:
        rule = DisclosureRule.from_settings(sup)
    except ValueError as exc:
        raise SharingError(f"{source}: [suppression] {exc}") from exc
    return Agreement(str(doc.get("project", "")), partners, roles, rule, source)
