"""302.AI Avatar Maker, form-data variant: a multipart/form-data generate request read as the JSON one.

Every documented field arrives as a form field: `image` as a file part (turned into a data URL) or as
a text field holding a URL or a `data:image/...` string; `num`, `width`, `height` (and the native
request's other numeric fields) as numbers (the native request treats out-of-range `num`, `width` and
`height` as 302.AI documents: 1 and 1024; more than 20 digits is a 400); empty optional fields are
left out, as a form sends them. Anything else is passed on for the native request to accept or refuse.
"""

from __future__ import annotations

import base64
import math
import re
from email.message import EmailMessage, MIMEPart
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from avatarsmith.errors import InvalidRequestError

#: Form fields read as numbers (a form sends text): the native request's integer and decimal fields.
INTEGER_FIELDS = frozenset(
    {"num", "width", "height", "seed", "num_variations", "num_images", "deadline_seconds"}
)
DECIMAL_FIELDS = frozenset({"guidance_scale", "cfg_scale"})
MAX_DIGITS = 20
_INTEGER = re.compile(r"[+-]?\d+")
_DECIMAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d{1,3})?")
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"RIFF", "image/webp"),
)


def is_multipart(content_type: str) -> bool:
    return content_type.split(";")[0].strip().lower() == "multipart/form-data"


def _parts(body: bytes, content_type: str) -> list[MIMEPart]:
    if "boundary=" not in content_type.lower():
        raise InvalidRequestError("multipart/form-data needs a boundary in its Content-Type")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(_class=EmailMessage, policy=HTTP).parsebytes(head + body)
    if not message.is_multipart() or message.defects:
        raise InvalidRequestError("the multipart/form-data body could not be read")
    parts = list(message.iter_parts())
    if not parts:
        raise InvalidRequestError("the multipart/form-data body has no fields")
    return parts


def _media_type(declared: str, data: bytes) -> str:
    if declared.startswith("image/"):
        return declared
    for magic, media_type in _MAGIC:
        if data.startswith(magic) and (media_type != "image/webp" or data[8:12] == b"WEBP"):
            return media_type
    return declared or "application/octet-stream"


def _number(name: str, value: str) -> Any:
    """A numeric form field as the number it spells; other text is passed on for the request's own
    validation to refuse. More than 20 digits is no number any field takes: 400 here."""
    stripped = value.strip()
    pattern = _INTEGER if name in INTEGER_FIELDS else _DECIMAL
    if not pattern.fullmatch(stripped):
        return stripped
    if sum(c.isdigit() for c in stripped) > MAX_DIGITS:
        raise InvalidRequestError(f"{name} has more than {MAX_DIGITS} digits", param=name)
    if name in INTEGER_FIELDS:
        return int(stripped)
    number = float(stripped)
    return number if math.isfinite(number) else stripped


def form_to_body(body: bytes, content_type: str) -> dict[str, Any]:
    """The JSON body equivalent to a multipart/form-data generate request."""
    out: dict[str, Any] = {}
    for part in _parts(body, content_type):
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or not name:
            raise InvalidRequestError("every form field needs a name")
        if name in out:
            raise InvalidRequestError(f"the form field {name} is sent more than once", param=name)
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        if part.get_filename() is not None:  # a file part: only `image` takes one
            if name != "image":
                raise InvalidRequestError(f"{name} must be a text field, not a file", param=name)
            if not data:
                raise InvalidRequestError("the image file is empty", param="image")
            media_type = _media_type(part.get_content_type(), data)
            out[name] = f"data:{media_type};base64,{base64.b64encode(data).decode()}"
            continue
        try:
            value = data.decode(part.get_content_charset() or "utf-8")
        except (LookupError, UnicodeDecodeError) as exc:
            raise InvalidRequestError(f"the form field {name} is not text", param=name) from exc
        if not value.strip():
            continue  # an empty optional field, as forms send them
        out[name] = _number(name, value) if name in INTEGER_FIELDS | DECIMAL_FIELDS else value
    return out
