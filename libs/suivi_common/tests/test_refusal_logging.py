"""Logs tell bugs from refusals: a typed 4xx refusal is one INFO line with its code, status
and correlation id, and no traceback; anything else is an ERROR with one."""
from __future__ import annotations

import json
import logging

import pytest

from suivi_common.errors import EXPECTED_ERRORS, Forbidden, Invalid, SuiviError, Unauthorized
from suivi_common.logs import JsonFormatter, is_refusal, log_context, log_refusal


@pytest.mark.parametrize("exc, refusal", [
    (Forbidden(), True), (Unauthorized("Bad callback signature", code="bad_signature"), True),
    (Invalid("bad", fields={"name": "x"}), True), (SuiviError("broken"), False),
    (ValueError("bug"), False), (KeyError("bug"), False),
])
def test_only_typed_4xx_errors_are_refusals(exc: Exception, refusal: bool) -> None:
    assert is_refusal(exc, EXPECTED_ERRORS) is refusal
    assert is_refusal(exc, ()) is False  # an entrypoint that expects nothing


def test_a_refusal_is_one_info_line_with_code_status_and_correlation_id(
        caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("suivi_common.container")
    with caplog.at_level(logging.INFO, logger="suivi_common.container"), \
            log_context(correlation_id="req-42"):
        try:
            raise Unauthorized("Bad callback signature", code="bad_signature")
        except Unauthorized as exc:
            log_refusal(logger, "gateway.card_callback", exc)
        [record] = caplog.records
        line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "INFO" and entry["correlation_id"] == "req-42"
    assert entry["code"] == "bad_signature" and entry["status"] == 401
    assert entry["msg"] == "gateway.card_callback refused: 401 bad_signature: Bad callback signature"
    assert "exc" not in entry and record.exc_info is None
