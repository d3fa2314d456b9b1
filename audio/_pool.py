"""Worker processes for ``audio.analysis.analyze_set`` (private).

Why processes: the analysis is numpy and scipy calls on one-second blocks, and between them
Python code that holds the GIL; two threads on two cores spent much of their time waiting for
each other. Each worker analyzes a group of whole files (decode, sha256, loudness, overview,
fingerprints, envelope ...) and sends back, every few seconds of audio, its exact partial sum
for the null test, then the records. The parent adds the partials (see ``audio._nullsum.Null``).

Workers start from a fork server that has already imported ``audio.analysis`` (spawn where
there is none), so no thread of the parent (a TUI worker, say) is forked. BLAS is held to one
thread per worker (the environment the workers start with): the processes are the parallelism. A worker ignores Ctrl-C (the parent ends
it), exits when its parent is gone, and reports an ``AudioError`` as itself (the parent raises
it: one line naming the file) and anything else as a traceback, so a failure never hangs.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing as mp
import os
import signal
import traceback
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from audio._nullsum import SEND_STEPS, Emit, Null
from audio.errors import AudioError

Result = list[tuple[str, str, dict[str, Any] | None]]
# ``audio.analysis._run_group``: (jobs, steps, null_block, emit, alive) -> (name, sha256, record)
# per file. Passed in (by reference: it pickles by its name) so this module needs nothing of
# audio.analysis, which imports this one.
GroupRunner = Callable[[list[Any], int, "int | None", Emit, Callable[[], None]], Result]

_BLAS_ENV = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


class WorkerFailed(RuntimeError):
    """A worker process failed in a way that is a bug (its traceback is the message)."""


def _context() -> Any:
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["audio.analysis"])
        return ctx
    return mp.get_context("spawn")


@contextlib.contextmanager
def _main_not_a_script() -> Iterator[None]:
    """Workers re-import the parent's ``__main__`` by its path; when that is no file (Python
    fed on stdin, ``-c``, an embedding host) hide it, as for an interactive session, so the
    workers start anyway (they need nothing from it)."""
    import sys

    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    hide = main is not None and path is not None and getattr(main.__spec__, "name", None) is None \
        and not os.path.isfile(path)
    if hide:
        del main.__file__  # type: ignore[union-attr]
    try:
        yield
    finally:
        if hide:
            main.__file__ = path  # type: ignore[union-attr]


@contextlib.contextmanager
def _workers_start_with_one_blas_thread() -> Iterator[None]:
    """While processes start (and the fork server with them), ask BLAS for one thread."""
    saved = {k: os.environ.get(k) for k in _BLAS_ENV}
    for k in _BLAS_ENV:
        os.environ.setdefault(k, "1")
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)


@contextlib.contextmanager
def _stderr_with_a_descriptor() -> Iterator[None]:
    """While processes start, a ``sys.stderr`` with a real file descriptor: multiprocessing's
    resource tracker is started with ``sys.stderr.fileno()`` among the descriptors it keeps, and
    a TUI that captures stderr (Textual's capture answers -1) would make every start fail with
    "bad value(s) in fds_to_keep". The real stderr is put back at once."""
    import sys

    try:
        bad = sys.stderr is not None and sys.stderr.fileno() < 0
    except (OSError, ValueError, AttributeError):
        bad = False  # no descriptor at all: the tracker does without (multiprocessing checks)
    if not bad or sys.__stderr__ is None:
        yield
        return
    saved, sys.stderr = sys.stderr, sys.__stderr__
    try:
        yield
    finally:
        sys.stderr = saved


class _PipeEmit(Emit):
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def partial(self, k0: int, ints: np.ndarray | None, floats: np.ndarray | None, mix_sq: list[float]) -> None:
        self.conn.send(("part", k0, ints is not None, floats is not None, mix_sq))
        if ints is not None:
            self.conn.send_bytes(np.ascontiguousarray(ints).data.cast("B"))
        if floats is not None:
            self.conn.send_bytes(np.ascontiguousarray(floats).data.cast("B"))


def _worker(conn: Connection, run: GroupRunner, jobs: list[Any], steps: int, null_block: int | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and ends us
    ppid = os.getppid()  # the fork server, which exits with the parent

    def alive() -> None:
        if os.getppid() != ppid:
            raise SystemExit(1)  # orphaned: nobody wants the result

    try:
        msg: tuple[Any, ...] = ("done", run(jobs, steps, null_block, _PipeEmit(conn), alive))
    except AudioError as e:
        msg = ("error", e)
    except SystemExit:
        return
    except BaseException:
        msg = ("bug", traceback.format_exc())
    with contextlib.suppress(OSError):
        conn.send(msg)
    conn.close()


def _recv(conn: Connection, proc: Any, wait: Callable[[], None] | None = None) -> Any:
    """The next message of ``proc``; with ``wait``, called every 0.1 s until one comes (it may
    raise to stop waiting: run_groups then ends the workers)."""
    if wait is not None:
        while not conn.poll(0.1):
            wait()
    try:
        return conn.recv()
    except EOFError:
        proc.join(5)
        raise WorkerFailed(f"an analysis worker exited unexpectedly (exit code {proc.exitcode})") from None


def _fail(msg: Any) -> None:
    if msg[0] == "error":
        raise msg[1]
    if msg[0] == "bug":
        raise WorkerFailed(f"an analysis worker failed:\n{msg[1]}")
    raise WorkerFailed(f"an analysis worker sent {msg[0]!r} out of turn")


def run_groups(run: GroupRunner, groups: list[list[Any]], steps: int, null_block: int | None,
               null: Null | None, *, tick: Callable[[int], None] | None = None) -> Result:
    """``run`` each group (of ``audio.analysis._Job``) in a process of its own; the null-test
    partials go into ``null``. ``tick`` (in this process) is called with the seconds of audio
    every group has read, after each batch and while waiting; what it raises ends the workers."""
    done = [0]
    wait = None if tick is None else (lambda: tick(done[0]))
    ctx = _context()
    procs: list[Any] = []
    conns: list[Connection] = []
    try:
        with _workers_start_with_one_blas_thread(), _main_not_a_script(), _stderr_with_a_descriptor():
            for group in groups:
                recv_end, send_end = ctx.Pipe(duplex=False)
                p = ctx.Process(target=_worker, args=(send_end, run, group, steps, null_block),
                                daemon=True, name="stemvault-analysis")
                p.start()
                send_end.close()
                procs.append(p)
                conns.append(recv_end)
        if null_block and null is not None:
            # One batch from every group in turn: a worker that runs ahead blocks on its pipe,
            # so at most a batch or two per worker is ever in flight (bounded memory).
            for batch in range(math.ceil(steps / SEND_STEPS)):
                for conn, p in zip(conns, procs, strict=True):
                    msg = _recv(conn, p, wait)
                    if msg[0] != "part":
                        _fail(msg)
                    _, _k0, has_ints, has_floats, mix_sq = msg
                    ints = np.frombuffer(conn.recv_bytes(), dtype=np.int64) if has_ints else None
                    floats = np.frombuffer(conn.recv_bytes(), dtype=np.float64) if has_floats else None
                    null.add(ints, floats, mix_sq)
                done[0] = min(steps, (batch + 1) * SEND_STEPS)
                if tick is not None:
                    tick(done[0])
        results: Result = []
        for conn, p in zip(conns, procs, strict=True):
            msg = _recv(conn, p, wait)
            if msg[0] != "done":
                _fail(msg)
            results += msg[1]
        return results
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
        for p in procs:
            p.join(5)
        for conn in conns:
            conn.close()
