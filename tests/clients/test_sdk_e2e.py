"""The Python SDK end to end against the local stack: generate, wait, download, list, save, errors,
retries that never double-charge, deadlines that never hang, and the async client."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import avatarsmith_client as sdk
import httpx
import pytest
from PIL import Image

from local.stack import EmbeddedStack, StackInfo
from tests.clients.faults import FaultProxy, StuckJobServer
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.e2e

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "astronaut.jpg"


@pytest.fixture
def client(info: StackInfo) -> sdk.Client:
    return sdk.Client(base_url=info.api_url, api_key=info.api_key, timeout=30)


def _decodes(path: Path) -> tuple[int, int]:
    with Image.open(path) as image:
        image.load()
        return image.size


def test_generate_wait_and_download_gives_decodable_images(client: sdk.Client, tmp_path: Path) -> None:
    # Given a prompt, when generating with wait=True
    job = client.generate(
        "smiling woman with red hair",
        style="professional",
        num_variations=2,
        wait=True,
        timeout=60,
        output={"aspect_ratio": "16:9"},
        seed=7,
    )
    # Then the job is complete and every variation downloads as a decodable image of the asked shape
    assert job.status == "completed"
    assert len(job.avatars) == 2
    files = [avatar.download(tmp_path) for avatar in job.avatars]
    assert [f.name for f in files] == [f"{job.id}-0.png", f"{job.id}-1.png"]
    for f in files:
        width, height = _decodes(f)
        assert width > height  # 16:9
    assert job.credits.charged == 2


def test_environment_defaults_and_resume_by_job_id(info: StackInfo, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given only the environment variables, a job submitted by one client...
    monkeypatch.setenv("AVATARSMITH_BASE_URL", info.api_url)
    monkeypatch.setenv("AVATARSMITH_API_KEY", info.api_key)
    first = sdk.Client()
    job_id = first.generate("a man with a beard").id
    first.close()
    # ...is resumed by id in another client (as after a crash) and waited for there
    resumed = sdk.Client().jobs.wait(job_id, timeout=60)
    assert resumed.id == job_id and resumed.status == "completed"
    assert resumed.avatars[0].image_url


def test_local_reference_files_and_bytes_are_sent(client: sdk.Client) -> None:
    # Given a reference photo as a path and as bytes (the server has no upload route: inline data URLs)
    job = client.generate("portrait", reference_images=[FIXTURE, FIXTURE.read_bytes()], wait=True, timeout=60)
    assert job.status == "completed"
    assert [r["media_type"] for r in job.request["reference_images"]] == ["image/jpeg", "image/jpeg"]
    # A file that is not an image is refused before anything is sent
    with pytest.raises(sdk.InvalidRequest):
        client.generate("portrait", reference_images=[b"not an image"])


def test_jobs_list_pages_through_everything(client: sdk.Client) -> None:
    ref = f"page-{uuid.uuid4().hex[:8]}"
    created = {client.generate("paging", client_reference_id=ref).id for _ in range(3)}
    listed = [j.id for j in client.jobs.list(client_reference_id=ref, page_size=1)]
    assert sorted(listed) == sorted(created)  # three pages of one
    assert len(list(client.jobs.list(client_reference_id=ref, page_size=1, limit=2))) == 2


def test_cancel_a_running_job_refunds_it(client: sdk.Client) -> None:
    job = client.generate("slow one", model="test-async")
    job.cancel()
    assert job.status == "canceled"
    assert job.credits.refunded == job.credits.reserved
    # A completed job cannot be canceled: a typed conflict error carrying the API's code and request id
    done = client.generate("quick one", wait=True, timeout=60)
    with pytest.raises(sdk.JobNotCancelable) as caught:
        client.jobs.cancel(done.id)
    assert caught.value.code == "job_not_cancelable" and caught.value.request_id


def test_wait_deadline_raises_and_can_cancel_the_job(client: sdk.Client) -> None:
    job = client.generate("slow one", model="test-async")
    started = time.monotonic()
    with pytest.raises(sdk.Timeout, match="resume with"):
        job.wait(timeout=1)
    assert time.monotonic() - started < 5
    with pytest.raises(sdk.Timeout, match="canceled"):
        client.jobs.wait(job.id, timeout=0.5, cancel_on_timeout=True)
    assert client.jobs.get(job.id).status == "canceled"


def test_wait_never_outlives_its_deadline_when_the_server_holds_reads() -> None:
    with StuckJobServer(hold_cap=0.4) as server:
        client = sdk.Client(base_url=server.url, api_key="k", timeout=10)
        started = time.monotonic()
        with pytest.raises(sdk.Timeout):
            client.jobs.wait("job_stuck", timeout=2)
        elapsed = time.monotonic() - started
        assert 1.9 <= elapsed < 4, elapsed
        assert server.reads >= 2  # reads every second until the deadline


def test_saved_avatars_save_list_get(client: sdk.Client) -> None:
    job = client.generate("to keep", num_variations=2, wait=True, timeout=60)
    label = f"keep-{uuid.uuid4().hex[:6]}"
    saved = client.avatars.save(job.id, label=label, variation=1)
    assert saved.label == label and saved.variation == 1 and saved.job_id == job.id
    assert client.avatars.get(saved.id).id == saved.id
    assert saved.id in [a.id for a in client.avatars.list(page_size=1)]


def test_catalog_and_account(client: sdk.Client) -> None:
    styles = client.styles()
    assert "professional" in [s.name for s in styles]
    models = client.models()
    assert sum(m.default for m in models) == 1
    assert client.account().balance > 0


def test_typed_errors_carry_code_message_and_request_id(
    client: sdk.Client, info: StackInfo, stack: tuple[EmbeddedStack, StackInfo]
) -> None:
    with pytest.raises(sdk.Unauthorized) as bad_key:
        sdk.Client(base_url=info.api_url, api_key="sk_wrong").account()
    assert bad_key.value.status_code == 401 and bad_key.value.request_id
    with pytest.raises(sdk.NotFound):
        client.jobs.get("job_doesnotexist")
    with pytest.raises(sdk.ValidationFailed) as invalid:
        client.generate("x", num_variations=9)
    assert invalid.value.param == "num_variations" and invalid.value.details
    _, poor_key = stack[0].add_tenant(f"poor-{uuid.uuid4().hex[:6]}", credits=0)
    with pytest.raises(sdk.InsufficientCredits) as poor:
        sdk.Client(base_url=info.api_url, api_key=poor_key).generate("costs credits")
    assert poor.value.code == "insufficient_credits" and "credit" in poor.value.message


def test_server_429_is_a_typed_error_with_retry_after(
    info: StackInfo, stack: tuple[EmbeddedStack, StackInfo]
) -> None:
    _, key = stack[0].add_tenant(f"slow-{uuid.uuid4().hex[:6]}", requests_per_minute=1)
    limited = sdk.Client(base_url=info.api_url, api_key=key, max_retries=0)
    limited.account()
    with pytest.raises(sdk.RateLimited) as caught:
        limited.account()
    assert caught.value.retry_after and caught.value.retry_after > 0


def test_dropped_connection_after_the_charge_is_retried_without_a_second_charge(
    info: StackInfo, stack: tuple[EmbeddedStack, StackInfo]
) -> None:
    # Given a tenant with 10 credits and a connection that drops after the API has queued the job
    _, key = stack[0].add_tenant(f"drop-{uuid.uuid4().hex[:6]}", credits=10)
    with FaultProxy(info.api_url, ["drop"]) as proxy:
        client = sdk.Client(base_url=proxy.url, api_key=key, max_retries=3)
        ref = f"drop-{uuid.uuid4().hex[:6]}"
        # When the SDK generates 2 variations
        job = client.generate("lost reply", num_variations=2, client_reference_id=ref)
    # Then the API saw the same Idempotency-Key twice: it did the work once and replayed it once
    posts = [s for s in proxy.seen if s.method == "POST"]
    assert [(s.step, s.upstream_status) for s in posts] == [("drop", 202), ("pass", 202)]
    assert posts[0].idempotency_key and posts[0].idempotency_key == posts[1].idempotency_key
    direct = sdk.Client(base_url=info.api_url, api_key=key)
    assert [j.id for j in direct.jobs.list(client_reference_id=ref)] == [job.id]
    assert direct.jobs.wait(job.id, timeout=60).credits.charged == 2
    assert direct.account().balance == 8  # charged once


def test_429_is_retried_after_retry_after_with_the_same_key(
    info: StackInfo, stack: tuple[EmbeddedStack, StackInfo]
) -> None:
    _, key = stack[0].add_tenant(f"busy-{uuid.uuid4().hex[:6]}", credits=10)
    with FaultProxy(info.api_url, ["429", "429"], retry_after="1") as proxy:
        client = sdk.Client(base_url=proxy.url, api_key=key, max_retries=3)
        started = time.monotonic()
        job = client.generate("patient")
        elapsed = time.monotonic() - started
    posts = [s for s in proxy.seen if s.method == "POST"]
    assert [s.step for s in posts] == ["429", "429", "pass"]
    assert len({s.idempotency_key for s in posts}) == 1
    assert elapsed >= 2.0  # two Retry-After: 1 honoured
    assert job.credits.reserved == 1
    assert sdk.Client(base_url=info.api_url, api_key=key).account().balance == 9


def test_retries_give_up_with_the_last_error(info: StackInfo) -> None:
    with FaultProxy(info.api_url, ["429"] * 5, retry_after="0") as proxy:
        client = sdk.Client(base_url=proxy.url, api_key=info.api_key, max_retries=2)
        with pytest.raises(sdk.RateLimited):
            client.styles()
    assert len(proxy.seen) == 3  # the first try and two retries


def test_async_client_has_the_same_surface(info: StackInfo, tmp_path: Path) -> None:
    async def scenario() -> tuple[str, list[Path], int, str]:
        async with sdk.AsyncClient(base_url=info.api_url, api_key=info.api_key) as client:
            job = await client.generate("async portrait", num_variations=1, wait=True, timeout=60)
            files = await job.download_all(tmp_path)
            listed = [j.id async for j in client.jobs.list(limit=5)]
            saved = await client.avatars.save(job.id, label="async")
            fetched = await client.avatars.get(saved.id)
            assert job.id in listed
            hooks = await client.webhooks.list()
            assert isinstance(hooks, list)
            return job.status, files, len(await client.styles()), fetched.label

    status, files, styles, label = asyncio.run(scenario())
    assert status == "completed" and styles >= 1 and label == "async"
    assert _decodes(files[0])[0] > 0


def test_download_never_sends_the_api_key_to_the_image_host(client: sdk.Client, tmp_path: Path) -> None:
    job = client.generate("where does my key go", wait=True, timeout=60)
    sent: list[httpx.Request] = []
    client._http.event_hooks["request"] = [sent.append]
    path = job.avatars[0].download(tmp_path / "mine.png")
    assert path == tmp_path / "mine.png" and _decodes(path)
    assert [r.url.host for r in sent] == ["127.0.0.1"] and "authorization" not in sent[0].headers


def test_webhook_endpoints_and_verify_webhook_on_a_real_delivery(client: sdk.Client) -> None:
    # Given an endpoint created with the SDK on a loopback receiver
    receiver = Receiver().start()
    try:
        endpoint = client.webhooks.create(receiver.url, events=["avatar.generation.completed"])
        assert endpoint.secret and endpoint.secret.startswith("whsec_")
        assert endpoint.id in [e.id for e in client.webhooks.list()]
        # When a job completes
        job = client.generate("signed", wait=True, timeout=60)
        delivery = next(r for r in receiver.wait_for(1, timeout=30) if job.id.encode() in r.body)
        # Then its raw body verifies with the endpoint's secret, and a tampered one does not
        payload = sdk.verify_webhook(endpoint.secret, delivery.body, delivery.headers)
        assert payload["type"] == "avatar.generation.completed"
        with pytest.raises(sdk.WebhookVerificationError):
            sdk.verify_webhook(
                endpoint.secret, delivery.body.replace(b"completed", b"failed"), delivery.headers
            )
        assert any(d.job_id == job.id for d in client.webhooks.deliveries(job_id=job.id))
        client.webhooks.delete(endpoint.id)
        with pytest.raises(sdk.NotFound):
            client.webhooks.get(endpoint.id)
    finally:
        receiver.stop()


def test_generate_wait_is_one_call_when_the_job_ends_in_time(info: StackInfo) -> None:
    # Given the SDK talking to the API through a proxy that records every call
    with FaultProxy(info.api_url) as proxy:
        client = sdk.Client(base_url=proxy.url, api_key=info.api_key)
        # When it generates and waits for a job the offline renderer finishes in seconds
        job = client.generate("one call", wait=True, timeout=60)
    # Then the submit itself answered 200 with the finished job (`Prefer: wait`): no read was needed
    assert job.status == "completed" and job.avatars[0].image_url
    assert [(s.method, s.upstream_status) for s in proxy.seen] == [("POST", 200)]


def test_generate_wait_polls_after_a_202(info: StackInfo) -> None:
    with FaultProxy(info.api_url) as proxy:
        client = sdk.Client(base_url=proxy.url, api_key=info.api_key)
        # a job that outlives the whole wait (3 polls x 1 s): the submit is held 2 s, then the job is read
        with pytest.raises(sdk.Timeout):
            client.generate("outlives", model="test-async", wait=True, timeout=3, cancel_on_timeout=True)
    methods = [(s.method, s.upstream_status) for s in proxy.seen]
    assert methods[0] == ("POST", 202) and ("GET", 200) in methods
