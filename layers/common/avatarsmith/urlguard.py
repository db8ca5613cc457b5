"""SSRF guard for every URL a user gives us that we fetch or call.

https only (plain http and loopback only when the local stack allows loopback), the host resolved and
every address checked (loopback, private, link-local, site-local, cloud metadata, multicast, reserved,
unspecified and odd IPv4 spellings refused; an IPv6 address that embeds an IPv4 one - IPv4-mapped,
IPv4-compatible, NAT64, 6to4, Teredo - judged by the IPv4 address it reaches, local-use NAT64 refused),
no redirects, and a cap on the bytes read.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from avatarsmith.errors import InvalidRequestError

_METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: the IPv4 address is the last 32 bits
_NAT64_LOCAL_USE = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215: local to one network, never global
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated ::a.b.c.d (also :: and ::1)
_SITE_LOCAL = ipaddress.ip_network("fec0::/10")  # deprecated, but still private wherever it is routed


class UnsafeUrlError(InvalidRequestError):
    code = "unsafe_url"


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries and leads to: IPv4-mapped, IPv4-compatible, NAT64
    (well-known prefix), 6to4, and Teredo (its server and its de-obfuscated client)."""
    if address.ipv4_mapped is not None:
        return [address.ipv4_mapped]
    found: list[ipaddress.IPv4Address] = []
    if address in _NAT64_WELL_KNOWN or address in _IPV4_COMPATIBLE:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    return found


def _is_blocked(address: Address, *, allow_loopback: bool) -> bool:
    if address in _METADATA:
        return True
    if address.is_loopback:
        return not allow_loopback
    if isinstance(address, ipaddress.IPv6Address):
        if address.is_unspecified or address in _NAT64_LOCAL_USE or address in _SITE_LOCAL:
            return True
        embedded = embedded_ipv4(address)
        if any(_is_blocked(v4, allow_loopback=allow_loopback) for v4 in embedded):
            return True
        if address.ipv4_mapped is not None:
            return False  # exactly that (public) IPv4 address
    # NAT64, IPv4-compatible and 6to4 addresses of public IPv4 addresses stay reachable; Teredo is
    # never global, so it is refused here whatever it carries.
    return not address.is_global or address.is_multicast


def check_url_syntax(url: str, *, allow_loopback: bool, param: str) -> str:
    """Cheap checks at submit time (no DNS): no control characters (urlsplit would drop CR/LF and tabs
    silently), scheme, host present, no credentials, sane port."""
    if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in url):
        raise UnsafeUrlError(f"{param} may not contain control characters", param=param)
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
    if not allow_loopback and (host == "localhost" or host.endswith(".localhost")):
        raise UnsafeUrlError(f"{param} points at a private or reserved address", param=param)
    literal = _parse_ip_literal(host)
    if literal is not None and _is_blocked(literal, allow_loopback=allow_loopback):
        raise UnsafeUrlError(f"{param} points at a private or reserved address", param=param)
    return url


def _parse_ip_literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    # Decimal (2130706433), octal (0177.0.0.1) and hex (0x7f.1) spellings the resolver would accept.
    try:
        return ipaddress.ip_address(socket.inet_aton(host))
    except (OSError, ValueError):
        return None


def resolve_checked(url: str, *, allow_loopback: bool, param: str) -> str:
    """Resolve the URL's host and refuse it if ANY address is not public; returns the first address."""
    check_url_syntax(url, allow_loopback=allow_loopback, param=param)
    host = urlsplit(url).hostname or ""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise UnsafeUrlError(f"{param} host does not resolve", param=param) from exc
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    for address in addresses:
        if _is_blocked(address, allow_loopback=allow_loopback):
            raise UnsafeUrlError(f"{param} resolves to a private or reserved address", param=param)
    if not addresses:
        raise UnsafeUrlError(f"{param} host does not resolve", param=param)
    return str(addresses[0])


class UrlCallError(OSError):
    """The call to a checked URL failed on the network (refused, reset, TLS, ...)."""


