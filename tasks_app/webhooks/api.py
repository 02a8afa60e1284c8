"""/api/webhooks: register endpoints, rotate their secrets, read their delivery logs, redeliver."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from ninja import Field, Query, Router, Schema, Status

from todo_project.problems import JSON_BODY, SIGNED_IN, SIGNED_IN_WRITE, documented

from ..schemas import Text
from . import selectors, services

router = Router(tags=["webhooks"])
EventType = Text(64)


class WebhookIn(Schema):
    url: Text(2000, min_length=1) = Field(description="https URL that receives POSTed events")
    event_types: list[EventType] = Field(default_factory=list, max_length=20,
                                         description=f"Empty: every type. Types: {', '.join(services.EVENT_TYPES)}")
    description: Text(200) = ""


class WebhookPatch(Schema):
    url: Text(2000, min_length=1) | None = None
    event_types: list[EventType] | None = Field(None, max_length=20)
    description: Text(200) | None = None
    is_active: bool | None = None


class WebhookOut(Schema):
    id: int
    url: str
    description: str
    event_types: list[str]
    is_active: bool
    disabled_reason: str
    consecutive_failures: int
    created_at: datetime
    updated_at: datetime


class WebhookWithSecretOut(WebhookOut):
    secret: str = Field(description="Verify deliveries with it (Standard Webhooks); shown when created or rotated")


class DeliveryOut(Schema):
    id: int
    event_id: UUID
    event_type: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_response_ms: int | None
    last_error: str
    delivered_at: datetime | None
    created_at: datetime


class DeliveryQuery(Schema):
    limit: int = Field(50, ge=1, le=200)


@router.get("/webhooks", response=documented(list[WebhookOut], SIGNED_IN), operation_id="webhooks_list")
def list_webhooks(request):
    return list(selectors.webhook_list(user=request.auth))


@router.post("/webhooks", response=documented({201: WebhookWithSecretOut}, SIGNED_IN_WRITE, JSON_BODY),
             operation_id="webhook_create")
def create_webhook(request, payload: WebhookIn):
    return Status(201, services.webhook_create(user=request.auth, **payload.dict()))


@router.get("/webhooks/{int:endpoint_id}", response=documented(WebhookOut, SIGNED_IN, 404), operation_id="webhook_get")
def get_webhook(request, endpoint_id: int):
    return selectors.webhook_get(user=request.auth, endpoint_id=endpoint_id)


@router.patch("/webhooks/{int:endpoint_id}", response=documented(WebhookOut, SIGNED_IN_WRITE, JSON_BODY, 404),
              operation_id="webhook_update")
def update_webhook(request, endpoint_id: int, payload: WebhookPatch):
    return services.webhook_update(user=request.auth, endpoint_id=endpoint_id, **payload.dict(exclude_unset=True))


@router.delete("/webhooks/{int:endpoint_id}", response=documented({204: None}, SIGNED_IN_WRITE, 404),
               operation_id="webhook_delete")
def delete_webhook(request, endpoint_id: int):
    services.webhook_delete(user=request.auth, endpoint_id=endpoint_id)
    return Status(204, None)


@router.post("/webhooks/{int:endpoint_id}/rotate-secret", response=documented(WebhookWithSecretOut, SIGNED_IN_WRITE, 404),
             operation_id="webhook_secret_rotate")
def rotate_webhook_secret(request, endpoint_id: int):
    """A new secret; deliveries carry a signature with the old one too for WEBHOOK_SECRET_OVERLAP_HOURS."""
    return services.webhook_rotate_secret(user=request.auth, endpoint_id=endpoint_id)


@router.get("/webhooks/{int:endpoint_id}/deliveries", response=documented(list[DeliveryOut], SIGNED_IN, 404, 422),
            operation_id="webhook_deliveries_list")
def list_webhook_deliveries(request, endpoint_id: int, query: Query[DeliveryQuery]):
    return selectors.webhook_deliveries(user=request.auth, endpoint_id=endpoint_id, limit=query.limit)


@router.post("/webhooks/deliveries/{int:delivery_id}/redeliver", response=documented(DeliveryOut, SIGNED_IN_WRITE, 404),
             operation_id="webhook_delivery_redeliver")
def redeliver_webhook(request, delivery_id: int):
    return services.webhook_redeliver(user=request.auth, delivery_id=delivery_id)
