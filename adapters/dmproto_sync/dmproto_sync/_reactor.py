"""Many connections, few threads: connection loops that wait in one selector.

The blocking server's connection loop (``dmproto_adapter_base.drive.serve_connection``)
is a coroutine. Its socket calls here never block: when one would, the coroutine
awaits a :class:`Wait`, the pool thread that ran it goes back to the pool, and the
connection waits in the :class:`Reactor`'s selector with the other quiet ones — the
keep-alive connections between the requests of a session, devices sending slowly, TLS
handshakes in flight. When its socket is ready, a pool thread resumes it; when its
deadline passes first, ``TimeoutError`` is raised inside it (the silence timeout).

This is the model of threaded servers such as gunicorn's ``gthread`` worker. An open
connection costs its coroutine and buffers, not a thread stack; the application's
handler still runs in a thread and may block (a database), so at most ``threads``
handlers run at once and the next requests wait for a free thread.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import selectors
import socket
import ssl
import threading
import time
from collections.abc import Callable, Coroutine, Generator

__all__ = ["DEFAULT_THREADS", "Reactor", "Wait", "handshake", "receive", "send_all"]

#: Pool threads per server: how many requests (their handlers) run at once. Two, not
#: more: answering a DM message is Python work under the GIL, and every further thread
#: that has work adds GIL hand-offs, not throughput (docs/adapters.md, "The blocking
#: server's threads", has the measurements); more pay only for handlers that block.
DEFAULT_THREADS = 2
#: Connections accepted per wake-up of the selector, so parked ones are not starved.
_ACCEPT_BATCH = 64
#: Longest the selector sleeps: how soon ``on_tick`` runs when nothing happens.
_TICK = 0.2
_READ, _WRITE = selectors.EVENT_READ, selectors.EVENT_WRITE

_log = logging.getLogger("dmproto_sync")

#: A connection loop: a coroutine that suspends only by awaiting a :class:`Wait`.
Connection = Coroutine["Wait", None, None]


class Wait:
    """Suspend the connection until ``sock`` is ready for ``events`` (selector
    events), or raise ``TimeoutError`` in it at ``deadline`` (``time.monotonic``)."""

    __slots__ = ("deadline", "events", "sock")

    def __init__(self, sock: socket.socket, events: int, deadline: float) -> None:
        self.sock = sock
        self.events = events
        self.deadline = deadline

    def __await__(self) -> Generator[Wait, None, None]:
        yield self


#: What a non-blocking socket or TLS call raises when it would block.
_WOULD_BLOCK = (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError)


def _blocked(error: OSError, plain: int) -> int:
    """The selector event a call that raised ``error`` (one of ``_WOULD_BLOCK``) waits
    for: what TLS asks for, else ``plain`` (what the call itself was doing)."""
    if isinstance(error, ssl.SSLWantReadError):
        return _READ
    if isinstance(error, ssl.SSLWantWriteError):
        return _WRITE
    return plain


async def receive(sock: socket.socket, size: int, timeout: float) -> bytes:
    """Up to ``size`` bytes (``b""`` at end of stream) from non-blocking ``sock``,
    waiting at most ``timeout`` seconds of silence.

    Raises:
        TimeoutError: nothing arrived in time.
        OSError: the connection failed.
    """
    deadline = None
    while True:
        try:
            return sock.recv(size)
        except _WOULD_BLOCK as blocked:
            if deadline is None:
                deadline = time.monotonic() + timeout
            await Wait(sock, _blocked(blocked, _READ), deadline)


async def send_all(sock: socket.socket, data: bytes, timeout: float) -> None:
    """Write all of ``data`` to non-blocking ``sock`` within ``timeout`` seconds.

    A TLS write that would block is retried with the same bytes, as OpenSSL requires.

    Raises:
        TimeoutError: the peer did not take the bytes in time.
        OSError: the connection failed.
    """
    view = memoryview(data)
    deadline = time.monotonic() + timeout
    while view:
        try:
            view = view[sock.send(view) :]
        except _WOULD_BLOCK as blocked:
            await Wait(sock, _blocked(blocked, _WRITE), deadline)


async def handshake(sock: ssl.SSLSocket, timeout: float) -> None:
    """The server side of a TLS handshake on non-blocking ``sock``, within ``timeout``.

    Raises:
        TimeoutError: the client did not complete it in time.
        OSError (``ssl.SSLError``): the handshake failed.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            sock.do_handshake()
            return
        except _WOULD_BLOCK as blocked:
            await Wait(sock, _blocked(blocked, _READ), deadline)


