"""`make run` hands its local settings to every function's worker environment, and nothing else of its own."""

from __future__ import annotations

from local.__main__ import local_settings


def test_make_run_passes_the_test_async_pace_and_log_level_to_the_functions() -> None:
    environ = {
        "LOG_LEVEL": "DEBUG",
        "POWERTOOLS_LOG_LEVEL": "DEBUG",
        "AVATARSMITH_TEST_BACKEND_POLLS": "6",
        "AVATARSMITH_TEST_BACKEND_POLL_SECONDS": "1",
        "HOME": "/root",
        "AWS_SECRET_ACCESS_KEY": "not-for-functions",
    }
    assert local_settings(environ) == {
        "AVATARSMITH_ALLOW_LOOPBACK_URLS": "0",
        "LOG_LEVEL": "DEBUG",
        "POWERTOOLS_LOG_LEVEL": "DEBUG",
        "AVATARSMITH_TEST_BACKEND_POLLS": "6",
        "AVATARSMITH_TEST_BACKEND_POLL_SECONDS": "1",
    }
