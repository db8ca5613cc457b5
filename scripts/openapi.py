"""Write docs/openapi.json: the OpenAPI document of every route the api function's app.py wires.

`make openapi` runs this; tests/unit/test_openapi_contract.py fails when the committed file differs.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "docs" / "openapi.json"


def generate() -> str:
    for extra in (ROOT / "functions" / "api", ROOT / "layers" / "common"):
        if str(extra) not in sys.path:
            sys.path.insert(0, str(extra))
    import app
    from routes.docs import openapi_json

    return openapi_json(app.app)


def main() -> None:
    OUTPUT.write_text(generate(), encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
