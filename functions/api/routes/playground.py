"""The playground: `GET /` serves a page that calls this API with the key the visitor pastes.

No auth for the page and its assets (they hold no data). A strict Content-Security-Policy: scripts and
styles only from this origin, no inline code, requests only to this origin, images from this origin and
from the image bucket's presigned URLs. The files next to this module are read on first use only, so the
API's cold start does not pay for them.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from avatarsmith.errors import NotFoundError

router = APIGatewayHttpRouter()

ASSETS = Path(__file__).resolve().parent.parent / "playground"
_ASSET_TYPES = {
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
}
_PREVIEW = re.compile(r"[a-z]{1,32}\.webp")


def content_security_policy() -> str:
    """Presigned image URLs point at S3 when deployed and at the local emulator on `make run`."""
    image_sources = ["'self'", "data:", "blob:", "https://*.amazonaws.com"]
    for name in ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"):
        endpoint = urlsplit(os.environ.get(name) or "")
        if endpoint.scheme in ("http", "https") and endpoint.netloc:
            image_sources.append(f"{endpoint.scheme}://{endpoint.netloc}")
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src {' '.join(dict.fromkeys(image_sources))}",
            "connect-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )


def _headers(content_type: str, cache: str) -> dict[str, str]:
    return {
        "Content-Type": content_type,
        "Content-Security-Policy": content_security_policy(),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": cache,
    }


@lru_cache(maxsize=16)
def _read(name: str) -> bytes:
    return (ASSETS / name).read_bytes()


@router.get("/", include_in_schema=False)
def playground_page() -> Response[str]:
    body = _read("index.html").decode()
    return Response(200, body=body, headers=_headers("text/html; charset=utf-8", "no-cache"))


@router.get("/playground/<asset>", include_in_schema=False)
def playground_asset(asset: str) -> Response[str]:
    content_type = _ASSET_TYPES.get(asset)
    if content_type is None:
        raise NotFoundError(f"no playground asset {asset[:64]!r}")
    return Response(200, body=_read(asset).decode(), headers=_headers(content_type, "public, max-age=300"))


# Binary body: response validation would try to read it as text.
@router.get("/playground/previews/<name>", include_in_schema=False, enable_validation=False)
def style_preview(name: str) -> Response[bytes]:
    if not _PREVIEW.fullmatch(name) or not (ASSETS / "previews" / name).is_file():
        raise NotFoundError(f"no style preview {name[:64]!r}")
    return Response(
        200, body=_read(f"previews/{name}"), headers=_headers("image/webp", "public, max-age=86400")
    )
