"""What every page shares: templates, the signed-in session, CSRF, and errors shown as pages.

The web UI is a thin edge like the API routers: it reads the caller from a session cookie
instead of a Bearer header, then calls the same library functions and the same access checks.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Annotated, Any

from fastapi import Path as PathParam
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape
from pydantic import ValidationError

from api.deps import Unauthenticated
from api.web import i18n
from api.web.i18n import N_, error_text, gettext
from api.web.validation import validation_message
from matcher import access
from matcher.access import ANONYMOUS, Principal
from matcher.domain import MAX_ID, MAX_TEXT
from matcher.errors import Conflict, Forbidden, InvalidInput, MatcherError, NotFound
from matcher.storage import sessions
from matcher.storage.store import Store

log = logging.getLogger("matcher.web")
HERE = Path(__file__).resolve().parent
Id = Annotated[int, PathParam(ge=1, le=MAX_ID)]
COOKIE = "matcher_session"
templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.add_extension("jinja2.ext.i18n")
templates.env.install_gettext_translations(i18n.CurrentTranslations(), newstyle=True)  # type: ignore[attr-defined]
templates.env.globals["MAX_TEXT"] = MAX_TEXT  # the forms' maxlength

# Labels are English message ids, translated where they are shown (the `_` of the templates, `gettext` here)
KIND_LABELS = {"startup": N_("Startup"), "sme": N_("SME"), "large_company": N_("Large company"),
               "university": N_("University"), "research_institute": N_("Research institute"),
               "hospital": N_("Hospital"), "care_institution": N_("Care institution"),
               "public_body": N_("Public body"), "other": N_("Other")}
ROLE_LABELS = {"company": N_("Company"), "university": N_("University"),
               "research_institute": N_("Research institute"), "hospital": N_("Hospital or care institution")}
KEY_ROLE_LABELS = {"admin": N_("admin"), "staff": N_("staff"), "member": N_("member"), "viewer": N_("viewer")}
STATUS_LABELS = {"open": N_("open"), "draft": N_("draft"), "closed": N_("closed")}
MEMBER_ROLE_LABELS = {"coordinator": N_("coordinator"), "partner": N_("partner"),
                      "project support": N_("project support")}
# Okabe-Ito colours (distinguishable with the common colour-vision deficiencies), plus two greys
KIND_COLOURS = {"hospital": "#D55E00", "care_institution": "#CC79A7", "university": "#0072B2",
                "research_institute": "#56B4E9", "startup": "#009E73", "sme": "#E69F00",
                "large_company": "#7A5C00", "public_body": "#555555", "other": "#999999"}
CONFIDENTIALITY_LABELS = {"public": N_("Everyone with a key"), "members": N_("Members and cluster staff"),
                          "staff": N_("Cluster staff only"), "owner": N_("The posing organisation and cluster staff")}
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def highlight(text: str, terms: Iterable[str]) -> Markup:
    """``text`` HTML-escaped, with each of ``terms`` (whole words, any case) wrapped in <mark>.

    >>> str(highlight("Needle-free <jet> injector", ["needle-free", "injector"]))
    '<mark>Needle-free</mark> &lt;jet&gt; <mark>injector</mark>'
    """
    words = sorted({t for t in terms if t}, key=len, reverse=True)
    if not words:
        return escape(text)
    pattern = re.compile(r"(?<![\w-])(" + "|".join(re.escape(w) for w in words) + r")(?![\w-])", re.IGNORECASE)
    out, last = [], 0
    for m in pattern.finditer(text):
        out.append(escape(text[last:m.start()]))
        out.append(Markup("<mark>%s</mark>") % m.group(0))
        last = m.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)


templates.env.filters["highlight"] = highlight
templates.env.filters["kind"] = lambda k: gettext(KIND_LABELS[k]) if k in KIND_LABELS else k
templates.env.filters["role_label"] = lambda r: gettext(ROLE_LABELS[r]) if r in ROLE_LABELS else i18n.translate(r)
templates.env.filters["key_role"] = lambda r: gettext(KEY_ROLE_LABELS[r]) if r in KEY_ROLE_LABELS else r
templates.env.filters["status"] = lambda s: gettext(STATUS_LABELS[s]) if s in STATUS_LABELS else s
templates.env.filters["member_role"] = lambda r: gettext(MEMBER_ROLE_LABELS[r]) if r in MEMBER_ROLE_LABELS else r
templates.env.filters["number"] = i18n.number
templates.env.filters["tr"] = i18n.translate  # a library message (matcher.messages.Message) in the page language
templates.env.globals.update(KIND_LABELS=KIND_LABELS, KIND_COLOURS=KIND_COLOURS, ROLE_LABELS=ROLE_LABELS,
                             CONFIDENTIALITY_LABELS=CONFIDENTIALITY_LABELS, LANGUAGES=i18n.LANGUAGES)


def store_of(request: Request) -> Store:
    return request.app.state.matcher.store  # type: ignore[no-any-return]


def current_session(request: Request) -> sessions.Session | None:
    """The live browser session of this request (looked up once per request)."""
    if not hasattr(request.state, "web_session"):
        token = request.cookies.get(COOKIE, "")
        request.state.web_session = sessions.lookup(store_of(request), token) if token else None
    return request.state.web_session  # type: ignore[no-any-return]


def principal(request: Request) -> Principal:
    s = current_session(request)
    return s.principal if s else ANONYMOUS


def check_csrf(request: Request, sent: str) -> Principal:
    """The signed-in caller of a state-changing form, after checking the form's CSRF token."""
    s = current_session(request)
    if s is None:
        raise Unauthenticated(gettext("please sign in first"))
    if not sessions.csrf_ok(s, sent):
        raise Forbidden(gettext("this form has expired; reload the page and try again"))
    return s.principal


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    lang = i18n.use_language(request)
    p = principal(request)
    s = current_session(request)
    my_org = store_of(request).get_organisations([p.org_id]).get(p.org_id) if p.org_id else None
    context.update(request=request, me=p, csrf=s.csrf if s else "", signed_in=s is not None,
                   my_org=my_org.name if my_org else "",
                   is_staff=p.is_staff, can_write=access.can_write(p), role=p.role.value, lang=lang)
    response = templates.TemplateResponse(request, name, context, status_code=status_code)
    response.headers.update(SECURITY_HEADERS)
    return response


