# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""OpenAI-compatible HTTP/1.1 client on asyncio protocols, built for exact timing.

Each chunk is timestamped in ``data_received`` (the first Python code that sees the bytes), the
HTTP and SSE framing are parsed incrementally without intermediate stream objects, connections are
kept alive and reused, and every failure becomes an error code on the request record instead of an
exception. Works with llama.cpp's server (usage in the last chunk, ``timings``, ``/tokenize``) and
vLLM (role-only first chunk, ``ignore_eos``/``min_tokens``).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import ssl
import struct
import sys
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

# Error codes recorded on requests (faults are data, not exceptions).
ERR_CONNECTION_REFUSED = "connection_refused"
ERR_CONNECT_TIMEOUT = "connect_timeout"
ERR_CONNECT = "connect_error"
ERR_RESET = "connection_reset"
ERR_CLOSED = "connection_closed"
ERR_MALFORMED = "malformed_sse"
ERR_SERVER_EVENT = "server_error_event"
ERR_INCOMPLETE = "incomplete_stream"
ERR_STALL = "stall_timeout"
ERR_TIMEOUT = "request_timeout"
ERR_BAD_RESPONSE = "bad_response"
ERR_INTERRUPTED = "interrupted"


def http_error_code(status: int) -> str:
    """Error code for an HTTP status other than 200, e.g. ``http_429``."""
    return f"http_{status}"


@dataclass
class Endpoint:
    """Where and how to send requests."""

    base_url: str
    model: str
    api: str = "chat"  # "chat" (/v1/chat/completions) or "completions" (/v1/completions)
    api_key: str | None = None
    # Authorization carries "Bearer <key>"; any other header (e.g. an API Gateway's x-api-key) the key itself.
    api_key_header: str = "Authorization"
    headers: dict[str, str] = field(default_factory=dict)
    request_timeout_s: float = 180.0
    stall_timeout_s: float = 30.0
    connect_timeout_s: float = 10.0
    server_extensions: bool = True  # send ignore_eos/min_tokens (llama.cpp, vLLM); off for strict OpenAI APIs
    verify_tls: bool = True
    kernel_timestamps: bool = True  # plain-TCP reads stamped with the kernel's arrival time (Linux SO_TIMESTAMPNS)


@dataclass
class RequestSpec:
    """One request to send."""

    prompt: str
    max_tokens: int
    input_tokens: int = 0  # the prompt's token count as generated (server usage wins when present)
    stream: bool = True
    temperature: float | None = None
    seed: int | None = None
    extra_body: dict[str, Any] = field(default_factory=dict)
    request_id: str = ""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class RequestRecord:
    """What happened to one request; times are ``time.perf_counter()`` seconds (CLOCK_MONOTONIC)."""

    request_id: str
    index: int = 0
    warmup: bool = False
    scheduled: float = 0.0
    start: float = 0.0
    connected: float | None = None
    sent: float | None = None  # when the request bytes were handed to the kernel
    headers_at: float | None = None
    first_content_at: float | None = None
    end: float | None = None
    content_times: list[float] = field(default_factory=list)
    text: str = ""
    http_status: int | None = None
    error_code: str | None = None
    error_msg: str = ""
    usage: dict[str, Any] | None = None
    timings: dict[str, Any] | None = None
    finish_reason: str | None = None
    input_tokens_requested: int = 0
    max_tokens: int = 0
    new_connection: bool = False
    retried_stale_connection: bool = False
    stream_events: int = 0  # SSE data lines other than [DONE] (role, content, final and usage chunks)

    @property
    def ok(self) -> bool:
        return self.error_code is None

    @property
    def connect_s(self) -> float | None:
        """Time to open the connection (TCP, and TLS where used) when this request opened one; part of TTFT."""
        if not self.new_connection or self.connected is None:
            return None
        return self.connected - self.start

    @property
    def cached_tokens(self) -> int | None:
        """Prompt tokens the server says it reused from its cache (usage.prompt_tokens_details), when it says."""
        details = (self.usage or {}).get("prompt_tokens_details")
        value = details.get("cached_tokens") if isinstance(details, dict) else None
        return value if isinstance(value, int) else None

    @property
    def ttft_s(self) -> float | None:
        return None if self.first_content_at is None else self.first_content_at - self.start

    @property
    def e2e_s(self) -> float | None:
        return None if self.end is None else self.end - self.start

    @property
    def output_tokens(self) -> int:
        """Server-reported completion tokens; the count of content chunks when no usage came back."""
        if self.usage and isinstance(self.usage.get("completion_tokens"), int):
            return self.usage["completion_tokens"]
        return len(self.content_times)

    @property
    def input_tokens(self) -> int:
        if self.usage and isinstance(self.usage.get("prompt_tokens"), int):
            return self.usage["prompt_tokens"]
        return self.input_tokens_requested

    @property
    def token_source(self) -> str:
        return "usage" if self.usage and isinstance(self.usage.get("completion_tokens"), int) else "chunks"

    @property
    def itl_s(self) -> float | None:
        """(E2E - TTFT) / (output tokens - 1): the stricter inter-token latency."""
        ttft, e2e, out = self.ttft_s, self.e2e_s, self.output_tokens
        if ttft is None or e2e is None or out < 2:
            return None
        return (e2e - ttft) / (out - 1)

    @property
    def chunk_gaps_s(self) -> list[float]:
        times = self.content_times
        return [b - a for a, b in itertools.pairwise(times)]

    def fail(self, code: str, message: str = "", at: float | None = None) -> None:
        if self.error_code is None:
            self.error_code = code
            self.error_msg = message[:500]
            self.end = at if at is not None else time.perf_counter()


