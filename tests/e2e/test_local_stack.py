"""End to end: start the local stack on free ports and use it over HTTP like a newcomer with curl would.

Each seed's example request is sent as written, waited for, and every image is downloaded from its
presigned URL and decoded; then save, list and get; then the bad inputs; then tenant isolation.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from PIL import Image

from local.stack import EmbeddedStack, StackInfo
from tests.unit.test_generate_request import KONPRO_EXAMPLE, PERCIFY_EXAMPLE, PI_EXAMPLE

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack() -> Iterator[tuple[EmbeddedStack, StackInfo]]:
    local = EmbeddedStack(
        api_port=0,
        extra_env={"AVATARSMITH_ALLOW_LOOPBACK_URLS": "1", "AVATARSMITH_TEST_BACKEND_POLL_SECONDS": "0"},
    )
    info = local.start()
    try:
        yield local, info
    finally:
        local.stop()


def _png_data_url(size: tuple[int, int] = (200, 260)) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 150, 120)).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


AI302_EXAMPLE = {
    "image": _png_data_url(),
    "style": 1,
    "person_type": "female",
    "num": 1,
    "width": 1024,
    "height": 768,
    "model": "gpt-4o-mini",
}


class Client:
    def __init__(self, base: str, key: str):
        self.base = base
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {key}"

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, self.base + path, timeout=40, **kwargs)


@pytest.fixture(scope="module")
def client(stack: tuple[EmbeddedStack, StackInfo]) -> Client:
    return Client(stack[1].api_url, stack[1].api_key)


def _generate_and_wait(client: Client, body: dict[str, Any]) -> dict[str, Any]:
    response = client.call("POST", "/v1/avatars/generate", json=body)
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    assert response.headers["Location"] == f"/v1/jobs/{job_id}"
    waited = client.call(
        "GET", f"/v1/jobs/{job_id}", params={"wait_for_completion": "true", "timeout_seconds": "30"}
    )
    assert waited.status_code == 200
    job = waited.json()
    assert job["status"] == "completed", job
    return dict(job)


@pytest.mark.parametrize(
    ("example", "size", "count"),
    [
        (PI_EXAMPLE, (1024, 1024), 1),
        (KONPRO_EXAMPLE, (1024, 1024), 1),
        (PERCIFY_EXAMPLE, (1024, 576), 2),
        (AI302_EXAMPLE, (1024, 768), 1),
    ],
    ids=["pi", "konpro", "percify", "302ai"],
)
def test_each_seed_example_generates_real_images(
    client: Client, example: dict, size: tuple, count: int
) -> None:
    job = _generate_and_wait(client, example)
    assert len(job["avatars"]) == count
    for avatar in job["avatars"]:
        image = requests.get(avatar["image_url"], timeout=10)
        assert image.status_code == 200 and image.headers["Content-Type"].startswith("image/")
        decoded = Image.open(io.BytesIO(image.content))
        assert decoded.size == size == (avatar["width"], avatar["height"])
        thumb = Image.open(io.BytesIO(requests.get(avatar["thumbnail_url"], timeout=10).content))
        assert max(thumb.size) == 256


def test_prefer_wait_and_the_async_backend(client: Client) -> None:
    response = client.call(
        "POST",
        "/v1/avatars/generate",
        json={"prompt": "a kid with glasses", "model": "test-async", "seed": 5},
    )
    job_id = response.json()["id"]
    job = client.call("GET", f"/v1/jobs/{job_id}", headers={"Prefer": "wait=30"})
    assert job.headers["Preference-Applied"] == "wait=30"
    assert job.json()["status"] == "completed"
    assert job.json()["provenance"]["backend"] == "async-test"


def test_same_seed_gives_identical_images(client: Client) -> None:
    body = {
        "prompt": "woman with red hair",
        "style": "vintage",
        "seed": 1234,
        "output": {"width": 256, "height": 256},
    }
    first, second = _generate_and_wait(client, body), _generate_and_wait(client, body)
    images = [requests.get(j["avatars"][0]["image_url"], timeout=10).content for j in (first, second)]
    assert images[0] == images[1]


def test_save_list_and_get_avatars(client: Client) -> None:
    job = _generate_and_wait(client, {"prompt": "astronaut", "num_variations": 2})
    saved = []
    for variation in (0, 1):
        response = client.call(
            "POST",
            "/v1/avatars/save",
            json={"job_id": job["id"], "label": f"v{variation}", "variation": variation},
        )
        assert response.status_code == 201, response.text
        saved.append(response.json())
    assert saved[0]["object"] == "avatar" and saved[0]["job_id"] == job["id"]
    listing = client.call("GET", "/v1/avatars", params={"limit": 1, "offset": 0}).json()
    assert listing["total"] >= 2 and listing["has_more"] is True and len(listing["data"]) == 1
    assert listing["data"][0]["id"] == saved[1]["id"]
    following = client.call(
        "GET", "/v1/avatars", params={"limit": 1, "cursor": listing["next_cursor"]}
    ).json()
    assert following["data"][0]["id"] == saved[0]["id"]
    fetched = client.call("GET", f"/v1/avatars/{saved[0]['id']}").json()
    image = Image.open(io.BytesIO(requests.get(fetched["image_url"], timeout=10).content))
    assert image.size == (fetched["width"], fetched["height"])


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"json": {"prompt": "x" * 5001}}, 422),
        ({"json": {"prompt": "x", "reference_images": [_png_data_url((8, 8))] * 7}}, 422),
        ({"json": {"prompt": "x", "metadata": {f"k{i}": "v" for i in range(17)}}}, 422),
        ({"json": {"prompt": "x", "seed": 2147483648}}, 422),
        ({"json": {"prompt": "x", "aspect_ratio": "2:1"}}, 422),
        ({"json": {"prompt": "x", "reference_images": ["data:image/png;base64,%%%"]}}, 422),
        ({"data": "{oops", "headers": {"Content-Type": "application/json"}}, 400),
        ({"data": "prompt=x", "headers": {"Content-Type": "application/x-www-form-urlencoded"}}, 415),
    ],
)
def test_bad_input_over_http_is_a_4xx_envelope(client: Client, kwargs: dict, status: int) -> None:
    response = client.call("POST", "/v1/avatars/generate", **kwargs)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] and error["message"] and error["request_id"]


def test_unknown_route_is_a_404_envelope(client: Client) -> None:
    response = client.call("DELETE", "/v1/jobs")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_another_tenant_sees_nothing(stack: tuple[EmbeddedStack, StackInfo], client: Client) -> None:
    job = _generate_and_wait(client, {"prompt": "mine"})
    saved = client.call("POST", "/v1/avatars/save", json={"job_id": job["id"]}).json()
    _, other_key = stack[0].add_tenant("other")
    other = Client(stack[1].api_url, other_key)
    assert other.call("GET", f"/v1/jobs/{job['id']}").status_code == 404
    assert other.call("GET", f"/v1/avatars/{saved['id']}").status_code == 404
    assert other.call("POST", "/v1/avatars/save", json={"job_id": job["id"]}).status_code == 404
    assert other.call("GET", "/v1/jobs").json()["data"] == []
    assert other.call("GET", "/v1/avatars").json()["data"] == []
