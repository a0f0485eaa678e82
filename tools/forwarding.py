"""Which address a request came from: its TCP peer, or what trusted proxies say it was.

Any client can write `X-Forwarded-For`, and policies (`aws:SourceIp`) and the trail
(`sourceIPAddress`) rest on the answer, so the header is believed only when the TCP peer is a
proxy the operator named (`serve --trusted-proxy CIDR`), and only as far as trusted proxies
vouch for it: each proxy appends the address it received the request from, so the list is read
from the right, skipping trusted proxies, and the first other address is the client's. What
stands to its left was written by the client and is ignored.

This is not uvicorn's `proxy_headers`: that trusts loopback (every local client) by default,
reads `FORWARDED_ALLOW_IPS` from the environment and has changed its handling of repeated
headers between releases; the rule here is small enough to own.
"""
from __future__ import annotations

import argparse
import ipaddress
from collections.abc import Iterable

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def proxy_network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """argparse type for `--trusted-proxy`: an address or a CIDR block."""
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an IP address or CIDR block: {text!r}") from None


class TrustedProxies:
    """The proxies whose `X-Forwarded-For` is believed; none unless configured."""

    def __init__(self, networks: Iterable[ipaddress.IPv4Network | ipaddress.IPv6Network] = ()
                 ) -> None:
        self.networks = tuple(networks)

    def trusts(self, address: Address) -> bool:
        return any(address in network for network in self.networks)

    def source_ip(self, peer: str, forwarded_for: Iterable[str]) -> str:
        """The client's address, given the TCP peer and every `X-Forwarded-For` value in
        order (repeated headers form one list, as HTTP joins repeated list fields)."""
        current = _address(peer)
        if current is None or not self.trusts(current):
            return peer
        hops = [hop.strip() for value in forwarded_for for hop in value.split(",")]
        for hop in reversed(hops):
            address = _address(hop)
            if address is None:  # a trusted proxy wrote something unusable: stop believing
                break
            current = address
            if not self.trusts(address):
                break
        return str(current)


def _address(text: str) -> Address | None:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address
