"""Child process of the crash test: catches the read models up slowly, printing each position.

    python -m tests.projections.crash_worker DATA_DIR

The test SIGKILLs it in the middle of a catch-up; the views must then resume exactly once.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from ledger.application import SecretsLedger
from ledger.config import LedgerConfig
from projections.runner import View, catch_up


class Slow:
    """A view that takes its time, so the kill lands between two of its transactions."""

    def __init__(self, view: View) -> None:
        self.view = view
        self.name, self.topics, self.ddl, self.tables = view.name, view.topics, view.ddl, view.tables

    def process(self, cursor: Any, events: Any, start: int, reached: int) -> None:
        time.sleep(0.001 * len(events))
        self.view.process(cursor, events, start, reached)


def main(data_dir: str) -> None:
    ledger = SecretsLedger(LedgerConfig(data_dir=Path(data_dir)))
    read_models = ledger.read_models
    for view in read_models.views:
        catch_up(ledger.recorder, ledger.mapper, Slow(view), read_models.store, batch=7,
                 progress=lambda position, name=view.name: print(name, position, flush=True))


if __name__ == "__main__":
    main(sys.argv[1])
