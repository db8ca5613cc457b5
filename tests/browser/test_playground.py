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


# --- a newcomer's first minutes (issue 26): models, readable names, balance, saved actions, phones -------
REPO = Path(__file__).resolve().parents[2]


def test_before_a_key_the_model_list_says_to_enter_one(page: Any, info: StackInfo) -> None:
    console = Console(page)
    page.goto(info.api_url + "/")
    page.wait_for_selector("#key-status:has-text('paste a key')")
    assert page.locator("#model option").all_inner_texts() == ["enter a key to list models"]
    assert page.locator("#model").is_disabled()
    assert console.problems == []


def test_model_names_are_shown_whole(page: Any, info: StackInfo) -> None:
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 900})
        _open_with_key(page, info)
        page.wait_for_function("() => document.querySelectorAll('#model option').length > 1")
        texts = page.locator("#model option").all_inner_texts()
        assert any(t.startswith("avatarsmith-studio") and "credit" in t for t in texts), texts
        # the widest option's text fits the select's box (the arrow takes ~2.5em)
        fits = page.evaluate(
            """() => {
                const select = document.getElementById('model');
                const ctx = document.createElement('canvas').getContext('2d');
                ctx.font = getComputedStyle(select).font;
                const widest = Math.max(...[...select.options].map(o => ctx.measureText(o.text).width));
                const em = parseFloat(getComputedStyle(select).fontSize);
                return [widest + 2.5 * em, select.clientWidth];
            }"""
        )
        assert fits[0] <= fits[1], (width, fits)


def _balance(info: StackInfo) -> int:
    account = requests.get(
        info.api_url + "/v1/account", headers={"Authorization": f"Bearer {info.api_key}"}, timeout=10
    )
    return int(account.json()["balance"])


def test_the_balance_follows_each_job(page: Any, info: StackInfo) -> None:
    _open_with_key(page, info)
    before = _balance(info)
    assert page.inner_text("#key-status") == f"balance: {before} credits"
    page.get_by_label("Prompt").fill("a balance watcher")
    page.fill("#variations", "2")
    page.get_by_role("button", name="Generate").click()
    page.wait_for_selector("#job-status:has-text('completed')")
    after = _balance(info)
    assert after < before
    page.wait_for_selector(f"#key-status:text-is('balance: {after} credits')")


def test_saved_avatars_can_be_published_unpublished_and_deleted(page: Any, info: StackInfo) -> None:
    headers = {"Authorization": f"Bearer {info.api_key}"}
    job = requests.post(
        info.api_url + "/v1/avatars/generate", json={"prompt": "to share"}, headers=headers, timeout=30
    ).json()
    requests.get(f"{info.api_url}/v1/jobs/{job['id']}", headers={**headers, "Prefer": "wait=30"}, timeout=40)
    label = f"shared-{job['id'][-6:]}"
    saved = requests.post(
        info.api_url + "/v1/avatars/save",
        json={"job_id": job["id"], "label": label},
        headers=headers,
        timeout=30,
    ).json()
    avatar_url = f"{info.api_url}/v1/avatars/{saved['id']}"
    _open_with_key(page, info)
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("tab", name="Saved avatars").click()
    card = page.locator(f"#saved .card[data-avatar='{saved['id']}']")
    card.get_by_role("button", name="Publish").click()
    card.locator(":text-is('published')").wait_for()
    assert requests.get(avatar_url, headers=headers, timeout=10).json()["published"] is True
    card.get_by_role("button", name="Unpublish").click()
    card.locator(":text-is('private')").wait_for()
    assert requests.get(avatar_url, headers=headers, timeout=10).json()["published"] is False
    card.get_by_role("button", name="Delete").click()
    card.wait_for(state="detached")
    assert requests.get(avatar_url, headers=headers, timeout=10).status_code == 404


def test_no_horizontal_scroll_on_a_375px_phone(page: Any, info: StackInfo, tmp_path: Path) -> None:
    page.set_viewport_size({"width": 375, "height": 812})
    _open_with_key(page, info)
    page.get_by_label("Prompt").fill("phone sized")
    page.get_by_role("button", name="Copy as Python").click()
    page.get_by_role("button", name="Generate").click()
    page.wait_for_selector("#job-status:has-text('completed')")
    page.locator("#results .card").first.get_by_role("button", name="Save").click()
    page.wait_for_selector("#results button:has-text('Saved ava_')")
    for tab in ("Generate", "Your jobs", "Saved avatars", "Community"):
        page.get_by_role("tab", name=tab).click()
        page.wait_for_timeout(300)
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 375, (tab, width)
    shots = Path(os.environ.get("AVATARSMITH_SCREENSHOTS") or tmp_path)
    page.get_by_role("tab", name="Saved avatars").click()
    page.wait_for_selector("#saved .card button:has-text('Publish')")
    page.screenshot(path=str(shots / "playground-saved-375.png"), full_page=True)
    page.get_by_role("tab", name="Generate").click()
    page.screenshot(path=str(shots / "playground-375.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(shots / "playground-1280.png"), full_page=True)


def test_copy_as_python_names_an_install_line_that_works_from_this_repository(
    page: Any, info: StackInfo
) -> None:
    _open_with_key(page, info)
    page.get_by_role("button", name="Copy as Python").click()
    snippet = page.inner_text("#snippet")
    line = next(li for li in snippet.splitlines() if "pip install" in li)
    target = line.split("pip install", 1)[1].split()[0]
    assert target == "./clients/python" and "avatarsmith-client" not in snippet
    pyproject = (REPO / target / "pyproject.toml").read_text()
    assert 'name = "avatarsmith-client"' in pyproject  # the project pip builds from that folder
    assert (REPO / target / "avatarsmith_client" / "__init__.py").is_file()
