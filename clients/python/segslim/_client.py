"""The raw, standard-library-only JSON-RPC client for the SegSlim daemon (``segslimd``).

``segslimd`` speaks JSON-RPC 2.0 framed like the Language Server Protocol
(``Content-Length: N\\r\\n\\r\\n`` + UTF-8 JSON body) on its stdin/stdout, or on a Unix
socket when started with ``--listen unix:PATH``. The wire protocol is specified in
``protocol/README.md`` at the root of the repository.

Quick start::

    from segslim import Client, SegSlimError

    with Client.spawn() as client:          # finds segslimd (see Client.spawn)
        client.initialize()
        print(client.request("server/status"))
        try:
            client.request("no/such/method")
        except SegSlimError as e:
            assert e.code == SegSlimError.METHOD_NOT_FOUND

Several requests may be in flight at once: a reader thread demultiplexes the daemon's
answers by id, so :meth:`Client.request_async` returns a :class:`PendingRequest` right
away and the daemon may answer requests out of order. ``$/progress`` notifications for a
request started with ``progress=callable`` are routed to that callable.

Requires Python 3.9 or newer and nothing outside the standard library.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union, cast

from ._version import __version__

if TYPE_CHECKING:
    from .model import Model

__all__ = [
    "Client",
    "PendingRequest",
    "SegSlimError",
    "ConnectionLost",
    "find_daemon",
    "__version__",
]

JSON = Any
ProgressCallback = Callable[[Dict[str, Any]], None]


class SegSlimError(Exception):
    """A JSON-RPC error answered by the daemon (or a client-side failure, see
    :class:`ConnectionLost`).

    Attributes:
        code: the numeric JSON-RPC error code (compare with the class constants below).
        message: the daemon's human-readable message; it names the parameter, file or node
            at fault.
        data: the optional ``data`` member of the error object, or ``None``.

    The constants mirror the table in ``protocol/README.md`` (``ErrorCode.all`` in
    ``Sources/SegProtocol/ErrorCode.swift``).
    """

    # JSON-RPC 2.0
    PARSE_ERROR = -32700
    INVALID_REQUEST = -32600
    METHOD_NOT_FOUND = -32601
    INVALID_PARAMS = -32602
    INTERNAL_ERROR = -32603
    # LSP lifecycle and cancellation
    SERVER_NOT_INITIALIZED = -32002
    REQUEST_CANCELLED = -32800
    # Application codes
    FILE_NOT_FOUND = -33001
    INVALID_MODEL = -33002
    UNSUPPORTED_OPERATOR = -33003
    MODEL_NOT_FOUND = -33004
    DATASET_ERROR = -33005
    OUT_OF_MEMORY_BUDGET = -33006
    TECHNIQUE_FAILED = -33007
    OUTPUT_EXISTS = -33008
    UNSUPPORTED_FORMAT = -33009
    TRAINING_FAILED = -33010

    #: code -> name, as in the protocol's error table.
    NAMES: Dict[int, str] = {
        -32700: "ParseError",
        -32600: "InvalidRequest",
        -32601: "MethodNotFound",
        -32602: "InvalidParams",
        -32603: "InternalError",
        -32002: "ServerNotInitialized",
        -32800: "RequestCancelled",
        -33001: "FileNotFound",
        -33002: "InvalidModel",
        -33003: "UnsupportedOperator",
        -33004: "ModelNotFound",
        -33005: "DatasetError",
        -33006: "OutOfMemoryBudget",
        -33007: "TechniqueFailed",
        -33008: "OutputExists",
        -33009: "UnsupportedFormat",
        -33010: "TrainingFailed",
    }

    def __init__(self, code: Optional[int], message: str, data: JSON = None):
        self.code = code
        self.message = message
        self.data = data
        super().__init__(str(self))

    @property
    def name(self) -> str:
        """The code's name from the protocol table (``"InvalidParams"``), or ``"Unknown"``."""
        if self.code is None:
            return type(self).__name__
        return self.NAMES.get(self.code, "Unknown")

    def __str__(self) -> str:
        if self.code is None:
            return self.message
        return "%s (%d): %s" % (self.name, self.code, self.message)

    def __repr__(self) -> str:
        return "%s(%r, %r, %r)" % (type(self).__name__, self.code, self.message, self.data)

    @classmethod
    def from_json(cls, error: JSON) -> "SegSlimError":
        """Builds an error from a JSON-RPC error object (``{code, message, data?}``)."""
        if not isinstance(error, dict):
            return cls(cls.INTERNAL_ERROR, "malformed error object: %r" % (error,))
        return cls(error.get("code"), str(error.get("message", "")), error.get("data"))


