"""What every backend does with the problems its option checks found.

``manage.py check`` reports them at start-up (``kakaopay.E005``); a backend
built anyway refuses every provider call with the same list, so that a shop
started without the checks cannot move money with half its options.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.functional import Promise

from ..exceptions import ProviderConfigurationError


def ensure_configured(problems: Sequence[str], message: Promise, alias: str) -> None:
    """Raise ``ProviderConfigurationError`` with ``message`` when ``problems`` is not empty.

    ``message`` is the backend's own lazy sentence with ``%(alias)s`` and
    ``%(problems)s``, so that it is translated in the language active now.
    """
    if problems:
        raise ProviderConfigurationError(
            str(message) % {"alias": alias, "problems": "; ".join(problems)}
        )
