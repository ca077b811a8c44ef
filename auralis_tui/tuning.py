"""Process settings for numeric work: one BLAS thread, small pages, freed memory kept for reuse."""

from __future__ import annotations

import os
import sys

BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
M_TOP_PAD = -2  # glibc <malloc.h>: free memory kept at the top of the heap when it shrinks
TOP_PAD_BYTES = 64 << 20


def one_blas_thread() -> None:
    """One BLAS thread unless the user set otherwise; call before numpy loads. Our matrices are
    small, and BLAS threads spin on a busy machine (scan workers: --jobs 2 went from 1.1× to 1.8×)."""
    for variable in BLAS_THREAD_VARIABLES:
        os.environ.setdefault(variable, "1")


def small_pages() -> None:
    """No transparent huge pages for numpy's arrays unless the user set otherwise; call before
    numpy loads. numpy asks the kernel for them on every array of 4 MB or more; on a VM each
    fresh huge page could cost ~0.1 ms of compaction (0.8–2.6 s of system time per 4-minute
    render). ``bench/cli.py`` on a 2-vCPU VM: ``fingerprint`` ÷ decode-only process 1.58–1.71
    with them, 1.27–1.42 without; mastering equal."""
    os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")


def keep_freed_memory() -> None:
    """Let glibc's malloc keep 64 MB of freed memory instead of handing it back to the kernel
    at once (a no-op elsewhere). The analysis allocates and frees megabyte-sized temporaries
    block after block, in two threads (decode, analysis); handed back, each is faulted in again
    as fresh zeroed pages. Measured on ``auralis fingerprint`` of a 3-minute FLAC: 23–33 k page faults and
    0.11–0.18 s of system time before, 10 k and 0.06–0.08 s after."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt(M_TOP_PAD, TOP_PAD_BYTES)
