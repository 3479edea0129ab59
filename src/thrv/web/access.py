"""Who is asking, and may they: the checks every route (and every added router) uses.

A router elsewhere in thrv (e.g. ``thrv.web.partners``) needs nothing but this module::

    from fastapi import APIRouter
    from thrv.web.access import Analyst, AnyUser, require_role

    router = APIRouter(prefix="/api/partners", tags=["partners"])

    @router.get("/summary")
    def summary(user: Annotated[User, Depends(require_role("analyst", "partner"))]) -> dict: ...

Its requests are authenticated, throttled, checked for a foreign Origin, audited and given
the security headers like every other, because all of that happens here and in the
middleware of :mod:`thrv.web.app`.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from thrv.web.auth import Credentials, LoginThrottle, Sessions, User

COOKIE = "thrv_session"


@dataclass
class Access:
    """The server's users, sessions and throttle (kept on ``app.state.access``)."""

    users: dict[str, User]
    credentials: Credentials
    sessions: Sessions
    throttle: LoginThrottle

    def user(self, request: Request) -> User | None:
        """The signed-in user of a request (cookie, bearer token or HTTP Basic), or None.

        Raises 429 while the name or the address is locked after repeated failures.
        """
        user = self._resolve(request)
        request.state.user = user
        return user

    def _resolve(self, request: Request) -> User | None:
        address = client_address(request)
        cookie = request.cookies.get(COOKIE)
        if cookie:
            name = self.sessions.read(cookie)
            if name and name in self.users:
                return self.users[name]
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer":
            self._refuse_if_locked(None, address)
            user = self.credentials.token(value.strip())
            if user is None:
                self.throttle.failure(None, address)
            return user
        if scheme.lower() == "basic":
            try:
                name, _, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
            except (ValueError, UnicodeDecodeError, binascii.Error):
                self.throttle.failure(None, address)
                return None
            request.state.attempted = name[:80]
            return self.sign_in(name, password, address)
        return None

    def sign_in(self, name: str, password: str, address: str | None) -> User | None:
        """Check a name and password under the throttle (raises 429 while locked)."""
        self._refuse_if_locked(name, address)
        user = self.credentials.password(name, password)
        if user is None:
            self.throttle.failure(name, address)
            return None
        self.throttle.success(name)
        return user

    def _refuse_if_locked(self, name: str | None, address: str | None) -> None:
        wait = self.throttle.locked_for(name, address)
        if wait > 0:
            minutes = max(1, round(wait / 60))
            raise HTTPException(
                429,
                f"too many failed sign-ins for this user or from this address: try again in {minutes} minute(s)",
                headers={"Retry-After": str(int(wait) + 1)},
            )


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def access_of(request: Request) -> Access:
    access: Access = request.app.state.access
    return access


def optional_user(request: Request) -> User | None:
    return access_of(request).user(request)


def api_user(request: Request) -> User:
    """Dependency: the signed-in user, or 401."""
    user = optional_user(request)
    if user is None:
        raise HTTPException(401, "authentication required", headers={"WWW-Authenticate": 'Bearer realm="thrv"'})
    return user


def require_role(*roles: str) -> Callable[[User], User]:
    """Dependency factory: the signed-in user if their role is one of ``roles``, else 403."""

    def check(user: Annotated[User, Depends(api_user)]) -> User:
        if user.role not in roles:
            raise HTTPException(403, f"the {user.role} role cannot see this")
        return user

    return check


AnyUser = Annotated[User, Depends(api_user)]
Analyst = Annotated[User, Depends(require_role("analyst"))]
