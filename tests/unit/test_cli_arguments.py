"""Out-of-range CLI arguments (times past the calendar, durations, numbers no store holds) are
usage errors: exit 2 with one error line, never a traceback."""
from __future__ import annotations

import pytest

from tools.cli import main


@pytest.mark.parametrize("argv, message", [
    (["verify", "--max-age", "1000000000d"], "argument --max-age: '1000000000d' is too long"),
    (["verify", "--max-age", "99999999999999999999s"], "is too long a duration"),
    (["verify", "--from", "inf"], "argument --from: 'inf' is not a time"),
    (["verify", "--from", "nan"], "argument --from: 'nan' is not a time"),
    (["verify", "--from", "1e300"], "argument --from: '1e300' is not a time"),
    (["verify", "--to", "0001-01-01T00:00:00+14:00"], "not a time in years 1-9999 UTC"),
    (["audit", "export", "--end-time", "9999-12-31T23:59:59-14:00"], "years 1-9999 UTC"),
    (["audit", "lookup", "--start-time", "0001-01-01T00:00:00+14:00"], "years 1-9999 UTC"),
    (["report", "--from", "0001-01-01T00:00:00+01:00"], "years 1-9999 UTC"),
    (["inspect", "--position", "99999999999999999999"], "argument --position: not a whole"),
    (["serve", "--port", "99999"], "argument --port: not a whole number from 0 to 65535"),
    (["serve", "--header-timeout", "inf"], "argument --header-timeout: not a number"),
    (["serve", "--purge-interval", "nan"], "argument --purge-interval: not a number"),
    (["serve", "--body-timeout", "inf"], "argument --body-timeout: not a number"),
])
def test_an_out_of_range_argument_is_a_one_line_usage_error(tmp_path, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--data-dir", str(tmp_path / "data")])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "Traceback" not in err
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1 and message in errors[0], err
    assert not (tmp_path / "data").exists()
