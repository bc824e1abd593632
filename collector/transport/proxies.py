"""Honour X-Forwarded-* headers from the configured reverse proxies only, and drop them from everyone else."""

from __future__ import annotations

import ipaddress

from werkzeug.middleware.proxy_fix import ProxyFix

#: The headers ProxyFix reads: from a peer that is not a trusted proxy they are a client's claim, so removed.
FORWARDED_HEADERS = (
    "HTTP_FORWARDED",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_FORWARDED_PREFIX",
    "HTTP_X_FORWARDED_SSL",
    "HTTP_X_FORWARDED_PROTOCOL",
)


def parse_networks(setting: str | list | tuple | None) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Read TRUSTED_PROXIES: addresses or networks, separated by commas or spaces (empty: trust nobody).

    :raise ValueError: an entry that is not an address or a network (a typo must not trust everyone).
    """
    if isinstance(setting, str):
        setting = setting.replace(",", " ").split()
    return [ipaddress.ip_network(entry.strip(), strict=False) for entry in setting or () if entry.strip()]


def peer_is_trusted(address: str | None, networks) -> bool:
    """Say whether a TCP peer address is one of the trusted proxies (IPv4-mapped IPv6 counts as IPv4)."""
    try:
        ip = ipaddress.ip_address((address or "").split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return any((mapped or ip) in net or ip in net for net in networks)


class TrustedProxies:
    """WSGI middleware: ProxyFix for requests whose TCP peer is a trusted proxy; other requests lose their
    forwarded headers, so the scheme, the address and the host are those of the real connection."""

    def __init__(self, app, networks, hops: int):
        self.app = app
        self.networks = list(networks)
        self.fixed = ProxyFix(app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops) if hops else app

    def __call__(self, environ, start_response):
        if self.networks and peer_is_trusted(environ.get("REMOTE_ADDR"), self.networks):
            return self.fixed(environ, start_response)
        dropped = [key for key in FORWARDED_HEADERS if environ.pop(key, None) is not None]
        if dropped:
            # Came through a proxy we do not trust (or claims to): not a local client (collector.ops.metrics).
            environ["collector.forwarded"] = True
        return self.app(environ, start_response)
