"""The partner API: the sharing agreement, cross-agency insight and each partner's linked records.

Included by the web server (``ROUTERS`` in :mod:`thrv.web.app`); its routes use the checks of
:mod:`thrv.web.access`, so the same users, roles, throttle and audit log apply. It reads the
server's current snapshot of the store, and the agreement beside the store.
What each role sees is the project's sharing agreement (:mod:`thrv.linkage.sharing`):

- ``GET /api/partners/agreement`` — who shares which fields, for what purpose (any user);
- ``GET /api/partners/insight`` — cross-agency counts, suppressed for every role but an
  analyst whose view is ``pseudonymous`` (then unsuppressed); never record-level;
- ``GET /api/partners/{partner}/records`` — that partner's records as record keys (which the
  partner can match to its own ids with its key), each with its person key and the other
  agencies that know the person: a partner's own users, or an analyst; nobody else. Other
  partners' records are never listed, only named as agencies.

Every request, allowed or refused, is written to the audit log with what was decided.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request

from thrv.web.access import AnyUser
from thrv.web.auth import User

router = APIRouter(prefix="/api/partners", tags=["partners"])


def _store_path(request: Request) -> tuple[Path, Path]:
    """(the store to read: the server's current snapshot, else the store; the store itself)."""
    builds = request.app.state.builds
    snapshot = getattr(builds.snapshots, "path", None)
    return Path(snapshot or builds.db), Path(builds.db)


def _agreement(request: Request) -> Any:
    from thrv.linkage.sharing import SharingError, load_agreement, sharing_path_for

    _, db = _store_path(request)
    path = getattr(request.app.state, "sharing", None) or sharing_path_for(db)
    if not Path(path).exists():
        raise HTTPException(404, "no sharing agreement for this store: partner data is not shared")
    try:
        return load_agreement(path)
    except SharingError as exc:
        raise HTTPException(500, str(exc)) from exc


def _people(request: Request) -> Any:
    from thrv.store.database import Store
    from thrv.store.people import people_table

    path, _ = _store_path(request)
    with Store(path, read_only=True) as store:
        return people_table(store)


def _record(request: Request, user: User, what: str, decision: str, **extra: Any) -> None:
    request.app.state.audit.write(user=user.name, role=user.role, partner_access=what, decision=decision, **extra)


@router.get("/agreement")
def get_agreement(request: Request, user: AnyUser) -> dict[str, Any]:
    found = _agreement(request)
    _record(request, user, "agreement", "allowed")
    return dict(found.public())


@router.get("/insight")
def get_insight(request: Request, user: AnyUser) -> dict[str, Any]:
    from thrv.linkage.insight import insight

    found = _agreement(request)
    view = found.view_for(user.role)
    if view == "none":
        _record(request, user, "insight", "refused")
        raise HTTPException(403, f"the {user.role} role sees no partner data under this agreement")
    summary = insight(_people(request), found.victims(), found.rule, suppressed=view != "pseudonymous")
    _record(request, user, "insight", "allowed", suppressed=view != "pseudonymous")
    return summary


@router.get("/{partner}/records")
def get_records(partner: str, request: Request, user: AnyUser) -> dict[str, Any]:
    found = _agreement(request)
    if partner not in found.partners:
        _record(request, user, f"records:{partner}", "refused (no such partner)")
        raise HTTPException(404, f"no partner {partner!r} in the sharing agreement")
    view = found.view_for(user.role)
    own = found.partner_of(user.name) == partner
    if not (view == "pseudonymous" or (view == "own" and own)):
        _record(request, user, f"records:{partner}", "refused")
        raise HTTPException(403, f"{user.name} may not see {partner}'s records under the sharing agreement")
    frame = _people(request)
    mine = frame[frame["partner"] == partner]
    others = frame[frame["partner"] != partner].dropna(subset=["person_key"])
    known = others.groupby("person_key")["partner"].agg(lambda s: sorted(set(s))).to_dict()
    rows = [{"record_key": r.record_key, "person_key": r.person_key,
             "also_known_to": known.get(r.person_key, []) if isinstance(r.person_key, str) else []}
            for r in mine.itertuples()]
    _record(request, user, f"records:{partner}", "allowed", rows=len(rows))
    return {"partner": partner, "purpose": found.partners[partner].purpose, "records": rows,
            "note": "Record keys are HMAC-SHA-256 of your record ids under your partner key; other agencies' "
                    "records appear only as the agencies that know the same person."}
