"""The SSRF guard, table-tested over every address form, as a URL literal and as what a host name
resolves to, for each place a user- or provider-supplied URL enters: webhook endpoints, callback URLs,
reference images and backend output URLs. No test here opens a connection to a refused address: the
guard raises before any socket is made (resolution is replaced by a table lookup)."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import pytest

from avatarsmith import urlguard
from avatarsmith.backends.replicate import ReplicateBackend
from avatarsmith.errors import GenerationRejectedError
from avatarsmith.urlguard import UnsafeUrlError, check_url_syntax, fetch_bytes, resolve_checked

# (address, why it is refused). Loopback forms are refused only while loopback is not allowed.
REFUSED = [
    ("127.0.0.1", "loopback"),
    ("10.0.0.1", "private"),
    ("172.16.5.4", "private"),
    ("192.168.1.1", "private"),
    ("100.64.0.1", "shared address space (CGNAT)"),
    ("169.254.169.254", "cloud metadata / link-local"),
    ("0.0.0.0", "unspecified"),  # noqa: S104 - a refused address, never bound
    ("224.0.0.1", "multicast"),
    ("255.255.255.255", "broadcast"),
    ("::1", "IPv6 loopback"),
    ("::", "IPv6 unspecified"),
    ("fe80::1", "link-local"),
    ("fd00::1", "unique local"),
    ("fd00:ec2::254", "EC2 metadata over IPv6"),
    ("fec0::1", "site-local"),
    ("fec0:1234::a", "site-local"),
    ("ff02::1", "multicast"),
    ("2001:db8::1", "documentation"),
    ("::ffff:127.0.0.1", "IPv4-mapped loopback"),
    ("::ffff:169.254.169.254", "IPv4-mapped metadata"),
    ("64:ff9b::a9fe:a9fe", "NAT64 of 169.254.169.254"),
    ("64:ff9b::a00:1", "NAT64 of 10.0.0.1"),
    ("64:ff9b::7f00:1", "NAT64 of 127.0.0.1"),
    ("64:ff9b::c0a8:101", "NAT64 of 192.168.1.1"),
    ("64:ff9b:1::a00:1", "local-use NAT64"),
    ("64:ff9b:1:ffff::808:808", "local-use NAT64 (never global)"),
    ("::7f00:1", "IPv4-compatible loopback"),
    ("::a9fe:a9fe", "IPv4-compatible metadata"),
    ("::a00:1", "IPv4-compatible private"),
    ("2002:7f00:1::", "6to4 of 127.0.0.1"),
    ("2002:a9fe:a9fe::1", "6to4 of 169.254.169.254"),
    ("2002:a00:1::1", "6to4 of 10.0.0.1"),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"),
    ("2001:0:a00:1:8000:63bf:80ff:fffe", "Teredo, server 10.0.0.1, client 127.0.0.1"),
]
LOOPBACK_ONLY = {"127.0.0.1", "::1", "::ffff:127.0.0.1", "::7f00:1", "2002:7f00:1::", "64:ff9b::7f00:1"}
# Public addresses in every form stay usable (a NAT64 or 6to4 address of a public IPv4 address is how
# an IPv6-only network reaches it).
ALLOWED = ["8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"]

# Other spellings of refused IPv4 addresses that the resolver would accept.
ODD_SPELLINGS = ["2130706433", "0177.0.0.1", "0x7f.1", "017700000001", "0xa9.0xfe.0xa9.0xfe", "10.1"]


def _literal(address: str) -> str:
    return f"[{address}]" if ":" in address else address


@pytest.fixture
def resolves_to(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Host names resolve through this table only (no DNS): name -> address."""
    table: dict[str, str] = {}

    def fake_getaddrinfo(host: str, *_args: Any, **_kwargs: Any) -> list[tuple[Any, ...]]:
        if host not in table:
            raise socket.gaierror("not in the test table")
        family = socket.AF_INET6 if ":" in table[host] else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (table[host], 443))]

    monkeypatch.setattr(urlguard.socket, "getaddrinfo", fake_getaddrinfo)
    return table


@pytest.mark.parametrize(("address", "why"), REFUSED)
@pytest.mark.parametrize("param", ["url", "callback_url", "reference_images[0]"])
def test_a_literal_in_every_refused_form_is_refused_at_submit(address: str, why: str, param: str) -> None:
    url = f"https://{_literal(address)}/hook"
    with pytest.raises(UnsafeUrlError) as caught:
        check_url_syntax(url, allow_loopback=False, param=param)
    assert caught.value.param == param and caught.value.code == "unsafe_url", why


@pytest.mark.parametrize(("address", "why"), REFUSED)
def test_a_name_that_resolves_to_a_refused_address_is_refused(
    address: str, why: str, resolves_to: dict[str, str]
) -> None:
    resolves_to["innocent.example.com"] = address
    with pytest.raises(UnsafeUrlError, match="resolves to a private or reserved address"):
        resolve_checked("https://innocent.example.com/hook", allow_loopback=False, param="url")


@pytest.mark.parametrize(("address", "why"), REFUSED)
def test_loopback_forms_pass_only_when_loopback_is_allowed(address: str, why: str) -> None:
    url = f"http://{_literal(address)}:9000/hook"
    if address in LOOPBACK_ONLY:
        assert check_url_syntax(url, allow_loopback=True, param="url") == url
    else:
        with pytest.raises(UnsafeUrlError):
            check_url_syntax(url, allow_loopback=True, param="url")


@pytest.mark.parametrize("spelling", ODD_SPELLINGS)
def test_odd_ipv4_spellings_are_refused(spelling: str) -> None:
    with pytest.raises(UnsafeUrlError):
        check_url_syntax(f"https://{spelling}/", allow_loopback=False, param="url")


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_in_every_form_are_accepted(address: str, resolves_to: dict[str, str]) -> None:
    url = f"https://{_literal(address)}/hook"
    assert check_url_syntax(url, allow_loopback=False, param="url") == url
    resolves_to["public.example.com"] = address
    resolved = resolve_checked("https://public.example.com/", allow_loopback=False, param="url")
    assert ipaddress.ip_address(resolved) == ipaddress.ip_address(address)


@pytest.mark.parametrize(("address", "why"), REFUSED)
def test_reference_image_downloads_refuse_every_form(
    address: str, why: str, resolves_to: dict[str, str]
) -> None:
    resolves_to["images.example.com"] = address
    for url in (f"https://{_literal(address)}/a.png", "https://images.example.com/a.png"):
        with pytest.raises(UnsafeUrlError):
            fetch_bytes(url, allow_loopback=False, param="reference_images[0]", max_bytes=1024)


@pytest.mark.parametrize(("address", "why"), REFUSED)
def test_backend_output_urls_refuse_every_form(address: str, why: str, resolves_to: dict[str, str]) -> None:
    backend = ReplicateBackend("https://api.replicate.com", "r8_test", allow_loopback=False)
    resolves_to["delivery.replicate.com"] = address
    for url in (f"https://{_literal(address)}/out.png", "https://delivery.replicate.com/out.png"):
        with pytest.raises(GenerationRejectedError, match=r"unsafe|private or reserved"):
            backend.download(url)
        with pytest.raises(GenerationRejectedError):
            backend.call_provider_url("GET", url.replace("/out.png", "/v1/predictions/x"))
