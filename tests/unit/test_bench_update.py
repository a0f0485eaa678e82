"""The write benchmark runs end to end and reports what its README figures are made of."""
from __future__ import annotations

import re

from ledger.sqlite_pool import StatementCachingPool
from tools import bench_update


def test_the_write_benchmark_reports_rates_costs_and_wal_pages(capsys):
    bench_update.main(["--calls", "40", "--rounds", "1"])
    out = capsys.readouterr().out
    assert re.search(r"ratio ledger / bare\s+:\s+\d+\.\d\d", out)
    assert re.search(r"per call, fsync off\s+: bare \d+ us, ledger \d+ us", out)
    bare, ledger = map(float, re.search(r"WAL pages per commit\s+: bare ([\d.]+), "
                                        r"ledger ([\d.]+)", out).groups())
    assert 1 <= bare < ledger  # four events, their chain rows, a key row and an audit record
    assert "v" * 64 not in out  # the benchmark's value is never printed


def test_fsync_is_back_on_after_the_fsync_off_block(tmp_path):
    pool = StatementCachingPool(db_name=str(tmp_path / "x.db"))
    with bench_update.fsync_off():
        inside = pool._create_connection()
    after = pool._create_connection()
    try:
        assert inside._sqlite_conn.execute("PRAGMA synchronous").fetchone()[0] == 0  # OFF
        assert after._sqlite_conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    finally:
        inside.close()
        after.close()
