"""The application factory: `create_app(settings)` wires every domain together."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar, Router
from litestar.config.compression import CompressionConfig
from litestar.datastructures import CacheControlHeader
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig

from server import __version__, runtime
from server.accounts import cachesync
from server.accounts.ratelimit import LoginLimiter
from server.accounts.roles import ANY_USER, PUBLIC
from server.core import logs
from server.core.rendering import STATIC_DIR
from server.core.settings import Settings
from server.db import engine as db
from server.web.auth import auth_middleware
from server.web.csrf import check_csrf
from server.web.errors import EXCEPTION_HANDLERS
from server.web.guard import authorize
from server.web.middleware import language_middleware, security_headers
from server.web.observe import observe
from server.web.routes import ROUTES
from server.web.templating import page_environment


def create_app(settings: Settings | None = None) -> Litestar:
    settings = (settings or Settings.from_env()).with_secret()
    runtime.configure(settings)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await db.start(settings)
        await cachesync.watch.start(settings)
        try:
            yield
        finally:
            await cachesync.watch.stop()
            await db.stop()

    logs.configure()
    app = Litestar(
        route_handlers=[
            *ROUTES,
            create_static_files_router(
                path="/static",
                directories=[STATIC_DIR],
                cache_control=CacheControlHeader(max_age=3600, public=True),
                opt=PUBLIC,
            ),
        ],
        lifespan=[lifespan],
        template_config=TemplateConfig(
            engine=JinjaTemplateEngine.from_environment(page_environment())
        ),
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[auth_middleware, language_middleware],
        before_send=[security_headers],
        guards=[authorize],
        before_request=check_csrf,
        openapi_config=OpenAPIConfig(
            title="Auditrail API",
            version=__version__,
            path="/api/v1/schema",
            render_plugins=[JsonRenderPlugin()],
            openapi_router=Router(path="/api/v1/schema", route_handlers=[], opt=ANY_USER),
            components=Components(security_schemes={
                "bearer": SecurityScheme(type="http", scheme="bearer", description="API token"),
            }),
            security=[{"bearer": []}],
        ),
        compression_config=CompressionConfig(backend="gzip", minimum_size=1024),
        request_max_body_size=settings.max_body_bytes,
        debug=False,
        logging_config=None,  # server.core.logs configures logging
    )
    app.asgi_handler = observe(app.asgi_handler)
    app.state.settings = settings
    app.state.login_limiter = LoginLimiter()
    return app
