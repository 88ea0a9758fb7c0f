"""The process pool CPU work runs in: results and errors cross back, a worker that dies
fails only the call it ran. (What runs there must be importable by name: library
functions here, a test module is not.)"""

from __future__ import annotations

import os

import pytest

from landing_templates.coupons.pools import check_pool_file
from richsms import processes
from richsms.errors import InvalidInput

LANE = processes.Lane("test", 1)


def test_work_runs_in_another_process_and_answers() -> None:
    assert processes.run(LANE, divmod, 47, 5) == (9, 2)
    assert processes.run(LANE, os.getpid) != os.getpid()


def test_a_domain_error_is_raised_again_in_the_caller() -> None:
    with pytest.raises(InvalidInput, match="the file holds no codes"):
        processes.run(LANE, check_pool_file, b"code\n")


def test_a_worker_that_dies_fails_its_call_and_the_lane_starts_afresh() -> None:
    with pytest.raises(processes.WorkerLost):
        processes.run(LANE, os.abort)
    assert processes.run(LANE, divmod, 7, 2) == (3, 1)


def test_the_workers_yield_the_cpu_to_the_server() -> None:
    """Worker processes run at a lower CPU priority than the server's process: on a shared
    core, the event loop answering the short links wakes up first."""
    assert processes.run(LANE, os.nice, 0) == min(19, os.nice(0) + processes.NICENESS)
