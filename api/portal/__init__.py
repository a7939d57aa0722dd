"""The transparency portal: public, read-only pages over the event index (zh-CN by default, English too).

``pages_router`` serves the HTML pages, ``public_api_router`` the public JSON
(``GET /api/v1/public/overview``), ``static_files()`` the CSS/JS under ``/static``.
"""

from api.portal.routes import pages_router, public_api_router, static_files

__all__ = ["pages_router", "public_api_router", "static_files"]
