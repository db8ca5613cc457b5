"""What the four hosted-vendor fakes (openai, replicate, fal, bfl) share: reading the vendor's contract
table (layers/common/avatarsmith/backends/contracts/<vendor>.json, written from the vendor's published
API), checking a request against it, and keeping count of what a real call would have refused.

The adapters only read the tables to choose values; the checking here is the fake's own: types, enums,
ranges, multiples, lengths, unknown fields, auth header form. `violations` lists what the vendor would
refuse (a test asserts it stays empty); `dropped` lists fields the vendor would silently ignore (also a
defect when we rely on them). Each fake answers in its vendor's documented error and status forms.
"""

from __future__ import annotations

import io
import time
from typing import Any

from avatarsmith.backends.contracts import load_contract
from tests.fakes.server import FakeProvider, Fault, Reply, Request, json_reply

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "uri": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
}


def _ratio(value: str) -> float:
    a, b = (int(x) for x in value.split(":"))
    return a / b


def check_value(name: str, spec: dict[str, Any], value: Any) -> list[str]:
    """Problems with one value against its field's table entry (empty when the vendor accepts it)."""
    kind = spec.get("type", "string")
    if kind == "file":
        return []
    if kind == "ratio":
        try:
            r = _ratio(str(value))
        except ValueError:
            return [f"{name}={value!r} is not a W:H ratio"]
        if not _ratio(spec["min_ratio"]) - 1e-9 <= r <= _ratio(spec["max_ratio"]) + 1e-9:
            return [f"{name}={value!r} is outside {spec['min_ratio']}..{spec['max_ratio']}"]
        return []
    if kind == "enum_or_size":  # a preset name, or an explicit {width, height}
        if isinstance(value, dict):
            ok = set(value) == {"width", "height"} and all(
                isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value.values()
            )
            return [] if ok else [f"{name}={value!r} is not a size object"]
        kind = "string"
    allowed = _TYPES.get(kind, (object,))
    if isinstance(value, bool) and kind in ("integer", "number"):
        return [f"{name}={value!r} is not {kind}"]
    if not isinstance(value, allowed):
        return [f"{name}={value!r} is not {kind}"]
    problems = []
    if "enum" in spec and value not in spec["enum"]:
        problems.append(f"{name}={value!r} is not one of {spec['enum']}")
    if "min" in spec and value < spec["min"]:
        problems.append(f"{name}={value!r} is below {spec['min']}")
    if "max" in spec and value > spec["max"]:
        problems.append(f"{name}={value!r} is above {spec['max']}")
    if "multiple_of" in spec and value % spec["multiple_of"]:
        problems.append(f"{name}={value!r} is not a multiple of {spec['multiple_of']}")
    if "max_length" in spec and len(value) > spec["max_length"]:
        problems.append(f"{name} is {len(value)} characters, over {spec['max_length']}")
    return problems


def image_kind(data: bytes) -> str | None:
    """What the bytes really are (by their signature)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def image_size(data: bytes) -> tuple[int, int]:
    from PIL import Image

    return Image.open(io.BytesIO(data)).size  # type: ignore[no-any-return]


def solid_png(width: int, height: int, colour: str = "teal") -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buf, "PNG", compress_level=1)
    return buf.getvalue()


class StrictVendorFake(FakeProvider):
    """A loopback fake of one vendor, refusing what its contract table says the vendor refuses."""

    vendor = ""
    url_ttl_seconds = 600.0  # output URLs expire like the vendor's

    def __init__(self) -> None:
        super().__init__()
        self.contract = load_contract(self.vendor)
        self.violations: list[str] = []
        self.dropped: list[str] = []
        self.submitted: list[dict[str, Any]] = []  # what reached the vendor, per generation call
        self.downloads = 0

    # --- contract checks --------------------------------------------------------------------------
    def violation(self, message: str) -> None:
        self.violations.append(message)

    def model_table(self, model: str) -> dict[str, Any] | None:
        tables: dict[str, Any] = self.contract["models"]
        return tables.get(model)

    def check_fields(
        self, table: dict[str, Any], body: dict[str, Any], *, endpoint: str | None = None
    ) -> list[str]:
        """Problems the vendor refuses; unknown fields go to `dropped` or the problems, per its policy."""
        fields: dict[str, Any] = table["fields"]
        refuse_unknown = self.contract["unknown_fields"]["policy"] == "refuse"
        problems: list[str] = []
        for name, value in body.items():
            spec = fields.get(name)
            if spec is not None and endpoint and endpoint not in spec.get("endpoints", [endpoint]):
                spec = None
            if spec is None:
                if refuse_unknown:
                    problems.append(f"unknown field {name!r}")
                else:
                    self.dropped.append(name)
                continue
            problems += check_value(name, spec, value)
        for name, spec in fields.items():
            if (
                spec.get("required")
                and name not in body
                and (not endpoint or endpoint in spec.get("endpoints", [endpoint]))
            ):
                problems.append(f"missing required field {name!r}")
        self.violations.extend(problems)
        return problems

    def auth_ok(self, req: Request) -> tuple[bool, bool]:
        """(the header has the vendor's form, the key is the right one)."""
        auth = self.contract["auth"]
        value = req.headers.get(auth["header"].lower())
        if value is None:
            return False, False
        scheme = auth.get("scheme")
        if scheme:
            prefix = f"{scheme} "
            if not value.startswith(prefix):
                return False, False
            value = value[len(prefix) :]
        return True, value == self.key

    # --- faults -----------------------------------------------------------------------------------
    def error_body(self, kind: str) -> Any:
        raise NotImplementedError

    def throttle(self, label: str, times: int = 1, retry_after: str | None = "1") -> None:
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        self.fail(label, 429, self.error_body("rate_limit"), headers, times)

    def unavailable(self, label: str, times: int = 1, status: int = 503) -> None:
        self.fail(label, status, self.error_body("server"), {}, times)

    def refuse_key(self, label: str, times: int = 1) -> None:
        self.fail(label, int(self.contract["errors"]["auth"]["status"]), self.error_body("auth"), {}, times)

    # --- serving ----------------------------------------------------------------------------------
    def public(self, req: Request) -> bool:
        """Paths served without the API key (signed output URLs)."""
        return False

    def handle(self, req: Request) -> Reply:
        with self.lock:
            label = self.route(req)
            self.calls.append((label, req.path))
            self.requests.append(req)
            if not self.public(req):
                form_ok, key_ok = self.auth_ok(req)
                if not form_ok:
                    self.violation(f"{req.method} {req.path}: auth header not in the vendor's form")
                if not key_ok:
                    auth = self.contract["errors"]["auth"]
                    return json_reply(int(auth["status"]), self.error_body("auth"))
            queued = self.faults.get(label)
            if queued:
                fault: Fault = queued.pop(0)
                return json_reply(fault.status, fault.body, fault.headers)
            return self.serve(label, req)

    # --- expiring output URLs ---------------------------------------------------------------------
    def signed(self, path: str) -> str:
        return f"{self.url}{path}?exp={time.time() + self.url_ttl_seconds:.0f}"

    def expired(self, req: Request) -> bool:
        exp = req.query.get("exp", ["0"])[0]
        return float(exp) < time.time()
