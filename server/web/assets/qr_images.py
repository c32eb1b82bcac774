"""QR images of an asset's URL, for its page and the API."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response

from server.assets import qr
from server.assets.tables import Asset


def qr_response(request: Request[Any, Any, Any], asset: Asset, kind: str, download: bool
                ) -> Response[bytes]:
    url = qr.asset_url(request.app.state.settings.base_url, asset.code)
    if kind == "png":
        body, media = qr.png(url), "image/png"
    else:
        body, media = qr.svg(url, title=asset.code).encode("utf-8"), "image/svg+xml"
    headers = {"Cache-Control": "private, max-age=3600"}
    if download:
        headers["Content-Disposition"] = f'attachment; filename="qr-{asset.code}.{kind}"'
    return Response(body, media_type=media, headers=headers)
