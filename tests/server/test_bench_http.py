"""The HTTP benchmark runs end to end (tiny workload) and prints one row per measurement."""
from __future__ import annotations

from tools.bench_http import main


def test_bench_prints_rates_and_ratios_for_both_servers(capsys):
    assert main(["--calls", "6", "--threads", "1", "2", "--rounds", "1"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[1:]]
    assert [(row[0], row[1]) for row in rows] == [
        ("UpdateSecret", "1"), ("UpdateSecret", "2"), ("GetSecretValue", "1"),
        ("GetSecretValue", "2")]
    assert all(float(row[2]) > 0 and float(row[3]) > 0 and float(row[4]) > 0 for row in rows)
