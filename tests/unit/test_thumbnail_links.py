"""Thumbnail links: signed tokens that name one image and expire, and the API address they point at."""

from __future__ import annotations

import pytest

from avatarsmith.logic.thumbnails import ThumbnailNotFoundError, make_token, read_token

KEY = bytes(range(32))


def test_a_token_names_its_image_until_it_expires() -> None:
    token = make_token(KEY, "tenants/t/jobs/j/0.png", 2_000)
    assert read_token(KEY, token, now=1_999) == "tenants/t/jobs/j/0.png"
    with pytest.raises(ThumbnailNotFoundError):
        read_token(KEY, token, now=2_000)


def test_a_token_cannot_be_moved_to_another_image_or_key() -> None:
    token = make_token(KEY, "tenants/a/jobs/j/0.png", 2_000)
    other = make_token(KEY, "tenants/b/jobs/j/0.png", 2_000)
    forged = other.split(".")[0] + "." + token.split(".")[1]  # b's image with a's signature
    for bad in (forged, token + "x", token.split(".")[0], "", ".", "a.b.c"):
        with pytest.raises(ThumbnailNotFoundError):
            read_token(KEY, bad, now=1_000)
    with pytest.raises(ThumbnailNotFoundError):
        read_token(bytes(32), token, now=1_000)  # signed under another stack's key


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (
            {"host": "abc.execute-api.us-east-1.amazonaws.com"},
            "https://abc.execute-api.us-east-1.amazonaws.com",
        ),
        ({"host": "api.example.com", "x-forwarded-proto": "https"}, "https://api.example.com"),
        ({"host": "127.0.0.1:3016"}, "http://127.0.0.1:3016"),
        ({"host": "localhost:3000", "x-forwarded-proto": "http"}, "http://localhost:3000"),
        ({"host": "evil.example/path"}, None),
        ({}, None),
    ],
)
def test_links_point_at_the_address_the_caller_used(headers: dict[str, str], expected: str | None) -> None:
    from routes.common import public_base_url

    assert public_base_url({"headers": headers, "requestContext": {}}) == expected
