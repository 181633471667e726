"""Delivering the notifications sandbox backends held back (``NOTIFICATIONS="late"``).

The sandbox stands in for a provider that notifies late; delivering its held
notifications is what that provider would eventually do. Commands and tests
ask for it here instead of reaching into the backend.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.translation import gettext as _

from ..backends.sandbox import SandboxBackend
from ..conf import backend_configs, get_backend
from ..exceptions import NotASandbox


def deliver_held_notifications(aliases: Sequence[str] = ()) -> dict[str, int]:
    """Deliver every held notification; returns how many, per sandbox alias.

    With no ``aliases``, every configured sandbox backend and nothing else;
    an alias named explicitly that is not a sandbox raises :class:`NotASandbox`.
    """
    delivered: dict[str, int] = {}
    for alias in aliases or list(backend_configs()):
        backend = get_backend(alias)
        if not isinstance(backend, SandboxBackend):
            if aliases:
                raise NotASandbox(_("%(alias)r is not a sandbox backend.") % {"alias": alias})
            continue
        delivered[alias] = backend.deliver_late_notifications()
    return delivered
