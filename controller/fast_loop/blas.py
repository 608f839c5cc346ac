"""One BLAS thread for the fast loop (../shared/facts/performance.md, pitfall 7).

At n <= 200 a second OpenBLAS thread only spins: on this 2-core box, next to ingest, the 200x200
Cholesky of a refit went from 0.2 ms to ~24 ms with 2 threads. ``single_blas_thread`` imports the
numeric stack first (numpy's and scipy's OpenBLAS are separate libraries, and threadpoolctl only
limits libraries already loaded: a limit set before skopt's import leaves scipy's at 2 threads),
then limits every BLAS in the process to one thread, for as long as the returned limiter lives
(call ``restore_original_limits()`` on it to undo). Setting ``OPENBLAS_NUM_THREADS=1`` in the
controller's environment before start does the same for the whole process.
"""

from __future__ import annotations

from typing import Any

import scipy.linalg  # noqa: F401  (loads scipy's OpenBLAS)
import skopt  # noqa: F401
from threadpoolctl import threadpool_limits


def single_blas_thread() -> Any:
    """Limit every loaded BLAS to one thread; returns the threadpoolctl limiter."""
    return threadpool_limits(limits=1, user_api="blas")
