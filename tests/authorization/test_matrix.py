"""The authorization matrix, cell by cell, through the embedded API (both stores) and through
the HTTP server with boto3. See `tests/authorization/matrix.py` for the table."""
from __future__ import annotations

import pytest

from tests.authorization.matrix import ALLOWED, FORMS, OPERATIONS, PRINCIPALS, run_shape

SHAPES = sorted(ALLOWED)


def test_the_table_covers_every_cell_dimension():
    assert len(SHAPES) >= 15 and len(PRINCIPALS) == 4 and len(OPERATIONS) == 8
    assert FORMS == ("name", "full-arn", "partial-arn")


@pytest.mark.parametrize("shape", SHAPES)
def test_embedded_api_decides_every_cell_as_the_table_says(embedded_driver, shape):
    assert run_shape(embedded_driver, shape) == []


@pytest.mark.parametrize("shape", SHAPES)
def test_http_server_decides_every_cell_as_the_table_says(http_driver, shape):
    assert run_shape(http_driver, shape) == []
