"""What the REST API remembers about ``Idempotency-Key`` headers."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class IdempotencyRecord(models.Model):
    """The first response to a POST sent with an ``Idempotency-Key`` header.

    One row per (caller scope, key). The row is inserted before the work
    starts (``response_status`` is then ``None``: in progress), so a second
    request with the same key finds it thanks to the unique constraint.
    """

    scope = models.CharField(
        _("scope"),
        max_length=100,
        help_text=_("Who sent the key: user:<id> or session:<key>."),
    )
    key = models.CharField(_("idempotency key"), max_length=255)
    method = models.CharField(_("method"), max_length=10)
    path = models.CharField(_("path"), max_length=2000)
    request_hash = models.CharField(_("request hash"), max_length=64)
    response_status = models.PositiveSmallIntegerField(_("response status"), null=True, blank=True)
    response_body = models.JSONField(_("response body"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="kakaopay_idempotency_unique")
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"

    @property
    def in_progress(self) -> bool:
        return self.response_status is None
