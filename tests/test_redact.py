"""redact: structural masking and value scrubbing of secrets."""

from __future__ import annotations

import logging

import pytest

from rutter_nb.redact import (
    MASK,
    get_logger,
    redact_body,
    redact_headers,
    redact_query,
    redact_url,
    register_basic_auth,
    register_secret,
    scrub,
)


def test_registered_secret_is_scrubbed_from_any_text() -> None:
    register_secret("canary-redact-0001")
    assert scrub("oops canary-redact-0001 leaked") == f"oops {MASK} leaked"


def test_short_values_are_not_registered_so_text_survives() -> None:
    register_secret("ab")
    assert scrub("abc ab") == "abc ab"


def test_basic_auth_header_and_its_base64_are_masked() -> None:
    header = register_basic_auth("client-x", "canary-redact-0002")
    token = header.split()[1]
    assert scrub(f"Authorization: {header}") == f"Authorization: Basic {MASK}"
    assert token not in scrub(f"raw {token}")


def test_unregistered_auth_values_and_access_tokens_in_text_are_masked() -> None:
    text = "Bearer abcdefgh12345 and https://h/x?access_token=zzz999&limit=2"
    out = scrub(text)
    assert "abcdefgh12345" not in out and "zzz999" not in out
    assert "limit=2" in out


def test_redact_headers_keeps_names_and_masks_values() -> None:
    out = redact_headers({"Authorization": "Basic Zm9vOmJhcg==", "X-Rutter-Version": "v"})
    assert out == {"Authorization": MASK, "X-Rutter-Version": "v"}


def test_redact_query_and_url() -> None:
    assert redact_query({"access_token": "t", "limit": 5}) == {"access_token": MASK, "limit": 5}
    url = redact_url("https://u:pw@h.example/versioned/x?access_token=tok123&limit=5")
    assert "tok123" not in url and "pw" not in url
    assert "limit=5" in url and "access_token=***" in url


def test_redact_body_masks_secret_keys_deeply_and_keeps_user_text() -> None:
    body = {"a": [{"client_secret": "s", "memo": "Basic consultation fee"}], "n": 1}
    out = redact_body(body)
    assert out == {"a": [{"client_secret": MASK, "memo": "Basic consultation fee"}], "n": 1}
    assert body["a"][0]["client_secret"] == "s"  # a copy, not in place


def test_logger_is_silent_by_default_and_scrubs(caplog: pytest.LogCaptureFixture) -> None:
    register_secret("canary-redact-0003")
    log = get_logger("rutter_nb.test_redact")
    assert any(isinstance(h, logging.NullHandler) for h in logging.getLogger("rutter_nb").handlers)
    with caplog.at_level(logging.DEBUG, logger="rutter_nb"):
        log.warning("token %s in args", "canary-redact-0003")
    assert caplog.records and "canary-redact-0003" not in caplog.text
    assert MASK in caplog.records[-1].getMessage()
