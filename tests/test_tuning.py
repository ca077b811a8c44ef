"""Process settings for numeric work (auralis_tui.tuning), checked in real processes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

#: Allocates, uses and frees two 1.2 MB arrays 300 times (the analysis' per-block temporaries are
#: of that size), then prints the page faults that took.
CHURN = """
import resource, sys
if sys.argv[1] == "keep":
    from auralis_tui.tuning import keep_freed_memory
    keep_freed_memory()
import numpy as np
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(300):
    first = np.ones(150_000)
    second = first * 2.0
    del first, second
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def faults(mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", CHURN, mode], capture_output=True, text=True, check=True)
    return int(done.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc tuning")
def test_kept_freed_memory_is_reused_without_page_faults():
    assert faults("keep") * 10 < faults("default")


def test_one_blas_thread_leaves_a_users_setting_alone():
    code = (
        "import os; from auralis_tui.tuning import one_blas_thread; one_blas_thread(); "
        "print(os.environ['OMP_NUM_THREADS'], os.environ['OPENBLAS_NUM_THREADS'])"
    )
    env = {"OMP_NUM_THREADS": "4", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert done.stdout.split() == ["4", "1"]


def test_the_cli_turns_numpy_huge_pages_off_before_numpy_loads():
    """Every ``auralis`` process (and the scan workers it spawns, which inherit the environment)
    asks numpy for small pages, unless the user chose otherwise."""
    code = (
        "import os, sys\n"
        "from auralis_tui import cli\n"
        "try:\n    cli.main(['--version'])\nexcept SystemExit:\n    pass\n"
        "import numpy\n"
        "print(numpy._core.multiarray._get_madvise_hugepage(), file=sys.stderr)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "NUMPY_MADVISE_HUGEPAGE"}
    said = [
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=run_env, check=True).stderr
        for run_env in (env, {**env, "NUMPY_MADVISE_HUGEPAGE": "1"})
    ]
    assert [text.split()[-1] for text in said] == ["False", "True"]
