"""Every model GET /v1/models lists on a hosted vendor, driven through the public API and the real state
machine against the vendors' strict fakes, as an operator would configure them (all four, or only fal, or
only Replicate, so that each model's other routes serve it): a 3:4 request with 2 variations, a seed, a
negative prompt and a 3000x4000 phone photo where the model takes references. Every accepted request
completes with 2 images of the asked size, names its backend, and no vendor saw anything it refuses."""

from __future__ import annotations

import base64
import io
import json
from contextlib import ExitStack

import pytest
import requests
from PIL import Image

from tests.conftest import AwsAccount
from tests.fakes.server import serve
from tests.fakes.vendors.bfl import BflVendorFake
from tests.fakes.vendors.fal import FalVendorFake
from tests.fakes.vendors.openai import OpenAIVendorFake
from tests.fakes.vendors.photos import large_photo
from tests.fakes.vendors.replicate import ReplicateVendorFake
from tests.fakes.vendors.strict import StrictVendorFake
from tests.integration.helpers import api_call
from tests.integration.test_backend_adapters import configure, run_job

pytestmark = pytest.mark.statemachine

FAKES: dict[str, type[StrictVendorFake]] = {
    "openai": OpenAIVendorFake,
    "replicate": ReplicateVendorFake,
    "fal": FalVendorFake,
    "bfl": BflVendorFake,
}


@pytest.mark.parametrize("configured", [("openai", "replicate", "fal", "bfl"), ("fal",), ("replicate",)])
def test_every_listed_hosted_model_completes_through_the_public_api(
    aws: AwsAccount, monkeypatch: pytest.MonkeyPatch, configured: tuple[str, ...]
) -> None:
    photo = f"data:image/jpeg;base64,{base64.b64encode(large_photo()).decode()}"
    with ExitStack() as stack:
        fakes = {name: stack.enter_context(serve(FAKES[name]())) for name in configured}
        for fake in fakes.values():
            fake.polls_needed = 2
        configure(aws, monkeypatch, {name: fake.url for name, fake in fakes.items()})
        _, key = aws.add_tenant()
        _, _, listing = api_call("list_models", key)
        models = [m for m in listing["data"] if m["served_by"] in fakes]
        assert models, listing
        for model in models:
            backend = model["served_by"]
            body = {
                "prompt": "portrait of a pilot",
                "model": model["id"],
                "num_variations": 2,
                "seed": 77,
                "negative_prompt": "sunglasses",
                "output": {"aspect_ratio": "3:4"},
            }
            if "reference_images" in model["capabilities"]:
                body["reference_images"] = [photo]
            execution, job, _ = run_job(aws, body)
            assert execution["status"] == "SUCCEEDED", (model["id"], job.get("error"))
            assert job["provenance"]["backend"] == backend and not model["fallback"]
            sizes = [
                Image.open(io.BytesIO(requests.get(a["image_url"], timeout=10).content)).size
                for a in job["avatars"]
            ]
            assert sizes == [(job["avatars"][0]["width"], job["avatars"][0]["height"])] * 2
            assert sizes[0][0] * 4 == sizes[0][1] * 3, sizes
            sent = fakes[backend].submitted[-1]
            if "seed" in model["capabilities"]:
                assert sent["seed"] in (77, 78)
            if "reference_images" in model["capabilities"]:
                assert any(k in sent for k in ("images", "image", "image_prompt", "input_image")), sent.keys()
            assert fakes[backend].url not in json.dumps(job), "the job never points at a vendor URL"
        for name, fake in fakes.items():
            assert fake.violations == [] and fake.dropped == [], (name, fake.violations, fake.dropped)
