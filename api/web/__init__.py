"""The web UI for people (search, organisations, challenges, map), served by the API's own app.

``install(app)`` is the one call :func:`api.app.create_app` makes: it adds the page routers,
the static files, and an HTML "not found" page for browsers (API clients keep JSON errors).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from api.web import admin, auth, challenges, consortium, ecomap, feedback, i18n, members, profiles, search
from api.web.common import HERE, error_page
from api.web.i18n import gettext


def install(app: FastAPI) -> None:
    for router in (auth.router, search.router, profiles.router, challenges.router, ecomap.router,
                   consortium.router, members.router, feedback.router, admin.router):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.exception_handler(HTTPException)
    async def not_found_page(request: Request, exc: HTTPException) -> Response:
        wants_html = "text/html" in request.headers.get("accept", "")
        if exc.status_code == 404 and wants_html and not request.url.path.startswith("/v1"):
            i18n.use_language(request)
            return error_page(request, 404, gettext("Page not found"),
                              gettext("There is nothing at this address. Try the search or the list of challenges."))
        return await http_exception_handler(request, exc)