class UrlTimeoutError(UrlCallError):
    """The receiver did not connect or answer in time."""


@dataclass(frozen=True)
class PinnedResponse:
    status: int
    headers: dict[str, str]
    body: bytes  # at most `max_response_bytes`
    truncated: bool  # the answer was longer than `max_response_bytes`
    latency_ms: int


def request_pinned(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    allow_loopback: bool,
    param: str,
    connect_timeout: float = 3.0,
    read_timeout: float = 10.0,
    max_response_bytes: int = 4096,
) -> PinnedResponse:
    """Call a user-supplied URL safely.

    The host is resolved and checked once, and the connection goes to that checked address (DNS
    rebinding cannot swap in a private one between the check and the call). TLS still verifies the
    certificate against the host name (SNI + hostname check). Redirects are never followed, nothing is
    retried here, and at most `max_response_bytes` of the answer are read. An unsafe URL raises
    UnsafeUrlError; a network failure UrlCallError (UrlTimeoutError for timeouts), both OSErrors.
    """
    import urllib3

    address = resolve_checked(url, allow_loopback=allow_loopback, param=param)
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)
    pool: urllib3.HTTPConnectionPool
    if parts.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            address,
            port,
            timeout=timeout,
            retries=False,
            maxsize=1,
            server_hostname=host,
            assert_hostname=host,
            cert_reqs="CERT_REQUIRED",
        )
    else:
        pool = urllib3.HTTPConnectionPool(address, port, timeout=timeout, retries=False, maxsize=1)
    # Host: host[:port] as written (credentials are refused by the syntax check)
    all_headers = {**(headers or {}), "Host": parts.netloc}
    started = time.monotonic()
    try:
        response = pool.urlopen(
            method,
            path,
            body=body,
            headers=all_headers,
            redirect=False,
            retries=False,
            preload_content=False,
            assert_same_host=False,
        )
        try:
            data = response.read(max_response_bytes + 1, decode_content=False) or b""
        finally:
            response.release_conn()
            response.close()
    except urllib3.exceptions.NewConnectionError as exc:
        # Before the timeout clause: urllib3 makes NewConnectionError a ConnectTimeoutError subclass.
        raise _connect_error(param, exc) from exc
    except (urllib3.exceptions.TimeoutError, TimeoutError) as exc:
        raise UrlTimeoutError(f"{param} timed out") from exc
    except urllib3.exceptions.SSLError as exc:
        raise UrlCallError(f"{param}: TLS error (the certificate must be valid for the host)") from exc
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise UrlCallError(f"{param}: connection failed ({type(exc).__name__})") from exc
    finally:
        pool.close()
    return PinnedResponse(
        status=response.status,
        headers={k.lower(): v for k, v in response.headers.items()},
        body=bytes(data[:max_response_bytes]),
        truncated=len(data) > max_response_bytes,
        latency_ms=int((time.monotonic() - started) * 1000),
    )


def _connect_error(param: str, exc: BaseException) -> UrlCallError:
    """Name why a connection could not be opened (the socket error urllib3 wraps)."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ConnectionRefusedError):
            return UrlCallError(f"{param}: connection refused")
        if isinstance(cause, TimeoutError | socket.timeout):
            return UrlTimeoutError(f"{param} timed out")
        cause = cause.__cause__ or cause.__context__
    return UrlCallError(f"{param}: connection failed ({type(exc).__name__})")


def fetch_bytes(
    url: str, *, allow_loopback: bool, param: str, max_bytes: int, timeout: float = 10.0
) -> bytes:
    """GET a user-supplied URL safely (see `request_pinned`): 200 only, at most `max_bytes`."""
    response = request_pinned(
        "GET",
        url,
        allow_loopback=allow_loopback,
        param=param,
        read_timeout=timeout,
        max_response_bytes=max_bytes,
    )
    if response.status != 200:
        raise UnsafeUrlError(
            f"{param} answered HTTP {response.status}; redirects are not followed", param=param
        )
    if response.truncated:
        raise UnsafeUrlError(f"{param} is larger than {max_bytes} bytes", param=param)
    return response.body
