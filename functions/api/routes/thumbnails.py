"""Thumbnails, rendered on request from the stored image: the links `thumbnail_url` carries.

No API key: like a presigned S3 URL, the link's signed token is the credential (it names one image and
expires). Pillow is imported only when a thumbnail is rendered, never at the function's start.
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from avatarsmith.logic import thumbnails

from .common import error_responses, get_services

router = APIGatewayHttpRouter()

_IMAGE = {"schema": {"type": "string", "format": "binary"}}
_THUMBNAIL_RESPONSES: dict[int, Any] = {
    200: {
        "description": "The 256 px thumbnail, in the image's format",
        "content": {"image/png": _IMAGE, "image/webp": _IMAGE, "image/jpeg": _IMAGE},
    },
    **error_responses(404),
    422: {
        **error_responses(422)[422],
        "description": "The stored object is not a decodable image (`image_unreadable`)",
    },
}


@router.get(
    "/v1/thumbnails/<token>",
    summary="A thumbnail, from the link in thumbnail_url (no API key: the link is signed and expires)",
    tags=["avatars"],
    responses=_THUMBNAIL_RESPONSES,
    enable_validation=False,  # a binary body: response validation would read it as text
)
def get_thumbnail(
    token: Annotated[str, Path(min_length=1, max_length=2048, description="The signed link's token")],
) -> Response[bytes]:
    data, content_type = thumbnails.render_thumbnail(get_services(), token)
    return Response(
        status_code=200,
        content_type=content_type,
        body=data,
        headers={"Cache-Control": "private, max-age=3600"},
    )
