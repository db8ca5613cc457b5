"""Saved avatars: rename, delete (with their kept image copies), publish to and unpublish from the
community gallery, which any tenant may browse without learning who published what."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.conftest import AwsAccount
from tests.integration.helpers import api_call, dispatch_queued_messages, execution_arn, wait_for_execution


def _completed_job(aws: AwsAccount, key: str, **extra: Any) -> dict[str, Any]:
    body = {"prompt": "a secret prompt", "style": "anime", "metadata": {"crm": "42"}, **extra}
    status, _, job = api_call("generate_avatar", key, body=body)
    assert status == 202, job
    dispatch_queued_messages(aws.client("sqs"), aws.env["GENERATION_QUEUE_URL"])
    arn = execution_arn(aws.env, job["id"])
    assert wait_for_execution(aws.client("stepfunctions"), arn)["status"] == "SUCCEEDED"
    _, _, final = api_call("get_job", key, path_params={"job_id": job["id"]})
    return final


def _saved(aws: AwsAccount, key: str, label: str = "first") -> dict[str, Any]:
    job = _completed_job(aws, key)
    status, _, avatar = api_call("save_avatar", key, body={"job_id": job["id"], "label": label})
    assert status == 201, avatar
    return avatar


def _keys(aws: AwsAccount, prefix: str) -> set[str]:
    s3 = aws.client("s3")
    listed = s3.list_objects_v2(Bucket=aws.env["IMAGES_BUCKET_NAME"], Prefix=prefix)
    return {o["Key"] for o in listed.get("Contents", [])}


def test_a_saved_avatar_keeps_its_own_copy_outside_the_retention_prefix(aws: AwsAccount) -> None:
    # Given a saved avatar
    tenant_id, key = aws.add_tenant()
    avatar = _saved(aws, key)
    # Then its image is a copy under kept/, which the lifecycle rule does not expire (its thumbnail is
    # rendered from that copy on request)
    kept = _keys(aws, f"kept/tenants/{tenant_id}/avatars/{avatar['id']}/")
    assert [k.rsplit("/", 1)[1] for k in kept] == ["image.png"]
    from local.template import load_template

    bucket = load_template()["Resources"]["ImagesBucket"]["Properties"]
    expiring = [r for r in bucket["LifecycleConfiguration"]["Rules"] if "ExpirationInDays" in r]
    assert expiring and all(r["Prefix"] == "tenants/" for r in expiring)
    # and when the job's own images expire, the saved avatar still downloads
    aws.client("s3").delete_objects(
        Bucket=aws.env["IMAGES_BUCKET_NAME"],
        Delete={"Objects": [{"Key": k} for k in _keys(aws, f"tenants/{tenant_id}/jobs/")]},
    )
    _, _, fresh = api_call("get_avatar", key, path_params={"avatar_id": avatar["id"]})
    assert requests.get(fresh["image_url"], timeout=10).status_code == 200


def test_saving_a_job_whose_images_expired_is_a_conflict_not_an_outage(aws: AwsAccount) -> None:
    # Given a completed job whose images the retention rule has expired
    tenant_id, key = aws.add_tenant()
    job = _completed_job(aws, key)
    aws.client("s3").delete_objects(
        Bucket=aws.env["IMAGES_BUCKET_NAME"],
        Delete={"Objects": [{"Key": k} for k in _keys(aws, f"tenants/{tenant_id}/jobs/")]},
    )
    # When it is saved, the caller learns the image is gone (not a retryable 503), and nothing is saved
    status, _, body = api_call("save_avatar", key, body={"job_id": job["id"]})
    assert (status, body["error"]["code"]) == (409, "image_gone"), body
    _, _, listed = api_call("list_avatars", key, query={})
    assert listed["data"] == []


def test_rename_and_delete_a_saved_avatar(aws: AwsAccount) -> None:
    tenant_id, key = aws.add_tenant()
    avatar = _saved(aws, key)
    # When it is renamed
    status, _, renamed = api_call(
        "update_avatar", key, path_params={"avatar_id": avatar["id"]}, body={"label": "Team photo"}
    )
    # Then the new label shows on every read
    assert (status, renamed["label"]) == (200, "Team photo")
    _, _, read = api_call("get_avatar", key, path_params={"avatar_id": avatar["id"]})
    assert read["label"] == "Team photo" and read["updated_at"] >= read["created_at"]
    # When it is deleted
    status, _, deleted = api_call("delete_avatar", key, path_params={"avatar_id": avatar["id"]})
    assert (status, deleted["deleted"]) == (200, True)
    # Then it is gone, its kept copies too, and deleting again is 404
    status, _, _ = api_call("get_avatar", key, path_params={"avatar_id": avatar["id"]})
    assert status == 404
    assert _keys(aws, f"kept/tenants/{tenant_id}/avatars/{avatar['id']}/") == set()
    status, _, again = api_call("delete_avatar", key, path_params={"avatar_id": avatar["id"]})
    assert (status, again["error"]["code"]) == (404, "not_found")


def test_rename_refuses_unknown_fields_and_long_labels(aws: AwsAccount) -> None:
    _, key = aws.add_tenant()
    avatar = _saved(aws, key)
    for body in ({"label": "x" * 201}, {"name": "x"}, {}):
        status, _, answer = api_call("update_avatar", key, path_params={"avatar_id": avatar["id"]}, body=body)
        assert (status, answer["error"]["code"]) == (422, "validation_error")


def test_another_tenant_cannot_rename_delete_or_publish(aws: AwsAccount) -> None:
    _, key_a = aws.add_tenant("a")
    _, key_b = aws.add_tenant("b")
    avatar = _saved(aws, key_a)
    params = {"avatar_id": avatar["id"]}
    assert api_call("update_avatar", key_b, path_params=params, body={"label": "mine"})[0] == 404
    assert api_call("delete_avatar", key_b, path_params=params)[0] == 404
    assert api_call("publish_avatar", key_b, path_params=params)[0] == 404
    assert api_call("unpublish_avatar", key_b, path_params=params)[0] == 404
    _, _, still = api_call("get_avatar", key_a, path_params=params)
    assert still["label"] == "first" and still["published"] is False


def test_publish_list_and_unpublish_across_two_tenants(aws: AwsAccount) -> None:
    # Given tenant A publishes two avatars
    tenant_a, key_a = aws.add_tenant("a")
    _, key_b = aws.add_tenant("b")
    first = _saved(aws, key_a, "first")
    second = _saved(aws, key_a, "second")
    for avatar in (first, second):
        status, _, published = api_call("publish_avatar", key_a, path_params={"avatar_id": avatar["id"]})
        assert (
            status == 200 and published["published"] is True and published["community_id"].startswith("pub_")
        )
    second_entry = published["community_id"]
    # When tenant B browses the gallery
    status, _, gallery = api_call("list_community", key_b, query={"limit": "1"})
    # Then it sees the newest first, one page at a time, with image URLs that download
    assert status == 200 and gallery["has_more"] is True
    assert [e["label"] for e in gallery["data"]] == ["second"]
    _, _, page2 = api_call("list_community", key_b, query={"limit": "1", "cursor": gallery["next_cursor"]})
    assert [e["label"] for e in page2["data"]] == ["first"] and page2["has_more"] is False
    entry = gallery["data"][0]
    assert requests.get(entry["image_url"], timeout=10).status_code == 200
    assert entry["style"] == "anime" and entry["created_at"]
    # and nothing that identifies tenant A or its request
    text = str(gallery) + str(page2)
    for secret in (tenant_a, "a secret prompt", "crm", second["job_id"], second["id"]):
        assert secret not in text
    # When A unpublishes one, the gallery no longer shows it; publishing again is a no-op
    status, _, unpublished = api_call("unpublish_avatar", key_a, path_params={"avatar_id": second["id"]})
    assert status == 200 and unpublished["published"] is False
    assert _keys(aws, f"kept/community/{second_entry}/") == set()  # its gallery copy is gone
    _, _, after = api_call("list_community", key_b, query={})
    assert [e["label"] for e in after["data"]] == ["first"]
    _, _, twice = api_call("publish_avatar", key_a, path_params={"avatar_id": first["id"]})
    _, _, still = api_call("list_community", key_b, query={})
    assert len(still["data"]) == 1 and twice["community_id"] == still["data"][0]["id"]


def test_renaming_or_deleting_a_published_avatar_updates_the_gallery(aws: AwsAccount) -> None:
    _, key = aws.add_tenant()
    avatar = _saved(aws, key)
    api_call("publish_avatar", key, path_params={"avatar_id": avatar["id"]})
    api_call("update_avatar", key, path_params={"avatar_id": avatar["id"]}, body={"label": "renamed"})
    _, _, gallery = api_call("list_community", key, query={})
    assert [e["label"] for e in gallery["data"]] == ["renamed"]
    api_call("delete_avatar", key, path_params={"avatar_id": avatar["id"]})
    _, _, empty = api_call("list_community", key, query={})
    assert empty["data"] == [] and _keys(aws, "kept/") == set()


def test_the_gallery_needs_a_valid_key_and_a_valid_cursor(aws: AwsAccount) -> None:
    _, key = aws.add_tenant()
    assert api_call("list_community", None, query={})[0] == 401
    status, _, answer = api_call("list_community", key, query={"cursor": "garbage"})
    assert (status, answer["error"]["code"]) == (400, "invalid_request")


def test_the_operator_takes_an_entry_down(aws: AwsAccount, capsys: pytest.CaptureFixture[str]) -> None:
    from avatarsmith_admin.cli import main

    _, key = aws.add_tenant()
    avatar = _saved(aws, key)
    _, _, published = api_call("publish_avatar", key, path_params={"avatar_id": avatar["id"]})
    # When the operator takes the entry down with avatarsmith-admin
    entry = published["community_id"]
    bucket = ["--bucket", aws.env["IMAGES_BUCKET_NAME"]]
    assert _keys(aws, f"kept/community/{entry}/")
    assert main(["--table", aws.env["TABLE_NAME"], "--json", "takedown", entry, *bucket]) == 0
    assert entry in capsys.readouterr().out
    assert _keys(aws, f"kept/community/{entry}/") == set()
    # Then the gallery no longer lists it and the owner sees the avatar unpublished
    _, _, gallery = api_call("list_community", key, query={})
    assert gallery["data"] == []
    _, _, read = api_call("get_avatar", key, path_params={"avatar_id": avatar["id"]})
    assert read["published"] is False
    # and an unknown entry is a clear error
    assert main(["--table", aws.env["TABLE_NAME"], "--json", "takedown", "pub_" + "0" * 26, *bucket]) == 2


def test_an_avatar_saved_without_a_label_reads_back_and_can_be_labelled(aws: AwsAccount) -> None:
    # Given an avatar saved without a label (the stored item has no label attribute)
    _, key = aws.add_tenant()
    job = _completed_job(aws, key)
    status, _, avatar = api_call("save_avatar", key, body={"job_id": job["id"]})
    assert status == 201 and avatar["label"] is None
    # Then it reads back, lists and publishes
    status, _, read = api_call("get_avatar", key, path_params={"avatar_id": avatar["id"]})
    assert (status, read["label"]) == (200, None)
    assert api_call("list_avatars", key, query={})[0] == 200
    assert api_call("publish_avatar", key, path_params={"avatar_id": avatar["id"]})[0] == 200