class ConnectionLost(SegSlimError):
    """The daemon went away (it exited, crashed, or closed the socket) before answering.

    ``code`` is ``None`` (this error never came over the wire); ``exit_code`` is the
    daemon's exit status when the client spawned it and it has exited, else ``None``.
    """

    def __init__(self, message: str, exit_code: Optional[int] = None):
        super().__init__(None, message)
        self.exit_code = exit_code


class PendingRequest:
    """A request in flight, returned by :meth:`Client.request_async` (future-like).

    Use :meth:`result` to wait for the answer, :meth:`cancel` to send ``$/cancelRequest``,
    :meth:`done` to poll and :meth:`add_done_callback` to be told when it completes.
    """

    def __init__(self, client: "Client", request_id: Union[int, str], method: str,
                 progress_token: Optional[str] = None):
        self.client = client
        #: The JSON-RPC id this request was sent with.
        self.id = request_id
        #: The method name.
        self.method = method
        #: The ``workDoneToken`` sent with the request, if progress was asked for.
        self.progress_token = progress_token
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._result: JSON = None
        self._error: Optional[SegSlimError] = None
        self._callbacks: List[Callable[["PendingRequest"], None]] = []
        self._cancel_sent = False

    # -- completion (called by the reader thread) ------------------------------------------

    def _complete(self, result: JSON = None, error: Optional[SegSlimError] = None) -> None:
        with self._lock:
            if self._event.is_set():
                return
            self._result = result
            self._error = error
            self._event.set()
            callbacks = list(self._callbacks)
            self._callbacks.clear()
        for cb in callbacks:
            _call_quietly(cb, self)

    # -- public API ------------------------------------------------------------------------

    def done(self) -> bool:
        """True once the daemon answered (or the connection was lost)."""
        return self._event.is_set()

    def result(self, timeout: Optional[float] = None) -> JSON:
        """Waits for the answer and returns its ``result``.

        Raises :class:`SegSlimError` if the daemon answered with an error (``-32800``
        RequestCancelled after a successful :meth:`cancel`), :class:`ConnectionLost` if
        the daemon went away, and :class:`TimeoutError` if ``timeout`` seconds pass first
        (the request keeps running; call :meth:`cancel` to stop it).
        """
        if not self._event.wait(timeout):
            raise TimeoutError("no answer to '%s' (id %r) within %.3g s" % (self.method, self.id, timeout or 0))
        if self._error is not None:
            raise self._error
        return self._result

    def exception(self, timeout: Optional[float] = None) -> Optional[SegSlimError]:
        """Waits like :meth:`result` and returns the error, or ``None`` on success."""
        if not self._event.wait(timeout):
            raise TimeoutError("no answer to '%s' (id %r) within %.3g s" % (self.method, self.id, timeout or 0))
        return self._error

    def cancel(self) -> bool:
        """Sends ``$/cancelRequest`` for this request.

        Returns True if the notification was sent (the request had not been answered yet);
        the daemon then answers with RequestCancelled (-32800), unless the request finished
        first. Returns False if the answer had already arrived. Never blocks for the answer.
        """
        if self._event.is_set():
            return False
        if not self._cancel_sent:
            self._cancel_sent = True
            try:
                self.client.notify("$/cancelRequest", {"id": self.id})
            except ConnectionLost:
                return False
        return True

    def cancelled(self) -> bool:
        """True if the request was answered with RequestCancelled (-32800)."""
        return self._event.is_set() and self._error is not None and \
            self._error.code == SegSlimError.REQUEST_CANCELLED

    def add_done_callback(self, fn: Callable[["PendingRequest"], None]) -> None:
        """Calls ``fn(self)`` when the request completes (at once if it already has).
        Callbacks run on the client's reader thread: keep them short."""
        with self._lock:
            if not self._event.is_set():
                self._callbacks.append(fn)
                return
        _call_quietly(fn, self)

    def __repr__(self) -> str:
        state = "pending" if not self.done() else ("error" if self._error else "done")
        return "<PendingRequest %s id=%r %s>" % (self.method, self.id, state)


