"""How many threads the local models use."""

from __future__ import annotations

import os

import pytest

from chorus.compute import cpu_threads


@pytest.mark.parametrize(("setting", "threads"), [("1", 1), ("3", 3), (None, os.cpu_count()), ("", os.cpu_count()), ("many", os.cpu_count()), ("0", os.cpu_count())])
def test_omp_num_threads_sets_the_threads_where_it_is_a_count(setting, threads, monkeypatch):
    if setting is None:
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    else:
        monkeypatch.setenv("OMP_NUM_THREADS", setting)
    assert cpu_threads() == threads
