"""Webhooks: endpoints, the callback secret, the delivery log and replay."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from avatarsmith.logic import webhooks as webhook_logic
from avatarsmith.logic.presenters import present_list
from avatarsmith.models.webhooks import CreateWebhookEndpointRequest, RotateSecretRequest

from .common import (
    get_services,
    int_query,
    json_body,
    json_response,
    optional_json_body,
    parse,
    query,
    tenant,
)

router = APIGatewayHttpRouter()


@router.post("/v1/webhook-endpoints")
def create_webhook_endpoint() -> Response[str]:
    tenant_id = tenant()
    request = parse(CreateWebhookEndpointRequest, json_body())
    endpoint, secret = webhook_logic.create_endpoint(get_services(), tenant_id, request)
    return json_response(
        201,
        webhook_logic.present_endpoint(endpoint, secret=secret),
        {"Location": f"/v1/webhook-endpoints/{endpoint.id}"},
    )


@router.get("/v1/webhook-endpoints")
def list_webhook_endpoints() -> Response[str]:
    tenant_id = tenant()
    endpoints = webhook_logic.list_endpoints(get_services(), tenant_id)
    return json_response(
        200, present_list([webhook_logic.present_endpoint(e) for e in endpoints], next_cursor=None)
    )


@router.get("/v1/webhook-endpoints/<endpoint_id>")
def get_webhook_endpoint(endpoint_id: str) -> Response[str]:
    tenant_id = tenant()
    endpoint = webhook_logic.get_endpoint(get_services(), tenant_id, endpoint_id)
    return json_response(200, webhook_logic.present_endpoint(endpoint))


@router.delete("/v1/webhook-endpoints/<endpoint_id>")
def delete_webhook_endpoint(endpoint_id: str) -> Response[str]:
    tenant_id = tenant()
    webhook_logic.delete_endpoint(get_services(), tenant_id, endpoint_id)
    return json_response(200, {"id": endpoint_id, "object": "webhook_endpoint", "deleted": True})


@router.post("/v1/webhook-endpoints/<endpoint_id>/rotate-secret")
def rotate_webhook_endpoint_secret(endpoint_id: str) -> Response[str]:
    tenant_id = tenant()
    request = parse(RotateSecretRequest, optional_json_body())
    endpoint, secret = webhook_logic.rotate_endpoint_secret(get_services(), tenant_id, endpoint_id, request)
    return json_response(200, webhook_logic.present_endpoint(endpoint, secret=secret))


@router.post("/v1/webhook-endpoints/<endpoint_id>/test")
def test_webhook_endpoint(endpoint_id: str) -> Response[str]:
    tenant_id = tenant()
    delivery = webhook_logic.send_test(get_services(), tenant_id, endpoint_id)
    return json_response(
        202, webhook_logic.present_delivery(delivery), {"Location": f"/v1/webhook-deliveries/{delivery.id}"}
    )


@router.post("/v1/webhook-callback-secret")
def rotate_webhook_callback_secret() -> Response[str]:
    tenant_id = tenant()
    request = parse(RotateSecretRequest, optional_json_body())
    secret, previous_expires = webhook_logic.rotate_callback_secret(get_services(), tenant_id, request)
    body = {"object": "webhook_callback_secret", "secret": secret, "previous_secret_expires_at": None}
    if previous_expires:
        body["previous_secret_expires_at"] = webhook_logic.epoch_iso(previous_expires)
    return json_response(200, body)


@router.get("/v1/webhook-deliveries")
def list_webhook_deliveries() -> Response[str]:
    tenant_id = tenant()
    deliveries, next_cursor = webhook_logic.list_deliveries(
        get_services(),
        tenant_id,
        limit=int_query("limit", 20, low=1, high=100),
        cursor=query("cursor") or None,
        job_id=query("job_id") or None,
        status=query("status") or None,
    )
    return json_response(
        200, present_list([webhook_logic.present_delivery(d) for d in deliveries], next_cursor=next_cursor)
    )


@router.get("/v1/webhook-deliveries/<delivery_id>")
def get_webhook_delivery(delivery_id: str) -> Response[str]:
    tenant_id = tenant()
    delivery = webhook_logic.get_delivery(get_services(), tenant_id, delivery_id)
    return json_response(200, webhook_logic.present_delivery(delivery))


@router.post("/v1/webhook-deliveries/<delivery_id>/replay")
def replay_webhook_delivery(delivery_id: str) -> Response[str]:
    tenant_id = tenant()
    delivery = webhook_logic.replay_delivery(get_services(), tenant_id, delivery_id)
    return json_response(202, webhook_logic.present_delivery(delivery))
