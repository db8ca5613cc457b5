"""The playground page in headless Chromium against the local stack: it loads with no console error under
its strict Content-Security-Policy, a generation shows decoded images, a saved avatar appears in its tab,
the key stays in sessionStorage, and "copy as curl" / "copy as Python" reproduce the exact request."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from local.stack import StackInfo

pytestmark = pytest.mark.e2e


class Console:
    def __init__(self, page: Any):
        self.problems: list[str] = []
        page.on("console", lambda msg: msg.type == "error" and self.problems.append(msg.text))
        page.on("pageerror", lambda exc: self.problems.append(str(exc)))


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        yield page
    finally:
        context.close()


def _open_with_key(page: Any, info: StackInfo) -> Console:
    console = Console(page)
    page.goto(info.api_url + "/")
    page.get_by_label("API key").fill(info.api_key)
    page.wait_for_selector("#key-status:has-text('balance')")
    return console


def _images_decoded(page: Any, selector: str) -> list[int]:
    return list(page.eval_on_selector_all(selector, "imgs => imgs.map(i => i.complete ? i.naturalWidth : 0)"))


def test_page_is_served_without_auth_under_a_strict_csp(info: StackInfo) -> None:
    response = requests.get(info.api_url + "/", timeout=10)
    assert response.status_code == 200 and "text/html" in response.headers["Content-Type"]
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "connect-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "<script>" not in response.text and " style=" not in response.text  # no inline code
    assert 'src="http' not in response.text and 'href="http' not in response.text  # no external asset
    assert requests.get(info.api_url + "/playground/nope.js", timeout=10).status_code == 404


def test_page_loads_with_no_console_error_and_style_previews(page: Any, info: StackInfo) -> None:
    console = _open_with_key(page, info)
    page.wait_for_selector("#styles [data-style='professional'] img")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#styles img')].every(i => i.complete && i.naturalWidth > 0)"
    )
    assert page.locator("#styles [role=radio]").count() == 11  # "Automatic" + the ten presets
    assert page.locator("#model option").count() >= 1
    assert console.problems == []


def test_generate_shows_images_and_a_saved_avatar_appears_in_its_tab(page: Any, info: StackInfo) -> None:
    console = _open_with_key(page, info)
    # Given a prompt, a style and two variations
    page.get_by_label("Prompt").fill("smiling woman with red hair and glasses")
    page.click("#styles [data-style='anime']")
    page.fill("#variations", "2")
    # When pressing Generate
    page.get_by_role("button", name="Generate").click()
    # Then the job completes and both images are shown, decoded
    page.wait_for_selector("#job-status:has-text('completed')")
    page.wait_for_function("() => document.querySelectorAll('#results img').length === 2")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#results img')].every(i => i.complete && i.naturalWidth > 0)"
    )
    assert all(width == 1024 for width in _images_decoded(page, "#results img"))
    assert page.locator("#results a:has-text('Download')").count() == 2
    job_id = page.inner_text("#job-status").split(":")[0]
    # When saving the second variation under a label
    card = page.locator("#results .card").nth(1)
    card.get_by_label("Label").fill("playground keeper")
    card.get_by_role("button", name="Save").click()
    page.wait_for_selector("#results button:has-text('Saved ava_')")
    # Then it appears in the "Saved avatars" tab, and the job in "Your jobs"
    page.get_by_role("tab", name="Saved avatars").click()
    page.wait_for_selector("#saved .card:has-text('playground keeper') img")
    page.get_by_role("tab", name="Your jobs").click()
    page.wait_for_selector(f"#jobs li[data-job='{job_id}']")
    assert console.problems == []


def test_the_key_lives_in_session_storage_only(page: Any, info: StackInfo) -> None:
    _open_with_key(page, info)
    stored = page.evaluate("() => [sessionStorage.getItem('avatarsmith.apiKey'), localStorage.length]")
    assert stored == [info.api_key, 0]
    assert page.context.cookies() == []
    page.reload()
    assert page.get_by_label("API key").input_value() == info.api_key  # same tab keeps it


def test_community_tab_says_so_when_the_server_has_no_gallery(page: Any, info: StackInfo) -> None:
    _open_with_key(page, info)
    page.get_by_role("tab", name="Community").click()
    community = requests.get(
        info.api_url + "/v1/community", headers={"Authorization": f"Bearer {info.api_key}"}, timeout=10
    )
    if community.status_code == 404:
        page.wait_for_selector("#community :text('not available on this server')")
    else:
        assert community.status_code == 200
        page.wait_for_selector("#community .card, #community p")


def test_copy_as_curl_and_python_send_the_same_request(page: Any, info: StackInfo, tmp_path: Path) -> None:
    _open_with_key(page, info)
    page.get_by_label("Prompt").fill("a pirate's portrait")  # a quote the shell must survive
    page.click("#styles [data-style='noir']")
    page.fill("#seed", "1234")
    page.get_by_role("button", name="Copy as curl").click()
    curl = page.inner_text("#snippet")
    env = {**os.environ, "AVATARSMITH_API_KEY": info.api_key, "AVATARSMITH_BASE_URL": ""}
    sent = subprocess.run(  # noqa: S603 - the page's own snippet, run by bash as a user would
        ["bash", "-c", curl],  # noqa: S607
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    job = json.loads(sent.stdout)
    assert job["object"] == "job"
    assert job["request"]["prompt"] == "a pirate's portrait"
    assert job["request"]["style"] == "noir" and job["request"]["seed"] == 1234

    page.get_by_role("button", name="Copy as Python").click()
    script = tmp_path / "snippet.py"
    script.write_text(page.inner_text("#snippet"))
    ran = subprocess.run(  # noqa: S603 - the page's own snippet, run as a user would
        [sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path
    )
    assert ran.returncode == 0, ran.stderr
    written = sorted(p.name for p in tmp_path.glob("job_*.png"))
    assert len(written) == 1, ran.stdout
