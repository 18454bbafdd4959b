"""How much of this machine the local models (speech, speaker, sentence embeddings) may use."""

from __future__ import annotations

import os


def cpu_threads() -> int:
    """CPU threads each model may use: a Dask worker's share of the machine on a worker, else ``OMP_NUM_THREADS``
    where it is set (the setting these libraries share), else every core.

    Processes sharing the cores that each run as many threads as there are cores fight
    over them: three processes transcribing the test exchange at once on two cores took
    40 s each with two threads apiece, 27 s with one.
    """
    try:
        from distributed import get_worker

        return max(1, get_worker().state.nthreads)
    except (ImportError, ValueError):
        pass
    setting = os.environ.get("OMP_NUM_THREADS", "").strip()
    return int(setting) if setting.isdigit() and int(setting) > 0 else os.cpu_count() or 1
