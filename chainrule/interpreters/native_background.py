"""Tiered compilation for the Numba backend: NumPy code answers while Numba compiles.

Numba needs seconds to compile a program the first time in a process (importing numba, type
inference, LLVM), while the NumPy version of the same graph is ready in milliseconds. With
``jit(f, backend="numba", background_compile=True)`` a new signature is answered at once by
its NumPy code, and a thread compiles the Numba version meanwhile (``compile_native``, through
the on-disk cache, so a later process loads it). Once it is ready, the next call switches to
it, in the calling thread, after the usual check: the compiled code's result on the traced
inputs must agree with the NumPy code's (the first call's result, kept for this, so the check
costs no extra NumPy run); otherwise the NumPy code stays, with the reason.

Time to the first result is then tracing plus one run of the NumPy code; time until native
code answers is ``cache_info()["native_after_s"]``. Results can differ between the two tiers
in the last bits (the backends agree to rounding). ``wait_native()`` (on the jitted function)
blocks until every background compile has finished and switches, so tests and benchmarks are
deterministic. The thread starts once the first call has finished, or after ``HEADSTART_S``
where that call is long (the two then share the interpreter lock). At interpreter exit,
compiles still running are waited for (a thread stopped inside LLVM could crash the exit).
"""
import atexit
import threading
import time

import numpy as np

__all__ = ["BackgroundNative", "COMPILING"]

COMPILING = "numba compiling in the background; the NumPy code answers meanwhile"
HEADSTART_S = 0.2    # the compile waits this long for the first call's NumPy run to finish
_pending = set()
_pending_lock = threading.Lock()


def _copy(leaves):
    return [np.array(x, copy=True) if isinstance(x, np.ndarray) else x for x in leaves]


class BackgroundNative:
    """One signature's Numba compile in a thread: ``compile_native(traced inputs, reference)``
    gives ``(function, source, backend used, reason)`` (``native.compile_native``). ``call``
    answers by the NumPy function ``fn`` until it has finished, then by the function it chose;
    ``on_switch(function, source, used, reason)`` is told once, in the calling thread."""

    def __init__(self, compile_native, fn, leaves, started, on_switch):
        self.fn, self.on_switch, self.started = fn, on_switch, started
        self.leaves = _copy(leaves)         # the traced inputs, kept from later mutation
        self.traced = list(leaves)          # the same objects: the first call's, to recognise it
        self.want = None                    # the NumPy code's result on them, once computed
        self.result = None                  # compile_native's answer
        self.ready_at = None
        self.switched = False
        self._done = threading.Event()
        self._first_running, self._want_ready = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._compile, args=(compile_native,),
                                        name="chainrule-numba-compile", daemon=True)
        with _pending_lock:
            _pending.add(self)
        self._thread.start()

    def _reference(self):
        """The NumPy result on the traced inputs: the first call's (waited for while it runs),
        else computed here."""
        if self._first_running.is_set():
            self._want_ready.wait()
        if self.want is None:
            self.want = self.fn(*self.leaves)
        return self.want

    def _compile(self, compile_native):
        # let a short first call finish first: importing numba and typing hold the GIL
        self._want_ready.wait(HEADSTART_S)
        try:
            self.result = compile_native(self.leaves, self._reference)
        except Exception as e:      # anything unexpected: the NumPy code stays
            self.result = (self.fn, None, "numpy", f"background compile failed: {e!r}")
        finally:
            self.leaves = self.want = None      # the copies are no longer needed
            self.ready_at = time.perf_counter()
            self._done.set()
            with _pending_lock:
                _pending.discard(self)

    def call(self, *leaves):
        if self._done.is_set():
            return self.switch()(*leaves)
        traced, self.traced = self.traced, None
        if traced is None or len(leaves) != len(traced) or \
                not all(a is b for a, b in zip(leaves, traced)):
            return self.fn(*leaves)
        self._first_running.set()       # the first call, on the traced inputs: the reference
        try:
            out = self.fn(*leaves)
            self.want = tuple(_copy(out)) if isinstance(out, tuple) else _copy([out])[0]
        finally:
            self._want_ready.set()
        return out

    def switch(self):
        """Wait for the compile, tell ``on_switch`` (once) and return the function chosen."""
        self._done.wait()
        fn = self.result[0]
        if not self.switched:
            self.switched = True
            self.on_switch(*self.result)
        return fn

    @property
    def done(self):
        return self._done.is_set()

    def native_after(self):
        """Seconds from the start of the tracing call until the compile finished, or None."""
        return None if self.ready_at is None else self.ready_at - self.started


@atexit.register
def _wait_at_exit():
    with _pending_lock:
        pending = list(_pending)
    for b in pending:
        b._thread.join()
