"""What every backend does with the problems its option checks found.

``manage.py check`` reports them at start-up (``kakaopay.E005``); a backend
built anyway refuses every provider call with the same list, so that a shop
started without the checks cannot move money with half its options.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from django.utils.functional import Promise

from ..exceptions import ProviderConfigurationError
from .base import BaseBackend


def ensure_configured(problems: Sequence[str], message: Promise, alias: str) -> None:
    """Raise ``ProviderConfigurationError`` with ``message`` when ``problems`` is not empty.

    ``message`` is the backend's own lazy sentence with ``%(alias)s`` and
    ``%(problems)s``, so that it is translated in the language active now.
    """
    if problems:
        raise ProviderConfigurationError(
            str(message) % {"alias": alias, "problems": "; ".join(problems)}
        )


class ProviderBackend(BaseBackend):
    """A provider's backend whose options module checks its options.

    The subclass names its package's checks in :meth:`option_rules` (what is
    wrong beyond a missing required option) and :meth:`option_advice` (the
    warnings), and its ``misconfigured`` sentence; ``manage.py check`` then
    reports required, wrong and misspelt options, and a backend built anyway
    refuses every call while one is wrong (``_ensure_configured``).
    """

    misconfigured: ClassVar[Promise]

    def __init__(self, alias: str, options: Mapping[str, Any]) -> None:
        super().__init__(alias, options)
        self._problems = self.configuration_problems(self.options)

    @classmethod
    def option_rules(cls, options: Mapping[str, Any]) -> list[str]:
        return []

    @classmethod
    def option_advice(cls, options: Mapping[str, Any]) -> list[str]:
        return []

    @classmethod
    def configuration_problems(cls, options: Mapping[str, Any]) -> list[str]:
        """What makes the backend refuse every call: missing and wrong options."""
        return super().check_options(options) + cls.option_rules(options)

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[str]:
        return cls.configuration_problems(options) + cls.unknown_option_problems(options)

    @classmethod
    def check_warnings(cls, options: Mapping[str, Any]) -> list[str]:
        return cls.option_advice(options)

    def _ensure_configured(self) -> None:
        ensure_configured(self._problems, self.misconfigured, self.alias)
