"""One BLAS thread for a stretch of work, safe when fits run in several threads at once.

threadpoolctl sets process-wide limits and restores the values it found, and
OpenBLAS's thread count is partly per thread: two overlapping limits from two threads
(concurrent fits) restored each other's values, or restored them in the wrong thread,
and left the process on one BLAS thread for good.  So the limit is set, used and
restored by one thread at a time, under a lock.  Only short stretches take it.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager

_lock = threading.RLock()
_controller = None


@contextmanager
def one_blas_thread():
    global _controller
    with _lock:
        if _controller is None:
            import scipy.linalg  # noqa: F401 -- SciPy's own BLAS must be loaded to be found
            from threadpoolctl import ThreadpoolController

            _controller = ThreadpoolController()
        with _controller.limit(limits=1, user_api="blas"):
            yield
