#!/usr/bin/env python3
# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""Serve the demo with trytond's own server (the same as the trytond
command, with its arguments), stopped by Ctrl-C within seconds.

Ctrl-C (SIGINT) or SIGTERM stops the server as usual; should the process
still be there 5 seconds later (a request thread stuck in SQLite, say),
it ends at once: the demo database is SQLite, whose transactions survive
that."""
import os
import signal
import sys
import threading

GRACE = 5


def stop(signum, frame):
    timer = threading.Timer(GRACE, os._exit, args=(128 + signum,))
    timer.daemon = True
    timer.start()
    raise KeyboardInterrupt


if __name__ == '__main__':
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    from trytond.cli import main
    sys.argv[0] = 'trytond'
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(0)
