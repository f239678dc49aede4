"""SIGTERM and SIGINT during training: finish the current step, checkpoint, stop.

Cloud TPU and Kubernetes preempt with SIGTERM and a grace period; Ctrl-C sends SIGINT. Either
only records the request here; the training loop checks it after each step, writes a
checkpoint and stops with one line, so a rerun resumes bit-exactly from that step.
"""
import contextlib
import signal
import threading

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopRequest:
    """The first stop signal received while active (``None`` while there is none)."""

    def __init__(self):
        self.signum = None

    def record(self, signum, frame):
        if self.signum is None:
            self.signum = signum

    @property
    def requested(self):
        return self.signum is not None

    @property
    def name(self):
        return signal.Signals(self.signum).name


@contextlib.contextmanager
def stop_requests(signums=SIGNALS):
    """Installs handlers that record SIGTERM/SIGINT into the yielded StopRequest, and puts the
    previous handlers back on exit. Off the main thread (where Python cannot install handlers)
    the request never fires and signals keep their usual effect."""
    request = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request
        return
    previous = {s: signal.signal(s, request.record) for s in signums}
    try:
        yield request
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
