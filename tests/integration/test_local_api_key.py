"""An explicit AVATARSMITH_API_KEY on a state folder made with another key (issue 26, item 2): the key
joins the demo tenant, once; a key of another tenant or a revoked one is refused, never reused."""

from __future__ import annotations

import pytest

from avatarsmith.logic.tenant_admin import AdminError, TenantAdmin
from tests.conftest import AwsAccount


def test_a_new_key_joins_the_tenant_and_other_tenants_keys_are_refused(aws: AwsAccount) -> None:
    admin = TenantAdmin.for_table(aws.env["TABLE_NAME"])
    demo = admin.create_tenant("demo", credits=5, api_key="ask_first_local_key")
    other = admin.create_tenant("other", credits=5)

    added = admin.ensure_key(demo["tenant_id"], "ask_second_local_key")
    again = admin.ensure_key(demo["tenant_id"], "ask_second_local_key")
    assert added["added"] is True and again["added"] is False
    assert len(admin.list_keys(demo["tenant_id"])) == 2
    assert admin.tenants.find_key("ask_second_local_key")["tenant_id"] == demo["tenant_id"]

    with pytest.raises(AdminError, match="another tenant"):
        admin.ensure_key(demo["tenant_id"], other["api_key"])
    admin.revoke_key(demo["tenant_id"], added["key"]["key_id"])
    with pytest.raises(AdminError, match="revoked"):
        admin.ensure_key(demo["tenant_id"], "ask_second_local_key")
