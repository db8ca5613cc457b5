"""Honest fallback: a catalog model none of whose own backends is configured (flux, imagen3, reality4 with
no bfl/fal/replicate/bedrock/automatic1111) is served by the offline renderer only visibly - listed as a
fallback with what serves it, priced as the offline model, `provenance.backend` = offline - and a
deployment that sets OfflineFallback=refuse answers 400 model_unavailable instead."""

from __future__ import annotations

import pytest

from tests.conftest import AwsAccount, _reset_caches
from tests.integration.helpers import api_call
from tests.integration.test_backend_adapters import configure, run_job
from tests.integration.test_model_catalog import _models

pytestmark = pytest.mark.statemachine

FALLBACK_MODELS = ("flux", "imagen3", "reality4")


def test_a_model_without_its_backends_is_a_visible_offline_priced_fallback(aws: AwsAccount) -> None:
    # Given: a deployment with no real backend configured
    _, key = aws.add_tenant()
    # When: the catalog is listed
    models = _models(key)
    # Then: the seed ids are listed as fallbacks served by offline, at the offline model's price
    studio = models["avatarsmith-studio"]
    assert (studio["fallback"], studio["served_by"]) == (False, "offline")
    for model_id in FALLBACK_MODELS:
        entry = models[model_id]
        assert entry["fallback"] is True and entry["served_by"] == "offline", entry
        assert entry["credits_per_variation"] == studio["credits_per_variation"] == 1
        assert "offline" in entry["fallback_note"] and "avatarsmith-studio" in entry["fallback_note"]

    # When: a job runs on one of them (list price 5 credits per variation)
    _, final, _ = run_job(aws, {"prompt": "woman with glasses", "model": "reality4", "num_variations": 2})
    # Then: it is reserved and charged at the offline price, and says the offline renderer drew it
    assert final["status"] == "completed", final
    assert final["provenance"]["backend"] == "offline"
    assert final["credits"] == {"reserved": 2, "charged": 2, "refunded": 0}


def test_a_configured_route_is_not_a_fallback(aws: AwsAccount, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given: fal configured (flux and imagen3 have fal routes; reality4 does not)
    configure(aws, monkeypatch, {"fal": "http://127.0.0.1:9"})
    _, key = aws.add_tenant()
    models = _models(key)
    # Then: flux and imagen3 are served by fal at their own price; reality4 stays a fallback
    assert (models["flux"]["fallback"], models["flux"]["served_by"]) == (False, "fal")
    assert models["flux"]["credits_per_variation"] == 2
    assert (models["imagen3"]["served_by"], models["imagen3"]["credits_per_variation"]) == ("fal", 5)
    assert (models["reality4"]["fallback"], models["reality4"]["credits_per_variation"]) == (True, 1)


def test_a_deployment_can_refuse_the_fallback(aws: AwsAccount, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given: OfflineFallback=refuse and no real backend
    monkeypatch.setenv("AVATARSMITH_OFFLINE_FALLBACK", "refuse")
    _reset_caches()
    _, key = aws.add_tenant()
    # Then: the fallbacks are not listed; the offline model itself still is
    models = _models(key)
    assert "avatarsmith-studio" in models
    assert not set(FALLBACK_MODELS) & set(models)
    # And: asking for one is 400 model_unavailable naming the setting, and nothing is reserved
    for model_id in FALLBACK_MODELS:
        status, _, body = api_call("generate_avatar", key, body={"prompt": "x", "model": model_id})
        assert status == 400, body
        assert body["error"]["code"] == "model_unavailable" and body["error"]["param"] == "model"
        assert "refuses the offline fallback" in body["error"]["message"]
    _, _, account = api_call("get_account", key)
    assert account["reserved"] == 0