class _Exchange:
    """Parser state for one response on a connection."""

    __slots__ = ("api_chat", "body", "chunk_buf", "chunk_need", "done_marker", "framing", "future", "head_buf",
                 "last_rx", "record", "remaining", "sse_buf", "stream", "text_parts")

    def __init__(self, record: RequestRecord, stream: bool, api_chat: bool, future: asyncio.Future) -> None:
        self.record = record
        self.stream = stream
        self.api_chat = api_chat
        self.future = future
        self.head_buf = b""
        self.framing = ""  # "chunked", "length", "close" once headers are parsed
        self.remaining = 0
        self.chunk_buf = b""
        self.chunk_need = -1
        self.sse_buf = b""
        self.body: list[bytes] = []
        self.done_marker = False
        self.text_parts: list[str] = []
        self.last_rx = record.start


class _Connection(asyncio.BufferedProtocol):
    # A reused receive buffer: asyncio's default path allocates 256 KiB per recv(), which costs more than
    # the parsing at high chunk rates (mmap/munmap per read); recv_into a small fixed buffer does not.
    _BUFFER_SIZE = 65536

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.keep_alive = True
        self.exchange: _Exchange | None = None
        self._buffer = memoryview(bytearray(self._BUFFER_SIZE))

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._buffer

    def buffer_updated(self, nbytes: int) -> None:
        self.data_received(bytes(self._buffer[:nbytes]))

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        ex = self.exchange
        if ex is None or ex.future.done():
            return
        now = time.perf_counter()
        if ex.framing == "close" and exc is None:
            self._complete(ex, now)
        elif isinstance(exc, ConnectionResetError) or (exc is not None and "reset" in str(exc).lower()):
            self._finish(ex, ERR_RESET, str(exc), now)
        else:
            self._finish(ex, ERR_CLOSED if exc is None else ERR_RESET, str(exc or "server closed the connection"),
                         now)

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    # -- parsing ----------------------------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        self.data_received_at(data, time.perf_counter())

    def data_received_at(self, data: bytes, now: float) -> None:
        """Feed bytes that arrived at ``now`` (the kernel's arrival time where the transport knows it)."""
        ex = self.exchange
        if ex is None or ex.future.done():
            return
        ex.last_rx = now
        if not ex.framing:
            ex.head_buf += data
            end = ex.head_buf.find(b"\r\n\r\n")
            if end < 0:
                return
            if not self._parse_head(ex, ex.head_buf[:end], now):
                return
            data = ex.head_buf[end + 4 :]
            ex.head_buf = b""
            if not data and ex.framing != "length":
                return
        if ex.framing == "chunked":
            self._feed_chunked(ex, data, now)
        elif ex.framing == "length":
            ex.body.append(data)
            ex.remaining -= len(data)
            if ex.remaining <= 0:
                self._complete(ex, now)
        else:
            self._feed_body(ex, data, now)

    def _parse_head(self, ex: _Exchange, head: bytes, now: float) -> bool:
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[1].isdigit():
            self._finish(ex, ERR_BAD_RESPONSE, f"bad status line {lines[0][:80]!r}", now)
            self.abort()
            return False
        ex.record.http_status = int(parts[1])
        ex.record.headers_at = now
        headers = {}
        for line in lines[1:]:
            name, _sep, value = line.partition(":")
            headers[name.strip().lower()] = value.strip().lower()
        if headers.get("connection") == "close":
            self.keep_alive = False
        if "chunked" in headers.get("transfer-encoding", ""):
            ex.framing = "chunked"
        elif "content-length" in headers:
            ex.framing = "length"
            ex.remaining = int(headers["content-length"])
        else:
            ex.framing = "close"
            self.keep_alive = False
        if ex.record.http_status != 200:
            ex.stream = False  # an error body is JSON or text, never SSE
        return True

    def _feed_chunked(self, ex: _Exchange, data: bytes, now: float) -> None:
        buf = ex.chunk_buf + data if ex.chunk_buf else data
        pos = 0
        while True:
            if ex.chunk_need < 0:
                line_end = buf.find(b"\r\n", pos)
                if line_end < 0:
                    break
                size_text = buf[pos:line_end].split(b";", 1)[0].strip()
                try:
                    size = int(size_text, 16)
                except ValueError:
                    self._finish(ex, ERR_BAD_RESPONSE, "bad chunk size", now)
                    self.abort()
                    return
                pos = line_end + 2
                if size == 0:
                    ex.chunk_buf = b""
                    self._complete(ex, now)
                    return
                ex.chunk_need = size
            if len(buf) - pos < ex.chunk_need + 2:
                break
            payload = buf[pos : pos + ex.chunk_need]
            pos += ex.chunk_need + 2
            ex.chunk_need = -1
            self._feed_body(ex, payload, now)
            if ex.future.done():
                return
        ex.chunk_buf = buf[pos:]

    def _feed_body(self, ex: _Exchange, payload: bytes, now: float) -> None:
        if not ex.stream:
            ex.body.append(payload)
            return
        buf = ex.sse_buf + payload if ex.sse_buf else payload
        if b"\r" in buf:
            buf = buf.replace(b"\r\n", b"\n")
        start = 0
        while True:
            end = buf.find(b"\n\n", start)
            if end < 0:
                break
            self._event(ex, buf[start:end], now)
            start = end + 2
            if ex.future.done():
                return
        ex.sse_buf = buf[start:]

    def _event(self, ex: _Exchange, event: bytes, now: float) -> None:
        data_lines = [line[5:].lstrip(b" ") for line in event.split(b"\n") if line.startswith(b"data:")]
        if not data_lines:
            return  # comments and keep-alives
        data = b"\n".join(data_lines)
        if data == b"[DONE]":
            ex.done_marker = True
            return
        ex.record.stream_events += len(data_lines)
        try:
            obj = json.loads(data)
        except ValueError:
            self._finish(ex, ERR_MALFORMED, data[:200].decode("utf-8", "replace"), now)
            self.abort()  # the stream position is unknown: never reuse this connection
            return
        if not isinstance(obj, dict):
            self._finish(ex, ERR_MALFORMED, "SSE data is not a JSON object", now)
            self.abort()
            return
        if obj.get("error"):
            err = obj["error"]
            self._finish(ex, ERR_SERVER_EVENT, json.dumps(err)[:500], now)
            return
        choices = obj.get("choices")
        if choices:
            choice = choices[0]
            content = (choice.get("delta") or {}).get("content") if ex.api_chat else choice.get("text")
            if content:
                record = ex.record
                if record.first_content_at is None:
                    record.first_content_at = now
                record.content_times.append(now)
                ex.text_parts.append(content)
            if choice.get("finish_reason"):
                ex.record.finish_reason = choice["finish_reason"]
        usage = obj.get("usage")
        if usage:
            ex.record.usage = usage
        if obj.get("timings"):
            ex.record.timings = obj["timings"]

    def _complete(self, ex: _Exchange, now: float) -> None:
        record = ex.record
        record.end = now
        if record.http_status != 200:
            body = b"".join(ex.body).decode("utf-8", "replace")
            self._finish(ex, http_error_code(record.http_status or 0), body, now)
            return
        if ex.stream:
            record.text = "".join(ex.text_parts)
            if not ex.done_marker and record.finish_reason is None:
                self._finish(ex, ERR_INCOMPLETE, "stream ended without [DONE] or finish_reason", now)
                return
        else:
            try:
                obj = json.loads(b"".join(ex.body))
                choice = obj["choices"][0]
                record.text = (choice.get("message") or {}).get("content") or "" if ex.api_chat else choice["text"]
                record.finish_reason = choice.get("finish_reason")
                record.usage = obj.get("usage")
                record.timings = obj.get("timings")
            except (ValueError, KeyError, IndexError, TypeError) as exc:
                self._finish(ex, ERR_BAD_RESPONSE, f"unparseable completion body: {exc}", now)
                return
            # no stream: the whole answer arrives at once, so the first token time is the end time
            record.first_content_at = now
            record.content_times = [now]
        if not ex.future.done():
            ex.future.set_result(record)

    def _finish(self, ex: _Exchange, code: str, message: str, now: float) -> None:
        ex.record.text = "".join(ex.text_parts)
        ex.record.fail(code, message, now)
        if not ex.future.done():
            ex.future.set_result(ex.record)


SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # 35 on Linux; Python does not export it
KERNEL_TIMESTAMPS = sys.platform.startswith("linux")


def _realtime_minus_monotonic_ns() -> int:
    """CLOCK_REALTIME - CLOCK_MONOTONIC in ns, from the tightest of a few paired reads."""
    best: tuple[int, int] | None = None
    for _index in range(5):
        before = time.perf_counter_ns()
        real = time.clock_gettime_ns(time.CLOCK_REALTIME)
        after = time.perf_counter_ns()
        candidate = (after - before, real - (before + after) // 2)
        best = candidate if best is None or candidate < best else best
    return best[1]  # type: ignore[index]


class _KernelTimestampTransport:
    """A plain-TCP transport reading with ``recvmsg`` and SO_TIMESTAMPNS.

    Each read carries the time the kernel queued the data, so a busy event loop (hundreds of
    streams on one core) delays when chunks are parsed but not the times they are recorded at.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, sock: socket.socket, protocol: _Connection) -> None:
        self._loop = loop
        self._sock = sock
        self._fd = sock.fileno()
        self._protocol = protocol
        self._offset_ns = _realtime_minus_monotonic_ns()
        self._pending = b""
        self._closed = False
        loop.add_reader(self._fd, self._read_ready)
        protocol.connection_made(self)  # type: ignore[arg-type]

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._sock if name == "socket" else default

    def write(self, data: bytes) -> None:
        if self._closed:
            return
        if not self._pending:
            try:
                sent = self._sock.send(data)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError as exc:
                self._lose(exc)
                return
            data = data[sent:]
            if not data:
                return
            self._loop.add_writer(self._fd, self._write_ready)
        self._pending += data

    def _write_ready(self) -> None:
        try:
            sent = self._sock.send(self._pending)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._lose(exc)
            return
        self._pending = self._pending[sent:]
        if not self._pending:
            self._loop.remove_writer(self._fd)

    def _read_ready(self) -> None:
        try:
            data, ancillary, _flags, _address = self._sock.recvmsg(65536, 64)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._lose(exc)
            return
        if not data:
            self._lose(None)
            return
        now = time.perf_counter()
        arrived = now
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(payload) >= 16:
                seconds, nanos = struct.unpack("qq", payload[:16])
                # never later than now: a clock step must not move a chunk into the future
                arrived = min(now, (seconds * 1_000_000_000 + nanos - self._offset_ns) / 1e9)
        self._protocol.data_received_at(data, arrived)

    def _lose(self, exc: Exception | None) -> None:
        if self._closed:
            return
        self._closed = True
        self._loop.remove_reader(self._fd)
        self._loop.remove_writer(self._fd)
        self._sock.close()
        # like asyncio's transports: the protocol hears of it on the next loop iteration
        self._loop.call_soon(self._protocol.connection_lost, exc)

    def abort(self) -> None:
        self._lose(None)

    def close(self) -> None:
        self._lose(None)


class OpenAIClient:
    """Sends :class:`RequestSpec` s and returns :class:`RequestRecord` s; reuses kept-alive connections."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        url = urlsplit(endpoint.base_url.rstrip("/"))
        self._tls = url.scheme == "https"
        self.host = url.hostname or "127.0.0.1"
        self.port = url.port or (443 if self._tls else 80)
        base_path = url.path.rstrip("/")
        # accept base URLs with or without /v1, as LLMPerf users write both
        prefix = base_path if base_path.endswith("/v1") else base_path + "/v1"
        self.completion_path = prefix + ("/chat/completions" if endpoint.api == "chat" else "/completions")
        self.root_path = base_path[:-3] if base_path.endswith("/v1") else base_path
        self._ssl: ssl.SSLContext | None = None
        if self._tls:
            self._ssl = ssl.create_default_context()
            if not endpoint.verify_tls:
                self._ssl.check_hostname = False
                self._ssl.verify_mode = ssl.CERT_NONE
        self._idle: list[_Connection] = []
        self.interrupted = False
        self._active: dict[int, tuple[_Connection, _Exchange]] = {}
        self._host_header = self.host if url.port is None else f"{self.host}:{self.port}"
        static = {"Host": self._host_header, "Content-Type": "application/json", "Accept": "text/event-stream",
                  "Connection": "keep-alive", "User-Agent": "llmops.oke-bench"}
        if endpoint.api_key:
            bearer = endpoint.api_key_header.lower() == "authorization"
            static[endpoint.api_key_header] = f"Bearer {endpoint.api_key}" if bearer else endpoint.api_key
        static.update(endpoint.headers)
        self._static_headers = "".join(f"{k}: {v}\r\n" for k, v in static.items())

    # -- request bodies ---------------------------------------------------------------------
    def body(self, spec: RequestSpec) -> dict[str, Any]:
        """The JSON body for a spec (exposed so reports can show what was sent)."""
        body: dict[str, Any] = {"model": self.endpoint.model, "max_tokens": spec.max_tokens, "stream": spec.stream}
        if self.endpoint.api == "chat":
            body["messages"] = [{"role": "user", "content": spec.prompt}]
        else:
            body["prompt"] = spec.prompt
        if spec.stream:
            body["stream_options"] = {"include_usage": True}
        if spec.temperature is not None:
            body["temperature"] = spec.temperature
        if spec.seed is not None:
            body["seed"] = spec.seed
        if self.endpoint.server_extensions:
            # llama.cpp and vLLM honour these, so output lengths are what was asked
            body["ignore_eos"] = True
            body["min_tokens"] = spec.max_tokens
        body.update(spec.extra_body)
        return body

    def _request_bytes(self, method: str, path: str, payload: bytes, extra: dict[str, str]) -> bytes:
        head = f"{method} {path} HTTP/1.1\r\n{self._static_headers}Content-Length: {len(payload)}\r\n"
        if extra:
            head += "".join(f"{k}: {v}\r\n" for k, v in extra.items())
        return head.encode("latin-1") + b"\r\n" + payload

    # -- connections ------------------------------------------------------------------------
    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        if self._ssl is None and self.endpoint.kernel_timestamps and KERNEL_TIMESTAMPS:
            return await asyncio.wait_for(self._connect_timestamped(loop), self.endpoint.connect_timeout_s)
        _transport, conn = await asyncio.wait_for(
            loop.create_connection(_Connection, self.host, self.port, ssl=self._ssl),
            self.endpoint.connect_timeout_s,
        )
        return conn

    async def _connect_timestamped(self, loop: asyncio.AbstractEventLoop) -> _Connection:
        infos = await loop.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM)
        family, kind, proto, _name, address = infos[0]
        sock = socket.socket(family, kind, proto)
        try:
            sock.setblocking(False)
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            await loop.sock_connect(sock, address)
        except BaseException:
            sock.close()
            raise
        conn = _Connection()
        _KernelTimestampTransport(loop, sock, conn)
        return conn

    @property
    def timestamp_source(self) -> str:
        """Where chunk arrival times come from: the kernel (SO_TIMESTAMPNS) or the event loop."""
        return "kernel" if self._ssl is None and self.endpoint.kernel_timestamps and KERNEL_TIMESTAMPS else "event_loop"

    def _take_idle(self) -> _Connection | None:
        while self._idle:
            conn = self._idle.pop()
            if not conn.closed and conn.keep_alive:
                return conn
        return None

    async def send(self, spec: RequestSpec, record: RequestRecord | None = None, path: str | None = None,
                   payload: bytes | None = None, method: str = "POST") -> RequestRecord:
        """Send one request; never raises for server or network faults (they land on the record)."""
        record = record or RequestRecord(request_id=spec.request_id)
        record.input_tokens_requested = spec.input_tokens
        record.max_tokens = spec.max_tokens
        if payload is None:
            payload = json.dumps(self.body(spec), separators=(",", ":")).encode()
        extra = dict(spec.headers)
        if spec.request_id:
            extra["X-Request-Id"] = spec.request_id
        wire = self._request_bytes(method, path or self.completion_path, payload, extra)
        record.start = time.perf_counter()
        for attempt in range(2):
            # the resend opens a fresh connection: other idle ones may have been closed the same way
            conn = self._take_idle() if attempt == 0 else None
            reused = conn is not None
            if conn is None:
                record.new_connection = True
                conn = await self._open(record)
                if conn is None:
                    return record
            if self.interrupted:
                conn.abort()
                record.fail(ERR_INTERRUPTED, "run interrupted")
                return record
            await self._exchange(conn, record, spec.stream, wire)
            stale = (reused and attempt == 0 and record.headers_at is None
                     and record.error_code in (ERR_CLOSED, ERR_RESET))
            if not stale:
                break
            # The server closed this kept-alive connection as we reused it (llama.cpp's server does after
            # streamed responses): nothing was processed, so resend once on a fresh connection, timed afresh.
            record.retried_stale_connection = True
            record.error_code, record.error_msg, record.end, record.text = None, "", None, ""
            record.content_times, record.first_content_at = [], None
            record.start = time.perf_counter()
        return record

    async def _open(self, record: RequestRecord) -> _Connection | None:
        try:
            conn = await self._connect()
        except ConnectionRefusedError as exc:
            record.fail(ERR_CONNECTION_REFUSED, str(exc))
            return None
        except TimeoutError:
            record.fail(ERR_CONNECT_TIMEOUT, f"no connection to {self.host}:{self.port} "
                                             f"within {self.endpoint.connect_timeout_s}s")
            return None
        except OSError as exc:
            record.fail(ERR_CONNECT, str(exc))
            return None
        record.connected = time.perf_counter()
        return conn

    async def _exchange(self, conn: _Connection, record: RequestRecord, stream: bool, wire: bytes) -> None:
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        ex = _Exchange(record, stream, self.endpoint.api == "chat", future)
        conn.exchange = ex
        self._active[id(ex)] = (conn, ex)
        try:
            conn.transport.write(wire)  # type: ignore[union-attr]
            record.sent = time.perf_counter()
            await future
        finally:
            self._active.pop(id(ex), None)
            conn.exchange = None
        if record.ok and conn.keep_alive and not conn.closed:
            self._idle.append(conn)
        elif not conn.closed:
            conn.abort()

    def check_timeouts(self, now: float | None = None) -> int:
        """Fail in-flight requests past the request or stall timeout; returns how many were failed."""
        now = time.perf_counter() if now is None else now
        failed = 0
        for conn, ex in list(self._active.values()):
            if ex.future.done():
                continue
            if now - ex.record.start > self.endpoint.request_timeout_s:
                conn._finish(ex, ERR_TIMEOUT, f"no complete response within {self.endpoint.request_timeout_s}s", now)
            elif now - ex.last_rx > self.endpoint.stall_timeout_s:
                conn._finish(ex, ERR_STALL, f"no bytes for {self.endpoint.stall_timeout_s}s", now)
            else:
                continue
            conn.abort()
            failed += 1
        return failed

    async def watchdog(self, period_s: float | None = None) -> None:
        """Run :meth:`check_timeouts` until cancelled."""
        shortest = min(self.endpoint.stall_timeout_s, self.endpoint.request_timeout_s)
        period = period_s or max(0.01, min(0.25, shortest / 10))
        while True:
            await asyncio.sleep(period)
            self.check_timeouts()

    def interrupt_all(self) -> None:
        """Mark every in-flight request interrupted (used on SIGINT/SIGTERM)."""
        self.interrupted = True
        now = time.perf_counter()
        for conn, ex in list(self._active.values()):
            if not ex.future.done():
                conn._finish(ex, ERR_INTERRUPTED, "run interrupted", now)
                conn.abort()

    @property
    def in_flight(self) -> int:
        return len(self._active)

    async def close(self) -> None:
        for conn in self._idle:
            conn.abort()
        self._idle.clear()

    # -- auxiliary endpoints ----------------------------------------------------------------
    async def tokenize(self, text: str) -> int | None:
        """Token count from the server's ``/tokenize`` (llama.cpp, vLLM); None where it has none."""
        count = await self._tokenize_at(self.root_path + "/tokenize", {"content": text})
        if count is None:
            count = await self._tokenize_at(self.root_path + "/tokenize",
                                            {"model": self.endpoint.model, "prompt": text})
        return count

    async def _tokenize_at(self, path: str, body: dict[str, Any]) -> int | None:
        status, raw = await self.fetch("POST", path, json.dumps(body).encode())
        if status != 200:
            return None
        try:
            obj = json.loads(raw)
        except ValueError:
            return None
        if isinstance(obj, dict):
            if isinstance(obj.get("tokens"), list):
                return len(obj["tokens"])
            if isinstance(obj.get("count"), int):
                return obj["count"]
        return None

    async def fetch(self, method: str, path: str, payload: bytes = b"",
                    timeout_s: float = 30.0) -> tuple[int | None, bytes]:
        """One request to an auxiliary endpoint (``/tokenize``, ``/metrics``): its status and body, or None and b"".

        A kept-alive connection the server has closed in the meantime (llama.cpp closes them after a stream) fails
        without an answer: the request is then sent once more on a fresh connection.
        """
        status, body, reused = await self._fetch_once(method, path, payload, timeout_s, reuse=True)
        if status is None and reused:
            status, body, _reused = await self._fetch_once(method, path, payload, timeout_s, reuse=False)
        return status, body

    async def _fetch_once(self, method: str, path: str, payload: bytes, timeout_s: float,
                          reuse: bool) -> tuple[int | None, bytes, bool]:
        record = RequestRecord(request_id="")
        loop = asyncio.get_running_loop()
        record.start = time.perf_counter()
        conn = self._take_idle() if reuse else None
        reused = conn is not None
        if conn is None:
            try:
                conn = await self._connect()
            except (TimeoutError, OSError):
                return None, b"", False
        future: asyncio.Future = loop.create_future()
        ex = _Exchange(record, False, True, future)
        conn.exchange = ex
        conn.transport.write(self._request_bytes(method, path, payload, {}))  # type: ignore[union-attr]
        try:
            await asyncio.wait_for(asyncio.shield(future), timeout_s)
        except TimeoutError:
            conn.abort()
            return None, b"", False
        finally:
            conn.exchange = None
        if record.http_status == 200 and conn.keep_alive and not conn.closed:
            self._idle.append(conn)
        elif not conn.closed:
            conn.abort()
        # a non-200 body is a completion-style error to _complete; the status is what callers need
        return record.http_status, b"".join(ex.body), reused

    async def prewarm(self, count: int) -> int:
        """Open connections until ``count`` are idle and ready (kept alive); returns how many were opened."""
        self._idle = [conn for conn in self._idle if not conn.closed and conn.keep_alive]
        missing = max(0, count - len(self._idle))

        async def open_one() -> _Connection | None:
            try:
                return await self._connect()
            except (TimeoutError, OSError):
                return None  # the measured request that needs it reports the fault

        opened = [conn for conn in await asyncio.gather(*(open_one() for _index in range(missing))) if conn]
        self._idle.extend(opened)
        return len(opened)