def _call_quietly(fn: Callable[..., Any], *args: Any) -> None:
    """Runs a user callback on the reader thread; an exception in it must not kill the
    thread (that would orphan every pending request), so it is reported on stderr."""
    try:
        fn(*args)
    except Exception as e:  # noqa: BLE001 - user code
        print("segslim: callback %r raised %r" % (fn, e), file=sys.stderr)


def find_daemon() -> str:
    """Locates the ``segslimd`` executable.

    Order: ``$SEGSLIMD``; then ``.build/release/segslimd`` and ``.build/debug/segslimd``
    relative to the repository this file lives in; then ``segslimd`` on ``$PATH``.
    Raises FileNotFoundError naming every place tried.
    """
    tried = []
    env = os.environ.get("SEGSLIMD")
    if env:
        if os.access(env, os.X_OK) and os.path.isfile(env):
            return env
        tried.append("$SEGSLIMD=%s" % env)
    # segslim/_client.py -> segslim -> clients/python -> clients -> repository root
    repo = Path(__file__).resolve().parents[3]
    for config in ("release", "debug"):
        candidate = repo / ".build" / config / "segslimd"
        if candidate.is_file() and os.access(str(candidate), os.X_OK):
            return str(candidate)
        tried.append(str(candidate))
    on_path = shutil.which("segslimd")
    if on_path:
        return on_path
    tried.append("segslimd on $PATH")
    raise FileNotFoundError("cannot find segslimd (tried %s); build it with `swift build` or set SEGSLIMD"
                            % ", ".join(tried))


