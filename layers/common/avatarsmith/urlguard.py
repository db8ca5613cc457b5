"""SSRF guard for every URL a user gives us that we fetch or call.

https only (plain http and loopback only when the local stack allows loopback), the host resolved and
every address checked (loopback, private, link-local, cloud metadata, multicast, reserved, unspecified,
IPv4-mapped IPv6 and odd IPv4 spellings refused), no redirects, and a cap on the bytes read.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from avatarsmith.errors import InvalidRequestError

_METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}


class UnsafeUrlError(InvalidRequestError):
    code = "unsafe_url"


def _is_blocked(address: ipaddress.IPv4Address | ipaddress.IPv6Address, *, allow_loopback: bool) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address in _METADATA:
        return True
    if address.is_loopback:
        return not allow_loopback
    return not address.is_global or address.is_multicast


def check_url_syntax(url: str, *, allow_loopback: bool, param: str) -> str:
    """Cheap checks at submit time (no DNS): scheme, host present, no credentials, sane port."""
    parts = urlsplit(url)
    allowed = ("https", "http") if allow_loopback else ("https",)
    if parts.scheme not in allowed:
        raise UnsafeUrlError(f"{param} must be an https URL", param=param)
    if not parts.hostname or parts.username or parts.password:
        raise UnsafeUrlError(f"{param} must have a host and no credentials", param=param)
    try:
        parts.port  # noqa: B018 - raises ValueError for an out-of-range port
    except ValueError as exc:
        raise UnsafeUrlError(f"{param} has an invalid port", param=param) from exc
    host = parts.hostname
    literal = _parse_ip_literal(host)
    if literal is not None and _is_blocked(literal, allow_loopback=allow_loopback):
        raise UnsafeUrlError(f"{param} points at a private or reserved address", param=param)
    return url


def _parse_ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    # Decimal (2130706433), octal (0177.0.0.1) and hex (0x7f.1) spellings the resolver would accept.
    try:
        return ipaddress.ip_address(socket.inet_aton(host))
    except (OSError, ValueError):
        return None


def resolve_checked(url: str, *, allow_loopback: bool, param: str) -> None:
    """Resolve the URL's host and refuse it if ANY address is not public."""
    check_url_syntax(url, allow_loopback=allow_loopback, param=param)
    host = urlsplit(url).hostname or ""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise UnsafeUrlError(f"{param} host does not resolve", param=param) from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if _is_blocked(address, allow_loopback=allow_loopback):
            raise UnsafeUrlError(f"{param} resolves to a private or reserved address", param=param)


def fetch_bytes(
    url: str, *, allow_loopback: bool, param: str, max_bytes: int, timeout: float = 10.0
) -> bytes:
    """GET a user-supplied URL safely: checked, no redirects, at most `max_bytes` read."""
    import requests

    resolve_checked(url, allow_loopback=allow_loopback, param=param)
    with requests.get(url, timeout=timeout, allow_redirects=False, stream=True) as response:
        if response.is_redirect or response.status_code != 200:
            raise UnsafeUrlError(
                f"{param} answered HTTP {response.status_code}; redirects are not followed", param=param
            )
        chunks, total = [], 0
        for chunk in response.iter_content(64 * 1024):
            total += len(chunk)
            if total > max_bytes:
                raise UnsafeUrlError(f"{param} is larger than {max_bytes} bytes", param=param)
            chunks.append(chunk)
        return b"".join(chunks)