class _Parked:
    """A connection waiting in the selector, and what for."""

    __slots__ = ("connection", "wait")

    def __init__(self, connection: Connection, wait: Wait) -> None:
        self.connection = connection
        self.wait = wait


class Reactor:
    """One selector for the listener and every waiting connection, and a pool of at
    most ``threads`` threads (started as work needs them) running the connections.

    ``run(listener, accepted, on_tick)`` runs the selector in the calling thread until
    :meth:`close`; ``start(connection)`` starts a connection loop. On
    close, the waiting connections are closed (``coroutine.close()``: their ``finally``
    blocks run) and the pool threads end once the work queued before it is done.
    """

    def __init__(self, threads: int = DEFAULT_THREADS) -> None:
        if threads < 1:
            raise ValueError(f"threads must be at least 1, not {threads}")
        self._max_threads = threads
        self._selector = selectors.DefaultSelector()
        self._wake_in, self._wake_out = socket.socketpair()
        self._wake_in.setblocking(False)
        self._wake_out.setblocking(False)
        self._lock = threading.Lock()
        self._arrivals: list[_Parked] = []  # parked by pool threads, not yet registered
        self._next_expiry = 0.0  # when to look for waits past their deadline next
        self._jobs: queue.SimpleQueue[tuple[Connection, BaseException | None] | None]
        self._jobs = queue.SimpleQueue()
        self._backlog = 0  # jobs queued and not yet taken by a thread
        self._idle = 0  # threads waiting for a job
        self._threads: list[threading.Thread] = []
        self._stopping = False
        self._closed = False  # no more parking: new waits close their connection
        self._running = False  # run() has started
        self._ran = threading.Event()  # run() has ended

    # -- the pool ------------------------------------------------------------------------

    def start(self, connection: Connection) -> None:
        """Run ``connection`` up to its first wait in the calling thread (the selector's,
        when called from ``accepted``), then from the pool whenever it is ready.

        A connection must begin by awaiting a :class:`Wait` for its socket, so that no
        work — and no handler — runs in the selector thread, and a client that connects
        and says nothing is timed out by the selector even while every pool thread is busy.
        """
        self._step(connection, None)

    def _submit(self, connection: Connection, error: BaseException | None) -> None:
        self._jobs.put((connection, error))
        with self._lock:
            self._backlog += 1
            if self._backlog <= self._idle or len(self._threads) >= self._max_threads:
                return
            thread = threading.Thread(target=self._work, name="dmproto-sync", daemon=True)
            self._threads.append(thread)
        thread.start()

    def _work(self) -> None:
        while True:
            with self._lock:
                self._idle += 1
            job = self._jobs.get()
            with self._lock:
                self._idle -= 1
                if job is not None:
                    self._backlog -= 1
            if job is None:
                return
            self._step(*job)

    def _step(self, connection: Connection, error: BaseException | None) -> None:
        """Run ``connection`` until it waits again or ends."""
        try:
            wait = connection.send(None) if error is None else connection.throw(error)
        except StopIteration:
            return
        except Exception:  # a bug in a connection loop must not stop the server
            _log.exception("connection loop failed")
            return
        self._park(_Parked(connection, wait))

    def _park(self, parked: _Parked) -> None:
        with self._lock:
            closed = self._closed
            if not closed:
                self._arrivals.append(parked)
                first = len(self._arrivals) == 1
        if closed:
            parked.connection.close()
        elif first:
            self._wake()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):  # full: the selector is awake already
            self._wake_out.send(b"\0")

    # -- the selector thread -------------------------------------------------------------

    def run(
        self,
        listener: socket.socket,
        accepted: Callable[[socket.socket], None],
        on_tick: Callable[[], None] | None = None,
    ) -> None:
        """Accept on ``listener`` (``accepted(conn)`` for each connection) and resume
        waiting connections until :meth:`close`; ``on_tick()`` runs at least every
        0.2 s. Closes the waiting connections before returning; returns at once
        after :meth:`close`.

        Raises:
            RuntimeError: ``run`` was called before (one selector thread per server).
        """
        with self._lock:
            if self._running:
                raise RuntimeError("this server is served already")
            if self._stopping:
                return
            self._running = True
        try:
            listener.setblocking(False)
            self._selector.register(listener, _READ)
            self._selector.register(self._wake_in, _READ)
            while not self._stopping:
                if on_tick is not None:
                    on_tick()
                for key, _ in self._selector.select(_TICK):
                    if key.fileobj is listener:
                        self._accept(listener, accepted)
                    elif key.fileobj is self._wake_in:
                        with contextlib.suppress(OSError):
                            self._wake_in.recv(4096)
                    else:
                        self._resume(key.data)
                self._register_arrivals()
                self._expire()
        finally:
            self._shut()
            self._ran.set()

    def _accept(self, listener: socket.socket, accepted: Callable[[socket.socket], None]) -> None:
        for _ in range(_ACCEPT_BATCH):
            try:
                conn, _ = listener.accept()
            except BlockingIOError:
                return
            except OSError:
                if self._stopping:
                    return
                # Out of descriptors or memory: leave the queued connections in the
                # kernel's backlog a moment rather than spin on a ready listener.
                _log.warning("accept failed", exc_info=True)
                time.sleep(0.05)
                return
            accepted(conn)

    def _register_arrivals(self) -> None:
        with self._lock:
            arrivals, self._arrivals = self._arrivals, []
        for parked in arrivals:
            wait = parked.wait
            try:
                self._selector.register(wait.sock, wait.events, parked)
            except (OSError, ValueError) as error:  # closed meanwhile: let it find out
                self._submit(parked.connection, ConnectionError(str(error)))

    def _resume(self, parked: _Parked) -> None:
        """Its socket is ready: run it in a pool thread."""
        self._selector.unregister(parked.wait.sock)
        self._submit(parked.connection, None)

    def _expire(self) -> None:
        """Raise ``TimeoutError`` in the waits past their deadline: looked for every
        0.2 s (a deadline is met that late at most), not on every wake-up."""
        now = time.monotonic()
        if now < self._next_expiry:
            return
        self._next_expiry = now + _TICK
        late = [
            key.data
            for key in self._selector.get_map().values()
            if key.data is not None and key.data.wait.deadline <= now
        ]
        for parked in late:
            # Ended here, not queued for a pool thread: a connection closed late is one
            # a client may already have sent its next request on (it then sees a reset).
            # A timeout ends the connection loop at once, before any handler could run.
            self._selector.unregister(parked.wait.sock)
            self._step(parked.connection, TimeoutError("connection silent too long"))

    def _shut(self) -> None:
        with self._lock:
            self._closed = True
            arrivals, self._arrivals = self._arrivals, []
            threads = len(self._threads)
        waiting = [key.data for key in self._selector.get_map().values() if key.data]
        self._selector.close()
        for parked in [*waiting, *arrivals]:
            parked.connection.close()
        for _ in range(threads):
            self._jobs.put(None)
        self._wake_in.close()
        self._wake_out.close()

    # -- from any thread -----------------------------------------------------------------

    def close(self, timeout: float) -> None:
        """Make :meth:`run` close the waiting connections and return; wait up to about
        ``timeout`` seconds for that and for the pool threads to end."""
        deadline = time.monotonic() + timeout
        with self._lock:
            self._stopping = True
            running = self._running
        if running:
            self._wake()
            self._ran.wait(timeout)
        else:  # run() never started and now never will
            self._selector.close()
            self._wake_in.close()
            self._wake_out.close()
        with self._lock:
            threads = [t for t in self._threads if t is not threading.current_thread()]
        for thread in threads:  # (a handler may close its own server)
            thread.join(max(0.0, deadline - time.monotonic()))
