"""Coverage-guided fuzzing (atheris/libFuzzer) of request parsing and the ledger behind it.

Input: first byte picks the operation, the rest is the HTTP body. The body goes through the
endpoint's own steps (`awsjson.decode_request`, the client-token rule) into `SecretsLedger.call`
on an in-memory ledger. A LedgerError is a fine answer; anything else, or an
InternalServiceError (the ledger's wrapper for an unexpected exception), is a crash.

    python -m tests.reliability.atheris_target -runs=20000 -timeout=10 CORPUS_DIR
"""
from __future__ import annotations

import logging
import sys

import atheris

with atheris.instrument_imports(include=["tools.awsjson", "ledger"]):
    from ledger.application import SecretsLedger
    from ledger.context import Caller
    from ledger.errors import InternalServiceError, LedgerError
    from tools import awsjson
    from tools.server import check_client_token
from tests.reliability.atheris_seeds import OPERATIONS

LEDGER = SecretsLedger()
CALLER = Caller.system()  # trusted, so inputs reach the operations, not just the policy check


def fuzz_one_input(data: bytes) -> None:
    if not data:
        return
    operation = OPERATIONS[data[0] % len(OPERATIONS)]
    try:
        request = awsjson.decode_request(operation, data[1:])
        check_client_token(operation, request)
        LEDGER.call(operation, request, CALLER)
    except InternalServiceError as error:
        raise AssertionError(f"InternalServiceError from {operation}") from error
    except LedgerError:
        pass


def main() -> None:
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)  # shows where a crash began
    atheris.Setup(sys.argv, fuzz_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
