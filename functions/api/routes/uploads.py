"""Reference-photo uploads: a presigned S3 POST, so photos up to 15 MB never pass through the function."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from avatarsmith.logic import uploads as upload_logic
from avatarsmith.models.api import CreateUploadRequest
from avatarsmith.models.responses import Upload

from .common import AUTH, get_services, json_response, require_json_media_type, responses, tenant

router = APIGatewayHttpRouter()


@router.post(
    "/v1/uploads",
    summary="Get a presigned S3 POST form for a reference photo (up to 15 MB)",
    tags=["uploads"],
    security=AUTH,
    responses=responses(Upload, 400, 413, 415, 422, status=201, description="Created"),
)
def create_upload(request: Annotated[CreateUploadRequest, Body()]) -> Response[str]:
    tenant_id = tenant()
    require_json_media_type()
    upload, form = upload_logic.create_upload(
        get_services(), tenant_id, content_type=request.content_type, size=request.size
    )
    body = {
        "id": upload.id,
        "object": "upload",
        "upload_url": form["url"],
        "method": "POST",
        "fields": form["fields"],
        "content_type": upload.content_type,
        "max_bytes": upload.max_bytes,
        "created_at": upload.created_at,
        "expires_at": upload.form_expires_at,
        "usable_until": upload.usable_until,
    }
    return json_response(201, body)