class Client:
    """One JSON-RPC connection to a ``segslimd`` daemon.

    Create one with :meth:`spawn` (a private daemon on stdin/stdout) or :meth:`connect`
    (a shared daemon listening on a Unix socket). Then call :meth:`initialize`, any number
    of :meth:`request` / :meth:`request_async` / :meth:`notify` / :meth:`batch`, and finally
    :meth:`close` (or use the client as a context manager).

    All methods are thread-safe. Server notifications other than ``$/progress`` for a
    known token go to :attr:`on_notification` (``fn(method, params)``) if set.
    """

    def __init__(self, reader: Any, write: Callable[[bytes], None], close_transport: Callable[[], None],
                 process: Optional["subprocess.Popen[bytes]"] = None, description: str = "segslimd",
                 interrupt: Optional[Callable[[], None]] = None):
        """Low-level constructor; prefer :meth:`spawn` or :meth:`connect`.

        ``reader`` is a binary file object the daemon's output is read from, ``write``
        sends bytes to the daemon, ``close_transport`` releases both, and ``interrupt``
        (optional) makes a blocked read of ``reader`` return end-of-stream.
        """
        self._reader = reader
        self._write = write
        self._close_transport = close_transport
        self._interrupt = interrupt
        #: The daemon process when this client spawned it, else None.
        self.process = process
        self.description = description
        self._ids = itertools.count(1)
        self._pending: Dict[Union[int, str], PendingRequest] = {}
        self._progress: Dict[Union[int, str], ProgressCallback] = {}
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._lost: Optional[ConnectionLost] = None
        self._closed = False
        self._shutdown_done = False
        self._exit_sent = False
        #: Seconds :meth:`request` waits for the daemon to acknowledge a cancel sent because
        #: of Ctrl-C before the KeyboardInterrupt propagates.
        self.cancel_grace: float = 5.0
        #: Called as ``fn(method, params)`` for server notifications nobody else consumed.
        self.on_notification: Optional[Callable[[str, JSON], None]] = None
        #: The ``initialize`` result once :meth:`initialize` has run.
        self.server_info: Optional[Dict[str, Any]] = None
        self.capabilities: Optional[Dict[str, Any]] = None
        self._thread = threading.Thread(target=self._read_loop, name="segslim-reader", daemon=True)
        self._thread.start()

    # -- construction ----------------------------------------------------------------------

    @classmethod
    def spawn(cls, daemon_path: Optional[str] = None, args: Sequence[str] = (),
              stderr: Any = None, env: Optional[Dict[str, str]] = None) -> "Client":
        """Starts a private daemon and connects to its stdin/stdout.

        Args:
            daemon_path: the ``segslimd`` executable; default :func:`find_daemon`.
            args: extra command-line flags, e.g. ``["--enable-debug-methods"]``.
            stderr: where the daemon's log goes (a file object, ``subprocess.DEVNULL``);
                default: inherited from this process.
            env: environment for the daemon; default: this process's.
        """
        path = daemon_path or find_daemon()
        proc = subprocess.Popen([path] + list(args), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=stderr, env=env, bufsize=0)
        stdin, stdout = proc.stdin, proc.stdout  # unbuffered (bufsize=0): one write(2) per message
        if stdin is None or stdout is None:  # cannot happen with PIPE; narrows the types
            raise RuntimeError("segslimd was started without pipes")
        reader = os.fdopen(os.dup(stdout.fileno()), "rb", buffering=65536)

        def close_transport() -> None:
            for f in (stdin, stdout, reader):
                try:
                    f.close()
                except OSError:
                    pass

        # FileIO.write may write fewer bytes than asked on a pipe; loop until all are out.
        def write_all(data: bytes) -> None:
            view = memoryview(data)
            while view:
                n = stdin.write(view)
                if n is None:
                    n = 0
                view = view[n:]

        return cls(reader, write_all, close_transport, process=proc, description="%s (pid %d)" % (path, proc.pid))

    @classmethod
    def connect(cls, address: str, timeout: Optional[float] = 5.0) -> "Client":
        """Connects to a daemon started with ``segslimd --listen unix:PATH``.

        ``address`` is ``"unix:PATH"`` or a bare path. Retries for up to ``timeout``
        seconds while the socket file does not exist yet or refuses connections (a daemon
        that is still starting). Closing this client (or ``exit``) ends this connection
        only; the daemon keeps serving others.
        """
        path = address[5:] if address.startswith("unix:") else address
        deadline = time.monotonic() + (timeout or 0)
        while True:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                sock.close()
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.02)
        reader = sock.makefile("rb", buffering=65536)

        def interrupt() -> None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

        def close_transport() -> None:
            interrupt()
            reader.close()
            sock.close()

        return cls(reader, sock.sendall, close_transport, description="unix:%s" % path, interrupt=interrupt)

    # -- context manager -------------------------------------------------------------------

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- sending ---------------------------------------------------------------------------

    def _send(self, message: JSON) -> None:
        body = json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        data = b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
        with self._write_lock:
            if self._lost is not None:
                raise self._lost
            try:
                self._write(data)
            except (OSError, ValueError) as e:  # BrokenPipe, closed file
                raise self._connection_lost("cannot write to %s: %s" % (self.description, e))

    def send_message(self, message: JSON) -> None:
        """Sends one raw JSON-RPC message (or a batch array) as-is.

        For tests and experiments: the answers to requests sent this way are not tracked
        and go to :attr:`on_notification` as ``("<response>", message)``.
        """
        self._send(message)

    def notify(self, method: str, params: JSON = None) -> None:
        """Sends a notification (no id, no answer)."""
        msg: Dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            msg["params"] = params
        self._send(msg)

    def _register(self, method: str, params: JSON, progress: Optional[ProgressCallback]) -> Tuple[PendingRequest, Dict[str, Any]]:
        request_id = next(self._ids)
        token = None
        if progress is not None:
            token = "segslim.py-%d" % request_id
            if params is None:
                params = {}
            if not isinstance(params, dict):
                raise TypeError("progress= needs params to be a dict (or None)")
            params = dict(params, workDoneToken=token)
        pending = PendingRequest(self, request_id, method, token)
        msg: Dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            msg["params"] = params
        with self._lock:
            if self._lost is not None:
                raise self._lost
            self._pending[request_id] = pending
            if token is not None:
                self._progress[token] = progress  # type: ignore[assignment]
        return pending, msg

    def request_async(self, method: str, params: JSON = None,
                      progress: Optional[ProgressCallback] = None) -> PendingRequest:
        """Sends a request and returns at once with a :class:`PendingRequest`.

        If ``progress`` is given, a fresh ``workDoneToken`` is added to ``params`` and
        every ``$/progress`` value for it (``{"kind": "begin"|"report"|"end", "title"?,
        "message"?, "percentage"?}``) is passed to ``progress`` on the reader thread, in
        the order the daemon sent them, all before the request completes.
        """
        pending, msg = self._register(method, params, progress)
        try:
            self._send(msg)
        except SegSlimError:
            self._forget(pending.id, pending.progress_token)
            raise
        return pending

    def request(self, method: str, params: JSON = None, timeout: Optional[float] = None,
                progress: Optional[ProgressCallback] = None) -> JSON:
        """Sends a request and blocks for its result.

        Raises :class:`SegSlimError` for an error answer, :class:`ConnectionLost` if the
        daemon goes away, and :class:`TimeoutError` after ``timeout`` seconds (in which
        case ``$/cancelRequest`` is sent so the daemon stops working on it). A
        KeyboardInterrupt (Ctrl-C) while waiting also sends ``$/cancelRequest``, waits up to
        :attr:`cancel_grace` seconds for the daemon's answer, and then propagates.
        """
        # Registered before it is sent, and sent inside the `try`: a Ctrl-C that lands
        # between sending and waiting (the daemon may already be working, even reporting
        # progress) must still cancel it.
        pending, msg = self._register(method, params, progress)
        try:
            try:
                self._send(msg)
            except SegSlimError:
                self._forget(pending.id, pending.progress_token)
                raise
            return pending.result(timeout)
        except TimeoutError:
            pending.cancel()
            raise
        except KeyboardInterrupt:
            # Ctrl-C must stop the daemon's work too, not only this wait: cancel, give the
            # daemon a moment to acknowledge (so its progress `end` arrives), then re-raise.
            pending.cancel()
            try:
                pending.exception(self.cancel_grace)
            except (TimeoutError, KeyboardInterrupt):
                pass
            raise

    def call(self, method: str, params: JSON = None, *, progress: Optional[Callable[[float, str], None]] = None,
             timeout: Optional[float] = None) -> JSON:
        """Like :meth:`request`, with the Pythonic layer's progress callback
        ``fn(fraction, message)`` (fraction in 0...1; fits tqdm, see README.md)."""
        raw = None
        if progress is not None:
            from .results import progress_adapter
            raw = progress_adapter(progress)
        return self.request(method, params, timeout=timeout, progress=raw)

    # -- the Pythonic layer --------------------------------------------------------------

    def load(self, path: Union[str, "os.PathLike[str]"], *, id: Optional[str] = None,
             preprocessing: Optional[Dict[str, Any]] = None, timeout: Optional[float] = None,
             progress: Optional[Callable[[float, str], None]] = None, **options: Any) -> "Model":
        """Loads an ONNX file (``model/load``) and returns its :class:`segslim.Model` handle.

        ``id`` names it (default: the file's stem, made unique); ``preprocessing`` overrides
        its ``segslim.*`` metadata (``{"mean": [...], "std": [...], "classes": [...]}``);
        other ``options`` are passed to ``model/load`` as they are."""
        from .model import Model
        params: Dict[str, Any] = {"path": os.path.abspath(os.fspath(path))}
        if id is not None:
            params["id"] = id
        if preprocessing is not None:
            params["preprocessing"] = preprocessing
        params.update(options)
        return Model(self, self.call("model/load", params, progress=progress, timeout=timeout))

    def model(self, model_id: str, timeout: Optional[float] = 30.0) -> "Model":
        """A :class:`segslim.Model` handle on a model already resident under ``model_id``."""
        from .model import Model
        return Model(self, self.request("model/info", {"id": model_id}, timeout=timeout))

    def models(self, timeout: Optional[float] = 30.0) -> List["Model"]:
        """Handles on every resident model (``model/list``, then ``model/info`` each)."""
        listed = self.request("model/list", timeout=timeout)
        return [self.model(str(m["id"]), timeout) for m in (listed or {}).get("models", [])]

    def batch(self, calls: Iterable[Union[Tuple[str, JSON], Tuple[str, JSON, bool]]],
              timeout: Optional[float] = None) -> List[Any]:
        """Sends several messages as one JSON-RPC batch (a JSON array) and waits for all.

        ``calls`` holds ``(method, params)`` pairs for requests, or
        ``(method, params, True)`` for notifications. Returns one entry per request, in
        the order of ``calls`` (the daemon may answer in any order inside its array):
        the result, or the :class:`SegSlimError` instance (returned, not raised).
        Notifications get no entry.
        """
        messages = []
        pendings: List[PendingRequest] = []
        try:
            for call in calls:
                method, params = call[0], call[1]
                is_notification = len(call) > 2 and bool(call[2])
                if is_notification:
                    msg: Dict[str, Any] = {"jsonrpc": "2.0", "method": method}
                    if params is not None:
                        msg["params"] = params
                else:
                    pending, msg = self._register(method, params, None)
                    pendings.append(pending)
                messages.append(msg)
            if not messages:
                return []
            self._send(messages)
        except SegSlimError:
            for p in pendings:
                self._forget(p.id, None)
            raise
        deadline = None if timeout is None else time.monotonic() + timeout
        results: List[Any] = []
        for p in pendings:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            error = p.exception(remaining)
            if isinstance(error, ConnectionLost):
                raise error
            results.append(error if error is not None else p._result)
        return results

    # -- lifecycle -------------------------------------------------------------------------

    def initialize(self, client_name: str = "segslim.py", timeout: Optional[float] = 30.0,
                   **extra: Any) -> Dict[str, Any]:
        """Sends ``initialize`` (with this process's id and ``clientInfo``) and then the
        ``initialized`` notification. Returns the result (``{serverInfo, capabilities}``),
        also kept in :attr:`server_info` and :attr:`capabilities`."""
        params = {"processId": os.getpid(), "clientInfo": {"name": client_name, "version": __version__}}
        params.update(extra)
        result = self.request("initialize", params, timeout=timeout)
        self.server_info = result.get("serverInfo") if isinstance(result, dict) else None
        self.capabilities = result.get("capabilities") if isinstance(result, dict) else None
        self.notify("initialized", {})
        return cast(Dict[str, Any], result)

    def shutdown(self, timeout: Optional[float] = 30.0) -> None:
        """Sends ``shutdown`` and waits for its answer, which comes after every earlier
        request has answered. After it the daemon accepts only ``exit``."""
        self.request("shutdown", timeout=timeout)
        self._shutdown_done = True

    def exit(self) -> None:
        """Sends the ``exit`` notification. A spawned daemon then exits with status 0 if
        ``shutdown`` came first, else 1; on a socket only this connection closes."""
        self._exit_sent = True
        self.notify("exit")

    def wait(self, timeout: Optional[float] = None) -> Optional[int]:
        """Waits for a spawned daemon to exit; returns its exit status (None on a socket)."""
        if self.process is None:
            return None
        return self.process.wait(timeout)

    def close(self, timeout: float = 10.0) -> Optional[int]:
        """Ends the session politely: ``shutdown`` (unless done), ``exit``, then waits for
        a spawned daemon to exit (killing it after ``timeout`` seconds) and releases the
        connection. Returns the daemon's exit status for a spawned daemon, else None.
        Safe to call more than once and after the daemon died."""
        if self._closed:
            return self.process.returncode if self.process is not None else None
        self._closed = True
        try:
            if self._lost is None:
                if not self._shutdown_done and not self._exit_sent:
                    try:
                        self.shutdown(timeout=timeout)
                    except SegSlimError:
                        pass  # e.g. shutdown before initialize, or already shut down
                    except TimeoutError:
                        pass
                if not self._exit_sent:
                    try:
                        self.exit()
                    except SegSlimError:
                        pass
            code = None
            if self.process is not None:
                try:
                    code = self.process.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    code = self.process.wait()
            return code
        finally:
            # Let the reader thread see end-of-stream and finish before its file is closed.
            if self._interrupt is not None:
                self._interrupt()
            self._thread.join(timeout=2.0)
            self._close_transport()

    @property
    def alive(self) -> bool:
        """False once the connection is lost or closed."""
        return self._lost is None and not self._closed

    # -- reading ---------------------------------------------------------------------------

    def _forget(self, request_id: Union[int, str], token: Optional[str]) -> None:
        with self._lock:
            self._pending.pop(request_id, None)
            if token is not None:
                self._progress.pop(token, None)

    def _connection_lost(self, why: str) -> ConnectionLost:
        """Marks the connection dead and fails every pending request; returns the error."""
        exit_code = None
        if self.process is not None and self._lost is None:
            try:
                exit_code = self.process.wait(0.5)  # a dying daemon: give it a moment to go
            except subprocess.TimeoutExpired:
                exit_code = None
            if exit_code is not None:
                why = "%s (segslimd exited with status %d)" % (why, exit_code)
        with self._lock:
            if self._lost is None:
                self._lost = ConnectionLost(why, exit_code)
            lost = self._lost
            pending = list(self._pending.values())
            self._pending.clear()
            self._progress.clear()
        for p in pending:
            p._complete(error=lost)
        return lost

    def _read_message(self) -> Optional[bytes]:
        """Reads one LSP-framed body; None at end of stream."""
        length = None
        while True:
            line = self._reader.readline(65536)
            if not line:
                return None
            line = line.rstrip(b"\r\n")
            if not line:
                if length is None:
                    continue  # tolerate blank lines between messages
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        body = self._reader.read(length)
        if body is None or len(body) < length:
            return None
        return bytes(body)

    def _read_loop(self) -> None:
        why = "%s closed the connection" % self.description
        try:
            while True:
                body = self._read_message()
                if body is None:
                    break
                try:
                    message = json.loads(body)
                except ValueError as e:
                    why = "%s sent invalid JSON: %s" % (self.description, e)
                    break
                if isinstance(message, list):
                    for m in message:
                        self._dispatch(m)
                else:
                    self._dispatch(message)
        except (OSError, ValueError) as e:
            if not self._closed:
                why = "reading from %s failed: %s" % (self.description, e)
        if self._closed or self._exit_sent:
            why = "the connection to %s was closed" % self.description
        self._connection_lost(why)

    def _dispatch(self, message: JSON) -> None:
        if not isinstance(message, dict):
            return
        if "method" in message:
            method = message.get("method")
            params = message.get("params")
            if method == "$/progress" and isinstance(params, dict):
                with self._lock:
                    callback = self._progress.get(params.get("token", ""))
                if callback is not None:
                    _call_quietly(callback, params.get("value"))
                    return
            handler = self.on_notification
            if handler is not None:
                _call_quietly(handler, method, params)
            return
        request_id = message.get("id")
        with self._lock:
            pending = self._pending.pop(request_id, None) if request_id is not None else None
            if pending is not None and pending.progress_token is not None:
                self._progress.pop(pending.progress_token, None)
        if pending is None:
            handler = self.on_notification
            if handler is not None:
                _call_quietly(handler, "<response>", message)
            return
        if "error" in message:
            pending._complete(error=SegSlimError.from_json(message["error"]))
        else:
            pending._complete(result=message.get("result"))