def error_page(request: Request, status_code: int, title: str, message: str) -> HTMLResponse:
    return render(request, "error.html", status_code, title=title, message=message, code=status_code)


def safe_next(target: str | None) -> str:
    """A local path to return to after signing in (never another site)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


class PageRoute(APIRoute):
    """A route whose domain errors become friendly pages (the API keeps its JSON errors)."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            i18n.use_language(request)  # before the handler: its messages are made in this language
            try:
                return await handler(request)
            except Unauthenticated:
                if current_session(request) is None:
                    nxt = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                    target = nxt if request.method == "GET" else request.headers.get("referer", "/")
                    return RedirectResponse(f"/signin?next={_quote(safe_next_local(request, target))}", 303)
                return error_page(request, 403, gettext("Not allowed"), gettext("Your key does not allow this."))
            except NotFound as exc:
                return error_page(request, 404, gettext("Not found"), error_text(exc).capitalize() + ".")
            except Forbidden as exc:
                return error_page(request, 403, gettext("Not allowed"), error_text(exc).capitalize() + ".")
            except (InvalidInput, Conflict) as exc:
                return error_page(request, 400, gettext("Please check your input"), error_text(exc))
            except (ValidationError, RequestValidationError) as exc:
                return error_page(request, 422, gettext("Please check your input"), validation_message(exc))
            except MatcherError as exc:
                return error_page(request, 400, gettext("Something is not right"), error_text(exc))
            except Exception:  # a bug: logged in full, shown as a calm page without a traceback
                log.exception("unexpected error on %s", request.url.path)
                return error_page(request, 500, gettext("Something went wrong"),
                                  gettext("This is our fault, not yours. Please try again in a moment."))

        return page_handler


def safe_next_local(request: Request, target: str) -> str:
    """A referer or path reduced to a path on this site."""
    base = str(request.base_url).rstrip("/")
    if target.startswith(base):
        target = target[len(base):] or "/"
    return safe_next(target)


def _quote(path: str) -> str:
    from urllib.parse import quote

    return quote(path, safe="/")
