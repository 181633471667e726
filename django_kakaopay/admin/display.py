"""Small HTML fragments shared by the admin pages.

Everything here goes through ``format_html``/``format_html_join`` so that
provider-supplied text (payloads, error messages, ids) is always escaped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.db import models
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from ..backends.payloads import read_json
from ..conf import get_backend
from ..exceptions import KakaoPayError, MalformedWebhook

# Colour by meaning rather than by status value, so every model's statuses
# read the same way at a glance: settled well, waiting, went wrong, over.
GOOD = "#2e7d32"
WAITING = "#b26a00"
BAD = "#c62828"
OVER = "#616161"

BADGE_COLOURS: dict[str, str] = {
    "paid": GOOD,
    "active": GOOD,
    "succeeded": GOOD,
    "processed": GOOD,
    "created": WAITING,
    "pending": WAITING,
    "received": WAITING,
    "partially_refunded": WAITING,
    "failed": BAD,
    "malformed": BAD,
    "rejected": BAD,
    "refunded": OVER,
    "canceled": OVER,
    "expired": OVER,
    "ignored": OVER,
}


def badge(value: str, label: object) -> SafeString:
    colour = BADGE_COLOURS.get(value, OVER)
    return format_html(
        '<span class="kakaopay-status kakaopay-status-{}" style="background:{};color:#fff;'
        'padding:2px 8px;border-radius:10px;white-space:nowrap;font-size:0.85em">{}</span>',
        value,
        colour,
        label,
    )


def status_badge(obj: models.Model) -> SafeString:
    """The translated status label of any model with a ``status`` choices field."""
    value = str(getattr(obj, "status", ""))
    label = getattr(obj, "get_status_display", lambda: value)()
    return badge(value, label)


# Enough for any real notification; a page stays fast whatever was stored.
SHOWN_BODY_CHARS = 64 * 1024


def _printable(text: str) -> str:
    """``text`` with what a UTF-8 page cannot carry (lone surrogates, NUL) replaced."""
    return text.encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")


def pretty_json(value: Any) -> SafeString | str:
    if value is None or value == {} or value == []:
        return "-"
    try:
        text = json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)
    except (ValueError, TypeError, RecursionError):
        text = repr(value)
    return format_html(
        '<pre class="kakaopay-json" style="white-space:pre-wrap">{}</pre>', _printable(text)
    )


def pretty_body(raw: bytes) -> SafeString:
    """A stored notification body, whatever its bytes: indented when it is
    readable JSON, as received otherwise, always escaped and cut to a size a
    page can show, with a note saying which."""
    notes = []
    try:
        text = json.dumps(read_json(raw, _("stored")), indent=2, ensure_ascii=False)
    except MalformedWebhook as exc:
        text = raw.decode("utf-8", errors="replace")
        notes.append(_("Shown as received: %(reason)s") % {"reason": exc})
    text = _printable(text)
    if len(text) > SHOWN_BODY_CHARS:
        notes.append(
            _("Cut to the first %(shown)d of %(total)d characters.")
            % {"shown": SHOWN_BODY_CHARS, "total": len(text)}
        )
        text = text[:SHOWN_BODY_CHARS]
    body = format_html('<pre class="kakaopay-body" style="white-space:pre-wrap">{}</pre>', text)
    if not notes:
        return body
    note = format_html_join("", '<p class="help">{}</p>', ((_printable(n),) for n in notes))
    return format_html("{}{}", note, body)


def customer(name: str, email: str) -> SafeString | str:
    # An address is one long word; letting it break keeps a list column narrow.
    if email:
        email_html = format_html('<small style="overflow-wrap:anywhere">{}</small>', email)
        return format_html("{}<br>{}", name, email_html) if name else email_html
    return name or "-"


def change_url(model: type[models.Model] | models.Model, pk: Any) -> str:
    """The admin change page of ``model``'s row ``pk``, or ``""`` when it has none."""
    opts = model._meta
    try:
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[pk])
    except NoReverseMatch:
        return ""


def admin_link(obj: models.Model | None, label: object = None) -> SafeString | str:
    """A link to ``obj``'s admin change page, or its text when it has none."""
    if obj is None:
        return "-"
    text = obj if label is None else label
    url = change_url(obj, obj.pk)
    if not url:
        return str(text)
    return format_html('<a href="{}">{}</a>', url, text)


def link_list(objects: Iterable[models.Model]) -> SafeString | str:
    links = [(admin_link(obj),) for obj in objects]
    if not links:
        return "-"
    return format_html(
        '<ul class="kakaopay-links">{}</ul>', format_html_join("", "<li>{}</li>", links)
    )


def dashboard_link(backend_alias: str, kind: str, provider_id: str) -> SafeString | str:
    """A link to the object in the provider's dashboard, when the backend knows one."""
    if not provider_id:
        return "-"
    try:
        url = get_backend(backend_alias).dashboard_url(kind, provider_id)
    except KakaoPayError:
        # The alias may have been removed from the settings since the row was made.
        url = ""
    if not url:
        return "-"
    return format_html(
        '<a href="{}" target="_blank" rel="noopener noreferrer">{}</a>',
        url,
        _("Open in the provider's dashboard"),
    )
