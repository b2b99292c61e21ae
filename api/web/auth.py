"""Sign in with an API key (kept server-side; the browser holds an opaque HTTP-only cookie) and sign out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.web import i18n
from api.web.common import COOKIE, PageRoute, check_csrf, current_session, render, safe_next, store_of
from api.web.i18n import error_text, gettext
from matcher.errors import Forbidden
from matcher.storage import sessions

router = APIRouter(route_class=PageRoute, include_in_schema=False)
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


def _secure(request: Request) -> bool:
    """Mark the cookie Secure over HTTPS, and on loopback, which browsers treat as a secure origin."""
    return request.url.scheme == "https" or (request.url.hostname or "") in LOOPBACK


def _same_origin(request: Request) -> bool:
    """A sign-in form posted from another site is refused (login CSRF)."""
    origin = request.headers.get("origin")
    return origin is None or origin.rstrip("/") == str(request.base_url).rstrip("/")


@router.get("/signin", response_class=HTMLResponse)
def signin_page(request: Request, next: str = "/", signed_out: bool = False) -> Response:  # noqa: A002
    return render(request, "signin.html", next=safe_next(next), error="", signed_out=signed_out)


@router.post("/signin", response_class=HTMLResponse)
def signin(request: Request, api_key: Annotated[str, Form(max_length=200)] = "",
           next: Annotated[str, Form(max_length=2000)] = "/") -> Response:  # noqa: A002
    if not _same_origin(request):
        return render(request, "signin.html", 403, next="/", error=gettext("Sign in from this site's own page."))
    if not api_key.strip():
        return render(request, "signin.html", 400, next=safe_next(next), error=gettext("Enter your API key."))
    try:
        token = sessions.sign_in(store_of(request), api_key.strip())
    except Forbidden:
        return render(request, "signin.html", 401, next=safe_next(next),
                      error=gettext("That key is not valid or has been revoked. Check it and try again."))
    return _signed_in(request, token, safe_next(next))


@router.get("/signin/once", response_class=HTMLResponse)
def signin_once(request: Request, token: Annotated[str, Query(max_length=200)] = "") -> Response:
    """A one-time sign-in link (printed by ``matcher serve`` for the local admin): used up now, and the
    browser gets a session as if the key had been entered."""
    try:
        session_token = sessions.redeem_link(store_of(request), token)
    except Forbidden as exc:
        reason = error_text(exc).capitalize()
        message = gettext("{reason}. Sign in with your API key instead; the server prints a new link each time "
                          "it starts.")
        return render(request, "signin.html", 401, next="/", error=message.format(reason=reason))
    return _signed_in(request, session_token, "/")


def _signed_in(request: Request, token: str, target: str) -> Response:
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(COOKIE, token, max_age=int(sessions.LIFETIME.total_seconds()), httponly=True,
                        secure=_secure(request), samesite="lax", path="/")
    return response


@router.get("/language/{lang}")
def choose_language(request: Request, lang: str, next: Annotated[str, Query(max_length=2000)] = "/") -> Response:  # noqa: A002
    """The header's NL | EN switch: the choice is kept in a cookie for a year, and the page comes back."""
    response = RedirectResponse(safe_next(next), status_code=303)
    if lang in i18n.LANGUAGES:
        response.set_cookie(i18n.COOKIE, lang, max_age=365 * 24 * 3600, httponly=True, secure=_secure(request),
                            samesite="lax", path="/")
    return response


@router.post("/signout")
def signout(request: Request, csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
    if current_session(request) is not None:
        check_csrf(request, csrf)
        sessions.sign_out(store_of(request), request.cookies.get(COOKIE, ""))
    response = RedirectResponse("/signin?signed_out=1", status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, secure=_secure(request), samesite="lax")
    return response
