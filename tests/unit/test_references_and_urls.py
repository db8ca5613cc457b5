"""Reference image decoding and the SSRF guard (no sockets: only literal addresses are checked)."""

from __future__ import annotations

import base64

import pytest

from avatarsmith.errors import PayloadTooLargeError, RequestValidationError, UnsupportedMediaTypeError
from avatarsmith.logic.references import MAX_REFERENCE_BYTES, decode_reference
from avatarsmith.urlguard import UnsafeUrlError, check_url_syntax

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32


def test_data_url_and_raw_base64_decode_to_the_same_bytes() -> None:
    encoded = base64.b64encode(PNG).decode()
    data_url, media, _ = decode_reference(f"data:image/png;base64,{encoded}", index=0, allow_loopback=False)
    raw, media_raw, _ = decode_reference(encoded, index=1, allow_loopback=False)
    assert data_url == raw == PNG
    assert media == media_raw == "image/png"


def test_https_url_is_kept_for_the_processor_to_fetch() -> None:
    data, _, url = decode_reference("https://example.com/me.jpg", index=0, allow_loopback=False)
    assert data is None and url == "https://example.com/me.jpg"


def test_malformed_base64_is_a_validation_error() -> None:
    with pytest.raises(RequestValidationError) as info:
        decode_reference("data:image/png;base64,@@@not-base64@@@", index=2, allow_loopback=False)
    assert info.value.param == "reference_images[2]"


def test_a_gif_is_an_unsupported_media_type() -> None:
    gif = base64.b64encode(b"GIF89a" + b"\x00" * 20).decode()
    with pytest.raises(UnsupportedMediaTypeError):
        decode_reference(gif, index=0, allow_loopback=False)


def test_declared_type_must_match_the_content() -> None:
    with pytest.raises(UnsupportedMediaTypeError):
        decode_reference(
            "data:image/png;base64," + base64.b64encode(JPEG).decode(), index=0, allow_loopback=False
        )


def test_over_15_mb_is_payload_too_large() -> None:
    big = base64.b64encode(PNG + b"\x00" * MAX_REFERENCE_BYTES).decode()
    with pytest.raises(PayloadTooLargeError):
        decode_reference(big, index=0, allow_loopback=False)


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/a.png",  # not https
        "https://127.0.0.1/a.png",
        "https://169.254.169.254/latest/meta-data/",
        "https://[fd00:ec2::254]/",
        "https://[::ffff:127.0.0.1]/",
        "https://10.0.0.1/",
        "https://2130706433/",  # decimal 127.0.0.1
        "https://0177.0.0.1/",  # octal
        "https://0.0.0.0/",
        "https://user:pass@example.com/",
        "ftp://example.com/a.png",
    ],
)
def test_unsafe_urls_are_refused(url: str) -> None:
    with pytest.raises(UnsafeUrlError):
        check_url_syntax(url, allow_loopback=False, param="callback_url")


def test_loopback_is_allowed_only_when_enabled() -> None:
    assert check_url_syntax("http://127.0.0.1:9000/hook", allow_loopback=True, param="callback_url")
    with pytest.raises(UnsafeUrlError):
        check_url_syntax("http://127.0.0.1:9000/hook", allow_loopback=False, param="callback_url")
