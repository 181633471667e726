"""An IP allow-list for notifications, behind trusted proxies: an option any backend can offer.

A backend that lists :data:`IP_ALLOWLIST_OPTIONS` in its ``known_options``,
adds :func:`allowlist_problems` to its option checks and calls
:meth:`IpAllowlist.check` first in ``verify_webhook`` offers two options:

``NOTIFICATION_IP_ALLOWLIST``
    IP addresses or networks (CIDR) notifications may come from; any other
    source is refused with 403. Unset: any source.
``TRUSTED_PROXIES``
    IP addresses or networks of the shop's own reverse proxies. Only when the
    direct peer is one of them is ``X-Forwarded-For`` read, and then the
    right-most address that is not a trusted proxy is the client.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from ..exceptions import WebhookForbidden
from .readers import header

ALLOWLIST_OPTION = "NOTIFICATION_IP_ALLOWLIST"
PROXIES_OPTION = "TRUSTED_PROXIES"
IP_ALLOWLIST_OPTIONS = (ALLOWLIST_OPTION, PROXIES_OPTION)
FORWARDED_FOR_HEADER = "X-Forwarded-For"

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_ip(text: str) -> IPAddress | None:
    """An address as a peer or a proxy writes it (with a port, bracketed, IPv4-mapped)."""
    value = text.strip().strip('"')
    if not value:
        return None
    if value.startswith("["):  # "[2001:db8::1]:443"
        value = value[1:].split("]", 1)[0]
    elif value.count(":") == 1:  # "203.0.113.7:5678"
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def networks(value: object) -> tuple[IPNetwork, ...]:
    """The readable networks of a list option; :func:`allowlist_problems` reports the others."""
    if isinstance(value, str) or not isinstance(value, Iterable):
        return ()
    found = []
    for entry in value:
        try:
            found.append(ipaddress.ip_network(str(entry).strip(), strict=False))
        except ValueError:
            continue
    return tuple(found)


def _network_problems(name: str, value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, Sequence):
        return [f"{name} must be a list of IP addresses or networks, e.g. ['203.0.113.0/24']"]
    problems = []
    for entry in value:
        try:
            ipaddress.ip_network(str(entry).strip(), strict=False)
        except ValueError:
            problems.append(f"{name} contains {entry!r}, which is not an IP address or network")
    return problems


def allowlist_problems(options: Mapping[str, Any]) -> list[str]:
    """Problems with the two options, as sentences for a system check error."""
    return _network_problems(ALLOWLIST_OPTION, options.get(ALLOWLIST_OPTION)) + _network_problems(
        PROXIES_OPTION, options.get(PROXIES_OPTION)
    )


def _in_any(address: IPAddress, candidates: Iterable[IPNetwork]) -> bool:
    return any(address in network for network in candidates)


@dataclass(frozen=True)
class IpAllowlist:
    """The allowed sources of notifications and the proxies in front of the shop."""

    allowed: tuple[IPNetwork, ...] = ()
    trusted_proxies: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> IpAllowlist:
        return cls(networks(options.get(ALLOWLIST_OPTION)), networks(options.get(PROXIES_OPTION)))

    def client_ip(self, remote_addr: str | None, headers: Mapping[str, str]) -> IPAddress | None:
        """The notification's source address.

        ``X-Forwarded-For`` is read only when the direct peer is one of
        ``TRUSTED_PROXIES``; then the right-most address that is not a
        trusted proxy is the source (addresses to its left could be forged).
        """
        peer = parse_ip(remote_addr or "")
        if peer is None or not self.trusted_proxies or not _in_any(peer, self.trusted_proxies):
            return peer
        forwarded = header(headers, FORWARDED_FOR_HEADER)
        hops = [hop for hop in forwarded.split(",") if hop.strip()]
        address = peer
        for hop in reversed(hops):
            parsed = parse_ip(hop)
            if parsed is None:
                return None  # an unreadable hop: the source cannot be known
            address = parsed
            if not _in_any(parsed, self.trusted_proxies):
                return parsed
        return address

    def check(self, remote_addr: str | None, headers: Mapping[str, str]) -> None:
        """Raise ``WebhookForbidden`` (403) unless the source is allowed; no list allows all."""
        if not self.allowed:
            return
        client = self.client_ip(remote_addr, headers)
        if client is None or not _in_any(client, self.allowed):
            raise WebhookForbidden(
                _("Notifications from %(address)s are not accepted (NOTIFICATION_IP_ALLOWLIST).")
                % {"address": client or remote_addr or _("an unknown address")}
            )
