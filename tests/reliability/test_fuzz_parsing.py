"""Coverage-guided fuzzing (atheris) of the request path behind the HTTP endpoint: JSON
decoding, the client-token rule, model validation and the operations, on an in-memory ledger.
Any exception other than a LedgerError, or an InternalServiceError, fails the run."""
from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.reliability.atheris_seeds import write_seeds
from tests.reliability.crash_checks import PROJECT

pytest.importorskip("atheris")

RUNS, SLOW_SECONDS = 30_000, 600


def _fuzz(tmp_path, *limits: str) -> str:
    corpus = tmp_path / "corpus"
    write_seeds(corpus)
    result = subprocess.run(
        [sys.executable, "-m", "tests.reliability.atheris_target", *limits, "-timeout=10",
         "-max_len=4096", f"-artifact_prefix={tmp_path}/", str(corpus)],
        cwd=PROJECT, capture_output=True, text=True, timeout=SLOW_SECONDS + 300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert not list(tmp_path.glob("crash-*")) and not list(tmp_path.glob("timeout-*"))
    done = re.search(r"Done (\d+) runs", output)
    assert done, output[-2000:]
    print(f"\natheris: {done.group(1)} inputs, no crash")
    return done.group(1)


def test_request_parsing_survives_coverage_guided_fuzzing(tmp_path):
    assert int(_fuzz(tmp_path, f"-runs={RUNS}")) == RUNS


@pytest.mark.slow
def test_request_parsing_survives_ten_minutes_of_fuzzing(tmp_path):
    _fuzz(tmp_path, f"-max_total_time={SLOW_SECONDS}")
