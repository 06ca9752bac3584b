"""The flow benchmark's measure: a flow run's own duration as Prefect records it."""

from __future__ import annotations

import time

from prefect import flow

from benchmarks.flow_bench import recorded_seconds


@flow(name="eim-test-timed")
def timed_flow(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def test_the_recorded_duration_covers_the_run_and_not_more_than_the_call(prefect_api: str) -> None:
    start = time.perf_counter()
    state = timed_flow(0.3, return_state=True)
    wall = time.perf_counter() - start

    assert 0.3 <= recorded_seconds(state) <= wall
