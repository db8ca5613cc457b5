"""Prompt optimisation by the model a request names (302.AI's `model`): an OpenAI-compatible chat
endpoint (a fake on loopback) or Bedrock Converse (botocore's Stubber), recorded in provenance; the
deterministic composer, saying so, when no configured backend serves the name or the model fails."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import AwsAccount
from tests.fakes.server import FakeProvider, Reply, Request, json_reply, serve
from tests.integration.test_backend_adapters import configure, run_job


class ChatFake(FakeProvider):
    """An OpenAI-compatible `POST /v1/chat/completions` that answers with a fixed rewrite."""

    answer = "studio portrait of a smiling astronaut, soft key light, shallow depth of field"

    def route(self, req: Request) -> str:
        return "chat" if req.path == "/v1/chat/completions" else "other"

    def serve(self, label: str, req: Request) -> Reply:
        if label != "chat":
            return json_reply(404, {"error": {"message": "not found"}})
        return json_reply(200, {"choices": [{"message": {"role": "assistant", "content": self.answer}}]})


def test_a_named_chat_model_rewrites_the_prompt(aws: AwsAccount, monkeypatch: pytest.MonkeyPatch) -> None:
    from avatarsmith.logic import prompt_optimizer

    with serve(ChatFake()) as fake:
        configure(aws, monkeypatch, {})
        monkeypatch.setenv(prompt_optimizer.CHAT_URL_ENV, fake.url)
        execution, job, _ = run_job(aws, {"prompt": "astronaut", "model": "gpt-4o-mini"})
        assert execution["status"] == "SUCCEEDED", job
        sent: dict[str, Any] = fake.requests[0].json()
    assert sent["model"] == "gpt-4o-mini"
    assert "astronaut" in sent["messages"][-1]["content"]
    assert job["provenance"]["final_prompt"] == ChatFake.answer
    assert (
        "prompt rewritten by gpt-4o-mini (an OpenAI-compatible chat endpoint)"
        in job["provenance"]["adjustments"]
    )


def test_a_failing_chat_model_leaves_the_composer_s_prompt(
    aws: AwsAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    from avatarsmith.logic import prompt_optimizer

    with serve(ChatFake()) as fake:
        fake.fail("chat", 500, {"error": {"message": "boom"}})
        configure(aws, monkeypatch, {})
        monkeypatch.setenv(prompt_optimizer.CHAT_URL_ENV, fake.url)
        execution, job, _ = run_job(aws, {"prompt": "astronaut", "model": "gpt-4o-mini"})
    assert execution["status"] == "SUCCEEDED", job
    assert job["provenance"]["final_prompt"].startswith("avatar portrait of a person, astronaut")
    assert any(n.startswith("prompt optimiser gpt-4o-mini failed") for n in job["provenance"]["adjustments"])


def test_a_named_bedrock_model_is_called_through_converse(
    aws: AwsAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.stub import Stubber

    from avatarsmith.logic import prompt_optimizer

    model_id = "anthropic.claude-3-haiku-20240307-v1:0"
    client = aws.session.client("bedrock-runtime", region_name="us-east-1")
    stubber = Stubber(client)
    stubber.add_response(
        "converse",
        {
            "output": {
                "message": {"role": "assistant", "content": [{"text": "noir portrait of a detective"}]}
            },
            "stopReason": "end_turn",
            "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2},
            "metrics": {"latencyMs": 1},
        },
        expected_params={
            "modelId": model_id,
            "system": [{"text": prompt_optimizer.INSTRUCTIONS}],
            "messages": [{"role": "user", "content": [{"text": "avatar portrait of a person, detective"}]}],
            "inferenceConfig": {"maxTokens": 400, "temperature": 0.2},
        },
    )
    stubber.activate()
    monkeypatch.setattr(prompt_optimizer, "make_client", lambda: client)
    configure(aws, monkeypatch, {"bedrock": ""})
    execution, job, _ = run_job(aws, {"prompt": "detective", "model": model_id})
    assert execution["status"] == "SUCCEEDED", job
    stubber.assert_no_pending_responses()
    assert job["provenance"]["final_prompt"] == "noir portrait of a detective"
    assert f"prompt rewritten by {model_id} (Bedrock Converse)" in job["provenance"]["adjustments"]


def test_without_a_backend_for_the_named_model_the_composer_writes_and_says_so(
    aws: AwsAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(aws, monkeypatch, {})
    execution, job, _ = run_job(aws, {"prompt": "astronaut", "model": "gpt-4o-mini"})
    assert execution["status"] == "SUCCEEDED", job
    assert job["provenance"]["final_prompt"] == "avatar portrait of a person, astronaut"
    notes = job["provenance"]["adjustments"]
    assert any("gpt-4o-mini is not served" in n and "deterministic composer" in n for n in notes)
