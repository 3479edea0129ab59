"""The API documentation (Swagger UI at /docs, ReDoc at /redoc) served from this server.

Police networks are often offline, and the CSP allows no script from elsewhere, so the
JavaScript and CSS come from the ``fastapi-offline`` package installed with thrv (Swagger
UI: Apache-2.0; ReDoc: MIT), and the page's own start-up script is a file, not inline.
"""


from importlib import resources

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse, HTMLResponse

ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "redoc.standalone.js": "text/javascript",
    "favicon.png": "image/png",
}

SWAGGER = """<!DOCTYPE html>
<html lang="en-GB"><head><meta charset="utf-8"><title>thrv API</title>
<link rel="stylesheet" href="/static/docs/swagger-ui.css"><link rel="icon" href="/static/docs/favicon.png"></head>
<body><div id="swagger-ui"></div>
<script src="/static/docs/swagger-ui-bundle.js"></script><script src="/static/swagger-init.js"></script>
</body></html>"""

REDOC = """<!DOCTYPE html>
<html lang="en-GB"><head><meta charset="utf-8"><title>thrv API</title>
<link rel="icon" href="/static/docs/favicon.png"></head>
<body><redoc spec-url="/openapi.json"></redoc><script src="/static/docs/redoc.standalone.js"></script>
</body></html>"""


def register_docs(app: FastAPI) -> None:
    folder = resources.files("fastapi_offline") / "static"

    @app.get("/docs", include_in_schema=False)
    def swagger() -> HTMLResponse:
        return HTMLResponse(SWAGGER)

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return HTMLResponse(REDOC)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:
        return FileResponse(str(folder / "favicon.png"), media_type="image/png")

    @app.get("/static/docs/{name}", include_in_schema=False)
    def asset(name: str) -> FileResponse:
        if name not in ASSETS:
            raise HTTPException(404, "no such file")
        return FileResponse(str(folder / name), media_type=ASSETS[name])
