"""The local stack runs each function like Lambda: from its built artifact and the layer (a dependency
missing from the function's requirements.txt fails here as on AWS), with only its own template
environment (a variable missing from its template entry fails here as on AWS)."""

from __future__ import annotations

import calendar
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from local.stack import EmbeddedStack, StackInfo
from local.template import ROOT

pytestmark = pytest.mark.e2e

JOB = {"prompt": "a lighthouse keeper", "num_variations": 1, "output": {"width": 256, "height": 256}}


def changed_template(tmp_path: Path, *edits: tuple[str, str]) -> Path:
    """template.yaml with `edits` applied and its code paths made absolute (so it can live in tmp)."""
    text = (ROOT / "template.yaml").read_text()
    for old, new in edits:
        assert text.count(old) == 1, f"expected exactly one {old!r} in template.yaml"
        text = text.replace(old, new)
    text = text.replace("CodeUri: functions/", f"CodeUri: {ROOT}/functions/")
    text = text.replace("ContentUri: layers/", f"ContentUri: {ROOT}/layers/")
    path = tmp_path / "template.yaml"
    path.write_text(text)
    return path


@pytest.fixture
def invocations() -> list[tuple[str, str, float, str | None]]:
    return []


def run_stack(template: Path, invocations: list[Any]) -> Iterator[StackInfo]:
    stack = EmbeddedStack(
        api_port=0,
        template_path=template,
        concurrency=2,
        invocation_listeners=[lambda *record: invocations.append(record)],
        extra_env={"AVATARSMITH_TEST_BACKEND_POLL_SECONDS": "0"},
    )
    info = stack.start()
    try:
        yield info
    finally:
        stack.stop()


def session(info: StackInfo) -> requests.Session:
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {info.api_key}"
    return s


def test_a_dependency_missing_from_the_function_requirements_fails_the_job(
    tmp_path: Path, invocations: list[Any]
) -> None:
    # Given a processor whose requirements.txt forgets Pillow (the layer does not ship it either)
    code = tmp_path / "processor"
    shutil.copytree(ROOT / "functions/processor", code, ignore=shutil.ignore_patterns("__pycache__"))
    (code / "requirements.txt").write_text("# nothing\n")
    template = changed_template(tmp_path, ("CodeUri: functions/processor/", f"CodeUri: {code}/"))
    for info in run_stack(template, invocations):
        # When a job is generated
        s = session(info)
        job = s.post(f"{info.api_url}/v1/avatars/generate", json=JOB, timeout=30).json()
        job = s.get(
            f"{info.api_url}/v1/jobs/{job['id']}",
            params={"wait_for_completion": "true", "timeout_seconds": "30"},
            timeout=40,
        ).json()
        # Then rendering fails on the missing module, as it would on AWS, and the workflow fails the job
        assert job["status"] == "failed", job
        errors = {(name, error) for name, _, _, error in invocations if error}
        assert ("ProcessorFunction", "ModuleNotFoundError") in errors, invocations


def test_a_variable_missing_from_the_function_template_entry_fails_its_requests(
    tmp_path: Path, invocations: list[Any]
) -> None:
    # Given an api function whose template entry lacks WEBHOOK_QUEUE_URL (the notifier still declares it)
    template = changed_template(
        tmp_path, ("          WEBHOOK_QUEUE_URL: !Ref WebhookDeliveryQueue # test pings and replays\n", "")
    )
    for info in run_stack(template, invocations):
        # When a client submits a job
        response = session(info).post(f"{info.api_url}/v1/avatars/generate", json=JOB, timeout=30)
        # Then the api fails: its environment is its own, not every function's merged
        assert response.status_code >= 500, response.text
        assert not any(name != "ApiFunction" for name, *_ in invocations), invocations


def test_each_function_sees_only_its_own_environment() -> None:
    """Under the unchanged template the api's presigned URLs live 1 h and the notifier's 24 h."""
    invocations: list[Any] = []
    for info in run_stack(ROOT / "template.yaml", invocations):
        s = session(info)
        job = s.post(f"{info.api_url}/v1/avatars/generate", json=JOB, timeout=30).json()
        deadline = time.monotonic() + 40
        while job["status"] not in ("completed", "failed") and time.monotonic() < deadline:
            job = s.get(
                f"{info.api_url}/v1/jobs/{job['id']}",
                params={"wait_for_completion": "true", "timeout_seconds": "10"},
                timeout=20,
            ).json()
        assert job["status"] == "completed", job
        expiries = [  # SigV4 links: signed at X-Amz-Date, valid for X-Amz-Expires seconds
            calendar.timegm(time.strptime(signed, "%Y%m%dT%H%M%SZ")) + int(lasts)
            for signed, lasts in re.findall(r"X-Amz-Date=(\w+)&X-Amz-Expires=(\d+)", str(job))
        ]
        assert expiries, job
        assert all(abs(e - time.time() - 3600) < 120 for e in expiries), (expiries, time.time())
        assert {name for name, *_ in invocations} >= {
            "ApiFunction",
            "DispatcherFunction",
            "ProcessorFunction",
        }
        assert all(duration >= 0 for _, _, duration, _ in invocations)


def _first_reaper_run(template: Path, state_dir: Path) -> tuple[str, str, float, str | None]:
    """Start a stack on a state folder (its first reaper sweep runs at once) and return that run."""
    invocations: list[Any] = []
    stack = EmbeddedStack(
        api_port=0,
        template_path=template,
        concurrency=1,
        state_dir=state_dir,
        watch_events=False,
        invocation_listeners=[lambda *record: invocations.append(record)],
    )
    stack.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            runs = [record for record in invocations if record[0] == "ReaperFunction"]
            if runs:
                return runs[0]
            time.sleep(0.2)
        raise AssertionError(f"the reaper never ran: {invocations}")
    finally:
        stack.stop()


def test_the_scheduled_reaper_runs_in_its_worker_pool_with_its_template_environment(tmp_path: Path) -> None:
    # Given the unchanged template, when a stack starts on a state folder (an immediate first sweep)
    name, _, duration, error = _first_reaper_run(ROOT / "template.yaml", tmp_path / "state")
    # Then the schedule invoked the reaper through its worker pool (only pools report invocations)
    assert (name, error) == ("ReaperFunction", None)
    assert duration >= 0


def test_a_variable_missing_from_the_reaper_template_entry_fails_its_sweeps(tmp_path: Path) -> None:
    # Given a reaper whose template entry lacks EVENT_BUS_NAME (other functions still declare it)
    template = changed_template(
        tmp_path,
        (
            "          EVENT_BUS_NAME: !Ref AvatarEventBus"
            ' # publishes "Avatar Job Failed" for the jobs it fails\n',
            "",
        ),
    )
    # When the stack's first sweep runs, then it fails on its settings, as it would on AWS
    _, _, _, error = _first_reaper_run(template, tmp_path / "state")
    assert error == "ValidationError"
