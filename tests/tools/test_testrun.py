"""`make test` runs its shards side by side: together they must cover the suite, and the one
summary line must add up what each shard's pytest said (CI shows only that line)."""
from __future__ import annotations

import configparser
from pathlib import Path

from tools import testrun

ROOT = Path(__file__).resolve().parents[2]


def test_the_shards_cover_every_testpath_exactly_once() -> None:
    ini = configparser.ConfigParser()
    ini.read(ROOT / "pytest.ini")
    testpaths = set(ini["pytest"]["testpaths"].split())
    sharded = [p for shard in testrun.SHARDS for p in shard]
    assert len(sharded) == len(set(sharded))
    for path in testpaths:
        under = [p for p in sharded if p == path or p.startswith(path + "/")]
        assert under, f"{path} is in no shard"
        if path not in sharded:  # split by folder: every test folder under it is taken
            children = {c.relative_to(ROOT).as_posix() for c in (ROOT / path).iterdir()
                        if c.is_dir() and any(c.rglob("test_*.py"))}
            assert children <= set(under), f"{sorted(children - set(under))} in no shard"
    assert all(any(p == t or p.startswith(t + "/") for t in testpaths) for p in sharded)


def test_counts_are_read_from_the_last_summary_line_only() -> None:
    log = "\n".join([
        "....F..",
        "FAILED services/x/test_a.py::test_b - assert 1 == 2",
        "1 passed in 0.01s",  # an inner pytest a test ran, printed earlier
        "2 failed, 2295 passed, 3 skipped, 1 error in 927.94s (0:15:27)",
    ])
    assert testrun.summary_counts(log) == {"failed": 2, "passed": 2295, "skipped": 3,
                                           "errors": 1}
    assert testrun.summary_counts("==== 12 passed, 2 warnings in 3.00s ====") == {
        "passed": 12, "warnings": 2}


def test_a_shard_that_died_without_a_summary_counts_nothing() -> None:
    assert testrun.summary_counts("....\nKilled\n") == {}


def test_the_combined_line_is_what_ci_greps_for() -> None:
    line = testrun.combined_line(testrun.summary_counts("1 failed, 10 passed in 1s")
                                 + testrun.summary_counts("5 passed in 2s"), 605.5)
    assert line == "===== 1 failed, 15 passed in 605.50s (0:10:05) ====="
    assert testrun.combined_line(testrun.summary_counts(""), 1.0).startswith(
        "===== no tests ran")
