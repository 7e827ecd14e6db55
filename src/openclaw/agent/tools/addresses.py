"""Which addresses `web_fetch` may reach: public ones, and those the user allowed.

Refused: loopback, private networks (10/8, 172.16/12, 192.168/16, fc00::/7), shared address
space (100.64/10), link-local (169.254/16 with the cloud metadata service, fe80::/10),
multicast, unspecified (0.0.0.0, ::) and reserved ones, in every notation: an IPv4 address
written in decimal (`2130706433`), hex (`0x7f000001`), octal (`0177.0.0.1`) or short (`127.1`)
form, and one wrapped in IPv6 (`::ffff:127.0.0.1`, NAT64 `64:ff9b::7f00:1`).

`tools.web_fetch.allow` lists host names and networks (`10.0.0.0/8`, `192.168.1.5`) that may
be reached anyway. The decision is a pure function of the address, so it is tested for every
range without sending anything.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable

from openclaw.records import Record, record

__all__ = ["Address", "AllowList", "literal_address", "refusal"]

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_SHARED = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _unwrapped(address: Address) -> Address:
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if address.sixtofour is not None:
            return address.sixtofour
        if int(address) >> 32 == 0 and int(address) > 1:  # IPv4-compatible ::a.b.c.d
            return ipaddress.IPv4Address(int(address))
    return address


def refusal(address: Address) -> str | None:
    """Why `address` may not be fetched (words for the message), or None when it is public."""
    inner = _unwrapped(address)
    if inner.is_unspecified:
        return "an unspecified address (it reaches this machine)"
    if inner.is_loopback:
        return "a loopback address (this machine)"
    if inner.is_link_local:
        return "a link-local address (where cloud metadata services answer)"
    if inner.is_multicast:
        return "a multicast address"
    if inner in _SHARED:
        return "a shared (carrier-grade NAT) address"
    if inner.is_private:
        return "a private network address"
    if inner.is_reserved or not inner.is_global:
        return "a reserved address"
    return None


def literal_address(host: str) -> Address | None:
    """The address `host` names without asking DNS: `[::1]`, `127.0.0.1`, and the old IPv4
    forms resolvers still accept (`2130706433`, `0x7f000001`, `0177.0.0.1`, `127.1`)."""
    host = host.strip().strip("[]").rstrip(".")
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    if host and all(c in "0123456789abcdefxABCDEFX." for c in host) and host[0].isdigit():
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


@record(slots=True)
class AllowList(Record):
    """Host names and networks a tool may reach although they are private."""

    names: frozenset[str] = frozenset()
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AllowList:
        names: set[str] = set()
        networks = []
        for entry in entries:
            entry = entry.strip().lower().rstrip(".")
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                names.add(entry)
        return cls(frozenset(names), tuple(networks))

    def allows(self, host: str, address: Address) -> bool:
        if host.strip("[]").lower().rstrip(".") in self.names:
            return True
        inner = _unwrapped(address)
        return any(address in net or inner in net for net in self.networks)

    def refusal(self, host: str, address: Address) -> str | None:
        """Why `host`, found at `address`, may not be fetched; None when it may."""
        if self.allows(host, address):
            return None
        reason = refusal(address)
        if reason is None:
            return None
        return (
            f"{host} is {reason} ({address}); web_fetch only reaches public addresses, so that"
            " a web page cannot make it read this machine or its network. If the user needs"
            " this host, they can add it to tools.web_fetch.allow"
        )
