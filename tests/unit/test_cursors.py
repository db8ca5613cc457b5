"""The cursor decoder refuses anything it did not issue, however deep its JSON nests."""

from __future__ import annotations

import base64

import pytest

from avatarsmith.errors import InvalidRequestError
from avatarsmith.logic.cursors import decode_cursor, encode_cursor


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_a_cursor_reads_back_what_it_was_issued_for() -> None:
    cursor = encode_cursor("job", "job_01m8jvcrpavcx1shm8ywkc9rd2", {"status": None})
    assert decode_cursor(cursor, "job", {"status": None}) == "job_01m8jvcrpavcx1shm8ywkc9rd2"


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_a_cursor_nested_past_the_parsers_recursion_limit_is_invalid_request(depth: int) -> None:
    # Given a cursor that decodes to JSON nested deeper than json.loads can recurse
    cursor = _b64(("[" * depth + "]" * depth).encode())
    # When it is decoded, Then it is the caller's error naming the cursor, not a RecursionError
    with pytest.raises(InvalidRequestError) as refused:
        decode_cursor(cursor, "job", {})
    assert refused.value.param == "cursor"
