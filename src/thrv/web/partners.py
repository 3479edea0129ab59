"""The partner API: the sharing agreement, cross-agency insight and each partner's linked records.

Mounted by :func:`thrv.web.app.create_app` (``app.include_router(partners_router(...))``),
with the app's own authentication dependency, so the same users, roles and audit log apply.
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

# no `from __future__ import annotations`: FastAPI reads the route annotations, which name closure variables

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException

from thrv.web.auth import AuditLog, User


def partners_router(db: Path, user_dependency: Callable[..., User], audit: AuditLog,
                    sharing: Path | None = None) -> APIRouter:
    """The router for one store, its sharing agreement (default ``<db>.sharing.toml``)."""
    from thrv.linkage.sharing import Agreement, SharingError, load_agreement, sharing_path_for

    router = APIRouter(prefix="/api/partners", tags=["partners"])
    agreement_file = sharing or sharing_path_for(db)

    def agreement() -> Agreement:
        if not agreement_file.exists():
            raise HTTPException(404, "no sharing agreement for this store: partner data is not shared")
        try:
            return load_agreement(agreement_file)
        except SharingError as exc:
            raise HTTPException(500, str(exc)) from exc

    def people() -> Any:
        from thrv.store.database import Store
        from thrv.store.people import people_table

        with Store(db, read_only=True) as store:
            return people_table(store)

    def record(user: User, what: str, decision: str, **extra: Any) -> None:
        audit.write(user=user.name, role=user.role, partner_access=what, decision=decision, **extra)

    @router.get("/agreement")
    def get_agreement(user: Annotated[User, Depends(user_dependency)]) -> dict[str, Any]:
        found = agreement()
        record(user, "agreement", "allowed")
        return found.public()

    @router.get("/insight")
    def get_insight(user: Annotated[User, Depends(user_dependency)]) -> dict[str, Any]:
        from thrv.linkage.insight import insight

        found = agreement()
        view = found.view_for(user.role)
        if view == "none":
            record(user, "insight", "refused")
            raise HTTPException(403, f"the {user.role} role sees no partner data under this agreement")
        summary = insight(people(), found.victims(), found.rule, suppressed=view != "pseudonymous")
        record(user, "insight", "allowed", suppressed=view != "pseudonymous")
        return summary

    @router.get("/{partner}/records")
    def get_records(partner: str, user: Annotated[User, Depends(user_dependency)]) -> dict[str, Any]:
        found = agreement()
        if partner not in found.partners:
            record(user, f"records:{partner}", "refused (no such partner)")
            raise HTTPException(404, f"no partner {partner!r} in the sharing agreement")
        view = found.view_for(user.role)
        own = found.partner_of(user.name) == partner
        allowed = view == "pseudonymous" or (view == "own" and own)
        if not allowed:
            record(user, f"records:{partner}", "refused")
            raise HTTPException(403, f"{user.name} may not see {partner}'s records under the sharing agreement")
        frame = people()
        mine = frame[frame["partner"] == partner]
        others = frame[frame["partner"] != partner].dropna(subset=["person_key"])
        known = others.groupby("person_key")["partner"].agg(lambda s: sorted(set(s))).to_dict()
        rows = [{"record_key": r.record_key, "person_key": r.person_key,
                 "also_known_to": known.get(r.person_key, []) if isinstance(r.person_key, str) else []}
                for r in mine.itertuples()]
        record(user, f"records:{partner}", "allowed", rows=len(rows))
        return {"partner": partner, "purpose": found.partners[partner].purpose, "records": rows,
                "note": "Record keys are HMAC-SHA-256 of your record ids under your partner key; other agencies' "
                        "records appear only as the agencies that know the same person."}

    return router
