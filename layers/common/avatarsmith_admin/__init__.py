"""`avatarsmith-admin`: the operator's command for tenants, API keys, credits and limits."""
