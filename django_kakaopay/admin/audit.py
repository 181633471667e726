"""What the admin actions leave in Django's admin log ("History", "Recent actions").

Every object an action asked the provider about, or changed, gets one entry
saying what was done and how it ended, in the acting staff member's name; a
row an action skipped before any call (the page told why) gets none. The
status log says the same in its own terms: source ``admin`` and the staff
member in the evidence of each change the action caused.

Entries are written with ``ModelAdmin.log_change`` and ``log_addition``. The
text is stored in the staff member's language: it records what they were
told, it is not a key to translate later.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest
from django.utils.translation import gettext as _


def acting_user(request: HttpRequest) -> AbstractBaseUser | None:
    """The staff member behind the request, for the services' ``actor``."""
    user = request.user
    return user if isinstance(user, AbstractBaseUser) and user.is_authenticated else None


def outcome(obj: Any) -> str:
    """How ``obj`` (a payment, refund, agreement or notification) stands now, in words."""
    status = str(obj.get_status_display())
    error = str(getattr(obj, "last_error", "") or "")
    if getattr(obj, "needs_reconciliation", False):
        return _(
            "%(status)s; the outcome is unknown and is checked with the provider again (%(error)s)"
        ) % {"status": status, "error": error or "-"}
    if error:
        return _("%(status)s: %(error)s") % {"status": status, "error": error}
    return status
