"""Fixtures of the ledger-core tests."""
from __future__ import annotations

import pytest

from ledger.context import Caller


@pytest.fixture
def other_caller() -> Caller:
    return Caller(arn="arn:aws:iam::123456789012:role/rotator", access_key_id="ASIAROTATOR0000002",
                  principal_type="AssumedRole", principal_id="AROAROTATOR")
