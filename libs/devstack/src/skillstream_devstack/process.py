"""Child processes that die with the process that started them, however it ends (SIGKILL included).

Every server and service the developer stack or the test fixtures start goes through :func:`spawn`, so
killing ``skillstream up`` or pytest never leaves a nats-server, a PostgreSQL or a service running.

On Linux the child asks the kernel, between fork and exec, for a signal when its parent dies
(``prctl(PR_SET_PDEATHSIG)``, via ctypes in Popen's ``preexec_fn``). The kernel sends it when the *thread*
that forked the child ends, not the process, so every child is forked by one daemon thread that lives as
long as this process: a child started from a short-lived thread (``asyncio.to_thread``) does not die when
that thread is recycled. A child whose parent died before the setting took effect exits at once instead of
running as an orphan. Elsewhere :func:`spawn` is a plain ``Popen``: nothing stops the children of a killed
parent there.

A daemonizing program (``pg_ctl``) defeats this: its daemon's parent is the launcher, which exits. Start
such servers in the foreground (``postgres`` itself, see :mod:`skillstream_devstack.embedded`).

Errors: :func:`spawn` raises what ``subprocess.Popen`` raises (``OSError`` for a missing program,
``subprocess.SubprocessError`` when the child could not set up the parent-death signal).
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, TypeVar

T = TypeVar("T")
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
_ORPHAN_EXIT = 70  # exit status of a child that found its parent already gone


def _load_prctl() -> Any | None:
    """libc's ``prctl`` on Linux, None elsewhere (or when libc cannot be loaded)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    return prctl


_PRCTL = _load_prctl()  # resolved once here: the child must not import or load anything after fork


def supported() -> bool:
    """True where children get a parent-death signal (Linux)."""
    return _PRCTL is not None


def _die_with_parent(death_signal: int, parent: int) -> Callable[[], None]:
    """A ``preexec_fn``: the child gets ``death_signal`` when ``parent`` (its forking thread) ends."""
    prctl = _PRCTL
    assert prctl is not None, "only called where supported()"

    def preexec() -> None:
        # Runs after Popen's setsid/setuid: a credential change clears the setting, so it must come last.
        if prctl(_PR_SET_PDEATHSIG, death_signal, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
        if os.getppid() != parent:  # the parent died between fork and prctl: the signal will never come
            os._exit(_ORPHAN_EXIT)

    return preexec


class _Forker:
    """One daemon thread that runs every fork of this process (restarted in a forked child of it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], concurrent.futures.Future[Any]]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._owner = 0  # pid that started the thread: after os.fork() the thread is gone

    def call(self, fn: Callable[[], T]) -> T:
        """``fn()`` run on the forking thread; its result, or its exception re-raised here."""
        if threading.current_thread() is self._thread:
            return fn()
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        with self._lock:
            if self._thread is None or self._owner != os.getpid() or not self._thread.is_alive():
                self._jobs = queue.SimpleQueue()
                self._thread = threading.Thread(target=self._serve, args=(self._jobs,), name="spawn", daemon=True)
                self._owner = os.getpid()
                self._thread.start()
            self._jobs.put((fn, future))
        return future.result()

    @staticmethod
    def _serve(jobs: queue.SimpleQueue[tuple[Callable[[], Any], concurrent.futures.Future[Any]]]) -> None:
        while True:  # for the life of the process: children are signalled when this thread ends
            fn, future = jobs.get()
            try:
                future.set_result(fn())
            except BaseException as e:  # noqa: BLE001 - handed to the caller, who re-raises it
                future.set_exception(e)


_FORKER = _Forker()


def spawn(
    args: Sequence[str | Path],
    *,
    death_signal: int = signal.SIGTERM,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    stdin: int | IO[Any] | None = None,
    stdout: int | IO[Any] | None = None,
    stderr: int | IO[Any] | None = None,
    start_new_session: bool = False,
    user: str | None = None,
) -> subprocess.Popen[bytes]:
    """``subprocess.Popen(args, …)`` whose child gets ``death_signal`` when this process ends.

    ``death_signal``: what the child gets if this process dies without stopping it (SIGTERM lets a server
    stop cleanly; PostgreSQL wants SIGINT, its fast shutdown). The other arguments are ``Popen``'s.

    Raises:
        OSError: the program cannot be started.
        subprocess.SubprocessError: the child could not set up its parent-death signal.
    """
    argv = [str(a) for a in args]

    def start(preexec: Callable[[], None] | None) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            argv,
            env=env,
            cwd=cwd,
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            start_new_session=start_new_session,
            user=user,
            preexec_fn=preexec,
        )

    if _PRCTL is None:
        return start(None)
    preexec = _die_with_parent(int(death_signal), os.getpid())
    return _FORKER.call(lambda: start(preexec))


__all__ = ["spawn", "supported"]
