"""Webhooks: endpoints, the callback secret, the delivery log and replay."""

from __future__ import annotations

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from avatarsmith.logic import webhooks as webhook_logic
from avatarsmith.logic.presenters import present_list
from avatarsmith.models.responses import (
    CallbackSecret,
    DeletedWebhookEndpoint,
    WebhookDelivery,
    WebhookDeliveryList,
    WebhookEndpoint,
    WebhookEndpointList,
)
from avatarsmith.models.webhooks import CreateWebhookEndpointRequest, RotateSecretRequest

from .common import (
    AUTH,
    Cursor,
    Limit,
    get_services,
    json_response,
    require_json_media_type,
    responses,
    tenant,
)

router = APIGatewayHttpRouter()

EndpointId = Annotated[str, Path(description="The webhook endpoint's id")]
DeliveryId = Annotated[str, Path(description="The delivery's id")]
OptionalRotation = Annotated[RotateSecretRequest | None, Body()]


@router.post(
    "/v1/webhook-endpoints",
    summary="Register a webhook endpoint (the answer carries its signing secret once)",
    tags=["webhooks"],
    security=AUTH,
    responses=responses(
        WebhookEndpoint, 400, 409, 415, 422, 503, status=201, description="Created", headers=("Location",)
    ),
)
def create_webhook_endpoint(request: Annotated[CreateWebhookEndpointRequest, Body()]) -> Response[str]:
    tenant_id = tenant()
    require_json_media_type()
    endpoint, secret = webhook_logic.create_endpoint(get_services(), tenant_id, request)
    return json_response(
        201,
        webhook_logic.present_endpoint(endpoint, secret=secret),
        {"Location": f"/v1/webhook-endpoints/{endpoint.id}"},
    )


@router.get(
    "/v1/webhook-endpoints",
    summary="List webhook endpoints",
    tags=["webhooks"],
    security=AUTH,
    responses=responses(WebhookEndpointList),
)
def list_webhook_endpoints() -> Response[str]:
    tenant_id = tenant()
    endpoints = webhook_logic.list_endpoints(get_services(), tenant_id)
    return json_response(
        200, present_list([webhook_logic.present_endpoint(e) for e in endpoints], next_cursor=None)
    )


@router.get(
    "/v1/webhook-endpoints/<endpoint_id>",
    summary="Read a webhook endpoint",
    tags=["webhooks"],
    security=AUTH,
    responses=responses(WebhookEndpoint, 404),
)
def get_webhook_endpoint(endpoint_id: EndpointId) -> Response[str]:
    tenant_id = tenant()
    endpoint = webhook_logic.get_endpoint(get_services(), tenant_id, endpoint_id)
    return json_response(200, webhook_logic.present_endpoint(endpoint))


@router.delete(
    "/v1/webhook-endpoints/<endpoint_id>",
    summary="Delete a webhook endpoint",
    tags=["webhooks"],
    security=AUTH,
    responses=responses(DeletedWebhookEndpoint, 404),
)
def delete_webhook_endpoint(endpoint_id: EndpointId) -> Response[str]:
    tenant_id = tenant()
    webhook_logic.delete_endpoint(get_services(), tenant_id, endpoint_id)
    return json_response(200, {"id": endpoint_id, "object": "webhook_endpoint", "deleted": True})


@router.post(
    "/v1/webhook-endpoints/<endpoint_id>/rotate-secret",
    summary="Rotate an endpoint's signing secret (the previous one keeps signing for overlap_seconds)",
    tags=["webhooks"],
    security=AUTH,
    responses=responses(WebhookEndpoint, 400, 404, 409, 415, 422),
)
def rotate_webhook_endpoint_secret(
    endpoint_id: EndpointId, request: OptionalRotation = None
) -> Response[str]:
    tenant_id = tenant()
    if request is not None:
        require_json_media_type()
    endpoint, secret = webhook_logic.rotate_endpoint_secret(
        get_services(), tenant_id, endpoint_id, request or RotateSecretRequest()
    )
    return json_response(200, webhook_logic.present_endpoint(endpoint, secret=secret))


@router.post(
    "/v1/webhook-endpoints/<endpoint_id>/test",
    summary="Send a webhook.test event to the endpoint",
    tags=["webhooks"],
    security=AUTH,
    responses=responses(
        WebhookDelivery,
        404,
        503,
        status=202,
        description="Accepted: the queued delivery",
        headers=("Location",),
    ),
)
def test_webhook_endpoint(endpoint_id: EndpointId) -> Response[str]:
    tenant_id = tenant()
    delivery = webhook_logic.send_test(get_services(), tenant_id, endpoint_id)
    return json_response(
        202, webhook_logic.present_delivery(delivery), {"Location": f"/v1/webhook-deliveries/{delivery.id}"}
    )


@router.post(
    "/v1/webhook-callback-secret",
    summary="Create or rotate the secret that signs per-job callback_url deliveries",
    tags=["webhooks"],
    security=AUTH,
    responses=responses(CallbackSecret, 400, 409, 415, 422),
)
def rotate_webhook_callback_secret(request: OptionalRotation = None) -> Response[str]:
    tenant_id = tenant()
    if request is not None:
        require_json_media_type()
    secret, previous_expires = webhook_logic.rotate_callback_secret(
        get_services(), tenant_id, request or RotateSecretRequest()
    )
    body = {"object": "webhook_callback_secret", "secret": secret, "previous_secret_expires_at": None}
    if previous_expires:
        body["previous_secret_expires_at"] = webhook_logic.epoch_iso(previous_expires)
    return json_response(200, body)


@router.get(
    "/v1/webhook-deliveries",
    summary="The delivery log, newest first",
    tags=["webhooks"],
    security=AUTH,
    responses=responses(WebhookDeliveryList, 400, 422),
)
def list_webhook_deliveries(
    limit: Limit = 20,
    cursor: Cursor = None,
    job_id: Annotated[str | None, Query(max_length=64, description="Only this job's deliveries")] = None,
    status: Annotated[Literal["pending", "succeeded", "failed"] | None, Query()] = None,
) -> Response[str]:
    tenant_id = tenant()
    deliveries, next_cursor = webhook_logic.list_deliveries(
        get_services(),
        tenant_id,
        limit=limit,
        cursor=cursor or None,
        job_id=job_id or None,
        status=status,
    )
    return json_response(
        200, present_list([webhook_logic.present_delivery(d) for d in deliveries], next_cursor=next_cursor)
    )


@router.get(
    "/v1/webhook-deliveries/<delivery_id>",
    summary="Read a delivery with its attempts",
    tags=["webhooks"],
    security=AUTH,
    responses=responses(WebhookDelivery, 404),
)
def get_webhook_delivery(delivery_id: DeliveryId) -> Response[str]:
    tenant_id = tenant()
    delivery = webhook_logic.get_delivery(get_services(), tenant_id, delivery_id)
    return json_response(200, webhook_logic.present_delivery(delivery))


@router.post(
    "/v1/webhook-deliveries/<delivery_id>/replay",
    summary="Send a delivery again (one attempt, same webhook-id)",
    tags=["webhooks"],
    security=AUTH,
    responses=responses(
        WebhookDelivery, 404, 409, 503, status=202, description="Accepted: the queued delivery"
    ),
)
def replay_webhook_delivery(delivery_id: DeliveryId) -> Response[str]:
    tenant_id = tenant()
    delivery = webhook_logic.replay_delivery(get_services(), tenant_id, delivery_id)
    return json_response(202, webhook_logic.present_delivery(delivery))
