from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class WebhookEventStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    # Authenticated and stored for a task (the queued notification mode).
    QUEUED = "queued", _("Queued")
    PROCESSED = "processed", _("Processed")
    IGNORED = "ignored", _("Ignored")
    FAILED = "failed", _("Failed")
    # Authenticated but unreadable or impossible (not JSON, a negative amount):
    # answered 400 and kept for a person; replayed only when asked by id.
    MALFORMED = "malformed", _("Malformed")
    # Stored for diagnosis only: it failed authentication and is never processed.
    REJECTED = "rejected", _("Rejected")


class WebhookEvent(models.Model):
    """The inbox: every inbound notification, stored before it is processed.

    One row per (backend, event key). Duplicate deliveries find the row and
    count as attempts; a row becomes ``processed`` only after its changes
    committed, and a ``failed`` row can be replayed.
    """

    Status = WebhookEventStatus

    backend = models.CharField(_("backend"), max_length=64)
    event_key = models.CharField(
        _("event id"),
        max_length=255,
        help_text=_("The provider's event id, or a hash of the body when the provider sends none."),
    )
    event_type = models.CharField(_("event type"), max_length=100, blank=True)
    body = models.BinaryField(_("raw body"))
    headers = models.JSONField(
        _("headers"),
        default=dict,
        blank=True,
        help_text=_("An allow-list of headers; credentials and signatures are never stored."),
    )
    remote_addr = models.GenericIPAddressField(_("remote address"), null=True, blank=True)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=WebhookEventStatus.choices,
        default=WebhookEventStatus.RECEIVED,
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    received_at = models.DateTimeField(_("received at"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")
        ordering = ["-received_at"]
        # What the replay job lists: unfinished rows, oldest first.
        indexes = [models.Index(fields=["status", "received_at"], name="kakaopay_webhook_status")]
        constraints = [
            models.UniqueConstraint(
                fields=["backend", "event_key"], name="kakaopay_webhook_event_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.backend}:{self.event_type or self.event_key} ({self.get_status_display()})"

    @property
    def body_text(self) -> str:
        return bytes(self.body).decode("utf-8", errors="replace")
