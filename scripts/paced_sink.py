"""Take bytes from stdin at a sound card's pace: ``python paced_sink.py BYTES_PER_SECOND``.

The ALSA file sink of DESIGN §6 pipes its frames here (``file "|python paced_sink.py N"``), so the
player is paced like a device instead of racing an unpaced file (benchmarks, wake-up tests).
"""

import sys
import time

rate, got, start = float(sys.argv[1]), 0, None
while chunk := sys.stdin.buffer.raw.read(8192):
    start = start or time.monotonic()
    got += len(chunk)
    time.sleep(max(0.0, got / rate - (time.monotonic() - start)))
