"""Where a group-robot webhook may post: https to public internet addresses only, unless the
operator names the host in WEBHOOK_ALLOWED_HOSTS (a town's own gateway; http allowed there).

A secretary types the address, so it must never reach this server's own ports (Redis on
127.0.0.1:6379), the town's private network or a cloud metadata service. The address is
checked when it is saved (check_webhook_url, for the form's message) and again when a notice
is sent (resolve_webhook_url): the host name is resolved once, every address it resolves to
must be public, and the caller connects to that very address, so a name that changes its
answer between the check and the connection (DNS rebinding) gains nothing.
"""
import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app

# IPv6 prefixes that carry an IPv4 address a gateway may reach: judged by that address.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Forms of an IPv4 address that inet_aton (and so getaddrinfo) accepts: 2130706433, 0x7f.1, 0177.0.0.1, 127.1.
_IPV4_LOOSE = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}$")


class AddressRefused(ValueError):
    """A webhook address that may not be posted to. `reason` is "invalid", "scheme" or "private"."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason


@dataclass(frozen=True)
class Destination:
    """Where to connect (`ip`, `port`, `scheme`) and what to ask for there (`target`, `host_header`)."""

    scheme: str
    host: str  # the name as written (IDNA), for the Host header, TLS server name and certificate
    port: int
    ip: str
    target: str  # path and query
    host_header: str


def allowed_hosts() -> frozenset[str]:
    return frozenset(current_app.config.get("WEBHOOK_ALLOWED_HOSTS") or ())


def parse_allowed_hosts(value: str | None) -> tuple[str, ...]:
    """WEBHOOK_ALLOWED_HOSTS: comma-separated host names or addresses, compared without case."""
    return tuple(h for h in (_normalise_host(part.strip().strip("[]")) for part in (value or "").split(",")) if h)


def _normalise_host(host: str) -> str:
    host = host.lower().rstrip(".")
    if host and not host.isascii():
        host = host.encode("idna").decode("ascii")  # UnicodeError for a name that cannot be one
    return host


def is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """An address on the public internet: not loopback, private, link-local, shared (100.64/10),
    unspecified, multicast or reserved, including IPv4 addresses wrapped in IPv6."""
    if ip.version == 6:
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if ip.ipv4_mapped is not None:
            return is_public(ip.ipv4_mapped)
        if embedded is not None and not is_public(embedded):
            return False
        if ip.is_site_local:
            return False
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified or ip.is_loopback)


def literal_address(host: str):
    """The address a host written as an IP literal stands for (in any form the system
    resolver accepts, e.g. 2130706433 or 0x7f.1 for 127.0.0.1), else None."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _IPV4_LOOSE.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def _parse(url: str):
    """(scheme, host, port, parts) of a webhook address, or AddressRefused("invalid"/"scheme")."""
    try:
        parts = urlsplit((url or "").strip())
        port = parts.port
        host = _normalise_host(parts.hostname or "")
    except (ValueError, UnicodeError):
        raise AddressRefused("invalid", "not a valid address") from None
    if parts.scheme not in ("http", "https"):
        raise AddressRefused("scheme", f"scheme {parts.scheme or '(none)'} is not allowed")
    if not host:
        raise AddressRefused("invalid", "no host in the address")
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80), parts


def _check_scheme(scheme: str, host: str, allowed: bool) -> None:
    if scheme != "https" and not allowed:
        raise AddressRefused("scheme", f"http to {host} is not allowed (https only)")


def check_webhook_url(url: str) -> None:
    """Raise AddressRefused unless the address may be saved. Names are not resolved here (that
    happens, and matters, at sending); literal addresses and names of this machine are judged."""
    scheme, host, _port, _parts = _parse(url)
    allowed = host in allowed_hosts()
    _check_scheme(scheme, host, allowed)
    if allowed:
        return
    ip = literal_address(host)
    if ip is not None and not is_public(ip):
        raise AddressRefused("private", f"{host} is not a public address")
    if host == "localhost" or host.endswith(".localhost"):
        raise AddressRefused("private", f"{host} is this machine")


def resolve_webhook_url(url: str) -> Destination:
    """Resolve the address once and return where to connect; AddressRefused when the scheme or
    any address the host resolves to is not allowed; OSError (socket.gaierror) when it does not
    resolve."""
    scheme, host, port, parts = _parse(url)
    allowed = host in allowed_hosts()
    _check_scheme(scheme, host, allowed)
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    addresses = [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]
    if not addresses:
        raise socket.gaierror(f"{host} has no address")
    if not allowed:
        for ip in addresses:
            if not is_public(ip):
                raise AddressRefused("private", f"{host} resolves to {ip}, not a public address")
    shown = f"[{host}]" if ":" in host else host
    default = 443 if scheme == "https" else 80
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Destination(scheme, host, port, str(addresses[0]), target,
                       shown if port == default else f"{shown}:{port}")
