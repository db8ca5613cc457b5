"""The hosted vendors' strict fakes refuse what the vendors refuse, in the vendors' own forms: a request
shaped as the adapters used to shape it fails here as it would against the real API (the defects issue 23
lists), so the contract tests cannot pass by agreeing with our own client."""

from __future__ import annotations

import base64
import io

import requests
from PIL import Image

from tests.fakes.server import serve
from tests.fakes.vendors.bfl import BflVendorFake
from tests.fakes.vendors.fal import FalVendorFake
from tests.fakes.vendors.openai import OpenAIVendorFake
from tests.fakes.vendors.replicate import ReplicateVendorFake


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), "red").save(buf, "JPEG")
    return buf.getvalue()


def test_openai_refuses_an_octet_stream_image_part_and_unknown_fields() -> None:
    with serve(OpenAIVendorFake()) as fake:
        auth = {"Authorization": f"Bearer {fake.key}"}
        form = {"model": "gpt-image-1", "prompt": "x", "n": "1", "size": "1024x1024"}
        files = [("image[]", ("reference-0.png", _jpeg(), "application/octet-stream"))]
        answer = requests.post(
            f"{fake.url}/v1/images/edits", headers=auth, data=form, files=files, timeout=10
        )
        assert answer.status_code == 400 and "unsupported mimetype" in answer.json()["error"]["message"]
        files = [("image[]", ("reference-0.png", _jpeg(), "image/jpeg"))]  # a JPEG named .png
        answer = requests.post(
            f"{fake.url}/v1/images/edits", headers=auth, data=form, files=files, timeout=10
        )
        assert answer.status_code == 400
        body = {"model": "gpt-image-1", "prompt": "x", "seed": 3, "size": "1024x1024"}
        answer = requests.post(f"{fake.url}/v1/images/generations", headers=auth, json=body, timeout=10)
        assert answer.status_code == 400 and answer.json()["error"]["type"] == "invalid_request_error"
        body = {"model": "gpt-image-1", "prompt": "x", "size": "768x1024"}
        answer = requests.post(f"{fake.url}/v1/images/generations", headers=auth, json=body, timeout=10)
        assert answer.status_code == 400
        answer = requests.post(
            f"{fake.url}/v1/images/generations", headers={"x-api-key": fake.key}, json=body, timeout=10
        )
        assert answer.status_code == 401 and answer.json()["error"]["code"] == "invalid_api_key"
        assert len(fake.violations) == 5


def test_replicate_refuses_flux_dev_3_4_and_sdxl_on_the_official_route() -> None:
    with serve(ReplicateVendorFake()) as fake:
        auth = {"Authorization": f"Bearer {fake.key}"}
        flux = f"{fake.url}/v1/models/black-forest-labs/flux-dev/predictions"
        answer = requests.post(
            flux, headers=auth, json={"input": {"prompt": "x", "aspect_ratio": "3:4"}}, timeout=10
        )
        assert answer.status_code == 422 and answer.json()["title"] == "Input validation failed"
        requests.post(flux, headers=auth, json={"input": {"prompt": "x", "guidance_scale": 3}}, timeout=10)
        assert fake.dropped == ["guidance_scale"], "flux-dev ignores guidance_scale: its field is guidance"
        sdxl = f"{fake.url}/v1/models/stability-ai/sdxl/predictions"
        answer = requests.post(sdxl, headers=auth, json={"input": {"prompt": "x"}}, timeout=10)
        assert answer.status_code == 404
        answer = requests.post(
            f"{fake.url}/v1/predictions",
            headers=auth,
            json={"version": "0" * 64, "input": {"prompt": "x"}},
            timeout=10,
        )
        assert answer.status_code == 422
        assert len(fake.violations) == 3


def test_fal_drops_image_size_on_imagen3_and_rebuilt_urls_find_nothing() -> None:
    with serve(FalVendorFake()) as fake:
        auth = {"Authorization": f"Key {fake.key}"}
        body = {"prompt": "x", "image_size": {"width": 768, "height": 1024}}
        queued = requests.post(f"{fake.url}/fal-ai/imagen3", headers=auth, json=body, timeout=10).json()
        assert fake.dropped == ["image_size"], "Imagen 3 has no image_size: a 3:4 request came back square"
        assert "/fal-ai/imagen3/requests/" in queued["status_url"]
        queued = requests.post(
            f"{fake.url}/fal-ai/flux/dev", headers=auth, json={"prompt": "x"}, timeout=10
        ).json()
        assert queued["status_url"].startswith(f"{fake.url}/fal-ai/flux/requests/")
        rebuilt = f"{fake.url}/fal-ai/flux/dev/requests/{queued['request_id']}/status"
        assert requests.get(rebuilt, headers=auth, timeout=10).status_code == 404
        assert requests.get(queued["status_url"], headers=auth, timeout=10).json()["status"] == "IN_QUEUE"
        answer = requests.post(
            f"{fake.url}/fal-ai/flux/dev", headers={"Authorization": fake.key}, json={}, timeout=10
        )
        assert answer.status_code == 401


def test_bfl_ignores_input_image_on_flux_pro_1_1_and_only_the_polling_url_knows_the_task() -> None:
    with serve(BflVendorFake()) as fake:
        auth = {"x-key": fake.key}
        ref = base64.b64encode(_jpeg()).decode()
        body = {"prompt": "x", "input_image": ref, "width": 1024, "height": 768}
        task = requests.post(f"{fake.url}/v1/flux-pro-1.1", headers=auth, json=body, timeout=10).json()
        assert fake.dropped == ["input_image"], "flux-pro-1.1 takes its reference as image_prompt"
        answer = requests.post(
            f"{fake.url}/v1/flux-pro-1.1", headers=auth, json={"prompt": "x", "width": 1000}, timeout=10
        )
        assert answer.status_code == 422, "width must be a multiple of 32"
        plain = requests.get(f"{fake.url}/v1/get_result", params={"id": task["id"]}, headers=auth, timeout=10)
        assert plain.json()["status"] == "Task not found"
        assert requests.get(task["polling_url"], headers=auth, timeout=10).json()["status"] == "Pending"
        answer = requests.post(
            f"{fake.url}/v1/flux-pro-1.1", headers={"x-key": "nope"}, json=body, timeout=10
        )
        assert answer.status_code == 403
