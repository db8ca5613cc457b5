"""Text rules shared by every request model: what a URL, a label or a name may contain.

A URL never holds a control character (CR/LF, NUL, tab, DEL, C1): URL parsers drop some of them
silently, so what is checked would not be what is called. A label or a name (a saved avatar's label,
a webhook's description, `attributes.name`, correlation ids) is shown back, to other tenants too in the
community gallery, so it may not hold control characters, invisible characters (zero-width space,
joiners, word joiner, byte-order mark) or bidirectional controls (embeddings, overrides, isolates,
marks), which can hide or reorder what a reader sees. What is kept is NFC-normalised.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator

_CONTROL = {*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), 0x2028, 0x2029}
_INVISIBLE = {0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF}
_BIDI = {0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)}
_NOT_IN_NAMES = _CONTROL | _INVISIBLE | _BIDI


def _describe(code_point: int) -> str:
    kind = "a control" if code_point in _CONTROL else "an invisible"
    if code_point in _BIDI:
        kind = "a bidirectional control"
    return f"U+{code_point:04X} ({kind} character)"


def first_forbidden(text: str, forbidden: set[int]) -> int | None:
    return next((ord(c) for c in text if ord(c) in forbidden), None)


def check_url_text(value: str) -> str:
    """A URL as sent: refused when it holds a control character (nothing is stripped or rewritten)."""
    bad = first_forbidden(value, _CONTROL)
    if bad is not None:
        raise ValueError(f"a URL may not contain {_describe(bad)}")
    return value


def check_display_text(value: str) -> str:
    """A label or a name: NFC-normalised; refused when it holds a control, invisible or bidi character."""
    bad = first_forbidden(value, _NOT_IN_NAMES)
    if bad is not None:
        raise ValueError(
            f"may not contain {_describe(bad)}: no control, zero-width or bidirectional characters"
        )
    return unicodedata.normalize("NFC", value)


def is_web_url(value: str) -> bool:
    return value[:8].lower().startswith(("http://", "https://"))


def check_reference_text(value: str) -> str:
    """A reference image given as text: a URL follows the URL rule; base64 and data URLs are decoded
    later (where whitespace between base64 lines is allowed)."""
    return check_url_text(value) if is_web_url(value.lstrip()) else value


UrlText = Annotated[str, AfterValidator(check_url_text)]
DisplayText = Annotated[str, AfterValidator(check_display_text)]
ReferenceText = Annotated[str, AfterValidator(check_reference_text)]
