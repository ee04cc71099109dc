"""A gRPC C-core peer (Debian's python3-grpcio) for switchyard's interop tests.

Speaks the test.Echo service of test/fixtures/echo.proto without generated code: generic
handlers move raw bytes, and the few protobuf fields are encoded here by hand.

  ccore_peer.py server --name NAME
      Serves test.Echo on 127.0.0.1 (a free port) with the echo backend's rules, and prints
      "listening on 127.0.0.1:PORT". Request metadata `x-echo-REST` comes back as
      `x-echo-h-REST` in the headers and `x-echo-t-REST` in the trailers, every value in order.
      Prints "cancelled METHOD" when a call is cancelled. Exits when stdin closes.

  ccore_peer.py client --target HOST:PORT [--case NAME ...] [--server-joins-text]
      Runs the named cases (all by default) through one channel and prints one JSON line per
      case: {"case", "ok", "detail"}. --server-joins-text: the server reads a repeated text key
      as one value joined with ", " (grpc-js does, through node:http2), so expect that back.

Run it with /usr/bin/python3 (Debian's python, which has the grpc module).
"""

import argparse
import json
import sys
import threading
import time
from concurrent import futures

import grpc

SERVICE = "test.Echo"
ECHO_PREFIX = "x-echo-"

# --- protobuf, by hand: varints and length-delimited fields are all test.Echo uses ---------


def _varint(n):
    if n < 0:
        n += 1 << 64
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def encode(fields):
    """fields: [(number, value)], value an int or bytes/str (omitted when zero or empty)."""
    out = bytearray()
    for number, value in fields:
        if isinstance(value, bool):
            value = int(value)
        if isinstance(value, int):
            if value:
                out += _varint(number << 3) + _varint(value)
        else:
            data = value.encode() if isinstance(value, str) else value
            if data:
                out += _varint((number << 3) | 2) + _varint(len(data)) + data
    return bytes(out)


def decode(data):
    """{number: value} of the last occurrence of each field; ints and bytes."""
    fields = {}
    i = 0
    while i < len(data):
        key, i = _read_varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            fields[number], i = _read_varint(data, i)
        elif wire == 2:
            size, i = _read_varint(data, i)
            fields[number] = data[i : i + size]
            i += size
        else:
            raise ValueError(f"unexpected wire type {wire}")
    return fields


def _read_varint(data, i):
    n = shift = 0
    while True:
        b = data[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, i


def echo_request(payload=b"", response_count=0, response_size=0, status_code=0,
                 status_message="", delay_ms=0, trailers_only=False):
    return encode([(1, payload), (2, response_count), (3, response_size), (4, status_code),
                   (5, status_message), (6, delay_ms), (7, trailers_only)])


def echo_response(payload=b"", backend="", index=0, received_messages=0, received_bytes=0):
    return encode([(1, payload), (2, backend), (3, index), (4, received_messages),
                   (5, received_bytes)])


def pattern(size):
    """The echo backend's payload: byte i is i % 251."""
    return bytes(i % 251 for i in range(251)) * (size // 251) + bytes(range(size % 251))


# --- server ----------------------------------------------------------------------------------


class Request:
    def __init__(self, data):
        f = decode(data)
        self.payload = f.get(1, b"")
        self.response_count = f.get(2, 0)
        self.response_size = f.get(3, 0)
        self.status_code = f.get(4, 0)
        self.status_message = f.get(5, b"").decode()
        self.delay_ms = f.get(6, 0)
        self.trailers_only = bool(f.get(7, 0))


def reflected(context, part):
    """The call's x-echo-* metadata renamed to x-echo-PART-*, every value in order."""
    out = []
    for key, value in context.invocation_metadata():
        if key.startswith(ECHO_PREFIX):
            out.append((f"{ECHO_PREFIX}{part}-{key[len(ECHO_PREFIX):]}", value))
    return out


class Echo:
    def __init__(self, name):
        self.name = name

    def _watch(self, context, method):
        def cancelled():
            if not context.is_active():
                print(f"cancelled {method}", flush=True)
        context.add_callback(cancelled)

    def _wait(self, context, delay_ms):
        """Waits delay_ms, or until the call is cancelled; False when it was."""
        until = time.monotonic() + delay_ms / 1000
        while time.monotonic() < until:
            if not context.is_active():
                return False
            time.sleep(min(0.01, max(0, until - time.monotonic())))
        return context.is_active()

    def _fail(self, context, request, headers_sent):
        if request.trailers_only and not headers_sent:
            context.set_trailing_metadata(reflected(context, "h") + reflected(context, "t"))
        else:
            context.set_trailing_metadata(reflected(context, "t"))
        context.abort(grpc.StatusCode(_code(request.status_code)), request.status_message)

    def _answer(self, request, index=0):
        payload = pattern(request.response_size) if request.response_size > 0 else request.payload
        return echo_response(payload=payload, backend=self.name, index=index)

    def unary(self, data, context):
        self._watch(context, "Unary")
        request = Request(data)
        failing = request.status_code != 0
        if not (failing and request.trailers_only):
            context.send_initial_metadata(reflected(context, "h"))
        if not self._wait(context, request.delay_ms):
            return b""
        if failing:
            self._fail(context, request, headers_sent=not request.trailers_only)
        context.set_trailing_metadata(reflected(context, "t"))
        return echo_response(
            payload=pattern(request.response_size) if request.response_size else request.payload,
            backend=self.name, received_messages=1, received_bytes=len(request.payload))

    def server_stream(self, data, context):
        self._watch(context, "ServerStream")
        request = Request(data)
        if request.status_code != 0 and request.trailers_only:
            self._wait(context, request.delay_ms)
            self._fail(context, request, headers_sent=False)
        context.send_initial_metadata(reflected(context, "h"))
        if not self._wait(context, request.delay_ms):
            return
        for index in range(max(1, request.response_count)):
            if not context.is_active():
                return
            yield self._answer(request, index)
        if request.status_code != 0:
            self._fail(context, request, headers_sent=True)
        context.set_trailing_metadata(reflected(context, "t"))

    def client_stream(self, iterator, context):
        self._watch(context, "ClientStream")
        first = None
        messages = size = 0
        for data in iterator:
            request = Request(data)
            messages += 1
            size += len(request.payload)
            if first is None:
                first = request
                if request.status_code != 0:
                    if not request.trailers_only:
                        context.send_initial_metadata(reflected(context, "h"))
                    self._fail(context, request, headers_sent=not request.trailers_only)
                context.send_initial_metadata(reflected(context, "h"))
        if first is None:
            context.send_initial_metadata(reflected(context, "h"))
        if first is not None and not self._wait(context, first.delay_ms):
            return b""
        context.set_trailing_metadata(reflected(context, "t"))
        return echo_response(payload=pattern(first.response_size if first else 0),
                             backend=self.name, received_messages=messages,
                             received_bytes=size)

    def bidi(self, iterator, context):
        self._watch(context, "Bidi")
        headers_sent = False
        index = 0
        for data in iterator:
            request = Request(data)
            if not self._wait(context, request.delay_ms):
                return
            if request.status_code != 0:
                self._fail(context, request, headers_sent)
            if not headers_sent:
                context.send_initial_metadata(reflected(context, "h"))
                headers_sent = True
            yield self._answer(request, index)
            index += 1
        if not headers_sent:
            context.send_initial_metadata(reflected(context, "h"))
        context.set_trailing_metadata(reflected(context, "t"))


def _code(number):
    for code in grpc.StatusCode:
        if code.value[0] == number:
            return code.value
    return grpc.StatusCode.UNKNOWN.value


def serve(name):
    echo = Echo(name)
    handler = grpc.method_handlers_generic_handler(SERVICE, {
        "Unary": grpc.unary_unary_rpc_method_handler(echo.unary),
        "ServerStream": grpc.unary_stream_rpc_method_handler(echo.server_stream),
        "ClientStream": grpc.stream_unary_rpc_method_handler(echo.client_stream),
        "Bidi": grpc.stream_stream_rpc_method_handler(echo.bidi),
    })
    # Every call holds a thread while it runs; 32 covers the tests' concurrent calls.
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=32), handlers=(handler,),
                         options=[("grpc.so_reuseport", 0)])
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(f"listening on 127.0.0.1:{port}", flush=True)
    # The test owns this process through its stdin: when that closes, stop.
    sys.stdin.read()
    server.stop(grace=None)


# --- client ------------------------------------------------------------------------------------

# Repeated keys, one binary and one text, as gRPC allows: each value must arrive on its own.
REPEATED = [
    ("x-echo-foo-bin", b"\x01\x02\x03"),
    ("x-echo-foo-bin", b"\x04\x05\x06"),
    ("x-echo-text", "one"),
    ("x-echo-text", "two, three"),
]


def _values(metadata, key):
    return [value for k, value in (metadata or ()) if k == key]


# Set by --server-joins-text.
SERVER_JOINS_TEXT = False


def _check_reflected(metadata, part, where):
    problems = []
    for sent_key in ("x-echo-foo-bin", "x-echo-text"):
        key = f"{ECHO_PREFIX}{part}-{sent_key[len(ECHO_PREFIX):]}"
        want = [value for k, value in REPEATED if k == sent_key]
        if SERVER_JOINS_TEXT and not sent_key.endswith("-bin"):
            want = [", ".join(want)]
        got = _values(metadata, key)
        if got != want:
            problems.append(f"{where} {key}: got {got!r}, want {want!r}")
    return problems


def case_repeated_metadata_unary(channel):
    call = channel.unary_unary(f"/{SERVICE}/Unary")
    response, info = call.with_call(echo_request(payload=b"hi"), metadata=REPEATED, timeout=10)
    problems = _check_reflected(info.initial_metadata(), "h", "headers")
    problems += _check_reflected(info.trailing_metadata(), "t", "trailers")
    if decode(response).get(1) != b"hi":
        problems.append("payload not echoed")
    return problems


def case_repeated_metadata_trailers_only(channel):
    call = channel.unary_unary(f"/{SERVICE}/Unary")
    try:
        call.with_call(echo_request(status_code=9, status_message="refused here",
                                    trailers_only=True), metadata=REPEATED, timeout=10)
        return ["the call succeeded"]
    except grpc.RpcError as err:
        problems = []
        if err.code() != grpc.StatusCode.FAILED_PRECONDITION:
            problems.append(f"status {err.code()}: {err.details()}")
        problems += _check_reflected(err.trailing_metadata(), "h", "trailers-only")
        problems += _check_reflected(err.trailing_metadata(), "t", "trailers-only")
        return problems


def case_repeated_metadata_stream(channel):
    call = channel.stream_stream(f"/{SERVICE}/Bidi")
    responses = call(iter([echo_request(payload=b"a"), echo_request(payload=b"b")]),
                     metadata=REPEATED, timeout=10)
    got = [decode(m).get(1) for m in responses]
    problems = [] if got == [b"a", b"b"] else [f"messages {got!r}"]
    problems += _check_reflected(responses.initial_metadata(), "h", "headers")
    problems += _check_reflected(responses.trailing_metadata(), "t", "trailers")
    return problems


def case_unary(channel):
    response = channel.unary_unary(f"/{SERVICE}/Unary")(echo_request(payload=b"ping"), timeout=10)
    f = decode(response)
    return [] if f.get(1) == b"ping" and f.get(2) else [f"answer {f!r}"]


def case_server_streaming(channel):
    responses = channel.unary_stream(f"/{SERVICE}/ServerStream")(
        echo_request(response_count=5, response_size=31415), timeout=10)
    got = [decode(m) for m in responses]
    problems = []
    if [f.get(3, 0) for f in got] != list(range(5)):
        problems.append(f"indexes {[f.get(3, 0) for f in got]}")
    if any(f.get(1) != pattern(31415) for f in got):
        problems.append("payload corrupted")
    return problems


def case_client_streaming(channel):
    sizes = [27182, 8, 1828, 45904]
    response = channel.stream_unary(f"/{SERVICE}/ClientStream")(
        iter([echo_request(payload=b"x" * n) for n in sizes]), timeout=10)
    f = decode(response)
    if f.get(4) != len(sizes) or f.get(5) != sum(sizes):
        return [f"counted {f.get(4)} messages, {f.get(5)} bytes"]
    return []


def case_bidi_ping_pong(channel):
    requests = []
    done = threading.Event()
    cond = threading.Condition()
    answered = [0]

    def produce():
        # One request, then wait for its answer before the next: a real ping-pong.
        for i in range(4):
            yield echo_request(payload=bytes([i]) * (i * 1000 + 1))
            with cond:
                cond.wait_for(lambda: answered[0] > i or done.is_set(), timeout=5)

    responses = channel.stream_stream(f"/{SERVICE}/Bidi")(produce(), timeout=10)
    try:
        for message in responses:
            requests.append(decode(message).get(1))
            with cond:
                answered[0] += 1
                cond.notify_all()
    finally:
        done.set()
    want = [bytes([i]) * (i * 1000 + 1) for i in range(4)]
    return [] if requests == want else [f"got {len(requests)} answers, not the 4 sent"]


def case_trailers_only_error(channel):
    try:
        channel.unary_unary(f"/{SERVICE}/Unary")(
            echo_request(status_code=5, status_message="no such thing: ünïcode % here",
                         trailers_only=True), timeout=10)
        return ["the call succeeded"]
    except grpc.RpcError as err:
        if err.code() != grpc.StatusCode.NOT_FOUND:
            return [f"status {err.code()}"]
        if err.details() != "no such thing: ünïcode % here":
            return [f"details {err.details()!r}"]
        return []


def case_large_message(channel):
    size = 2 * 1024 * 1024
    response = channel.unary_unary(f"/{SERVICE}/Unary")(
        echo_request(payload=pattern(size // 2), response_size=size), timeout=20)
    return [] if decode(response).get(1) == pattern(size) else ["large answer corrupted"]


def case_deadline_exceeded(channel):
    started = time.monotonic()
    try:
        channel.unary_unary(f"/{SERVICE}/Unary")(echo_request(delay_ms=5000), timeout=0.3)
        return ["the call succeeded"]
    except grpc.RpcError as err:
        took = time.monotonic() - started
        problems = [] if err.code() == grpc.StatusCode.DEADLINE_EXCEEDED else [
            f"status {err.code()}"]
        if took > 3:
            problems.append(f"ended after {took:.1f} s, not at the 0.3 s deadline")
        return problems


def case_cancel_after_first_response(channel):
    responses = channel.unary_stream(f"/{SERVICE}/ServerStream")(
        echo_request(response_count=1_000_000, response_size=1024), timeout=10)
    next(responses)
    responses.cancel()
    try:
        for _ in responses:
            pass
        return ["the stream went on after cancel()"]
    except grpc.RpcError as err:
        return [] if err.code() == grpc.StatusCode.CANCELLED else [f"status {err.code()}"]


CASES = {name[len("case_"):]: fn for name, fn in globals().items() if name.startswith("case_")}


def run_client(target, names):
    with grpc.insecure_channel(target) as channel:
        grpc.channel_ready_future(channel).result(timeout=10)
        for name in names:
            try:
                problems = CASES[name](channel)
            except grpc.RpcError as err:
                problems = [f"{err.code()}: {err.details()}"]
            except Exception as err:  # a case must report, never stop the others
                problems = [f"{type(err).__name__}: {err}"]
            print(json.dumps({"case": name, "ok": not problems, "detail": "; ".join(problems)}),
                  flush=True)


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="mode", required=True)
    server = sub.add_parser("server")
    server.add_argument("--name", default="ccore")
    client = sub.add_parser("client")
    client.add_argument("--target", required=True)
    client.add_argument("--case", action="append", choices=sorted(CASES))
    client.add_argument("--server-joins-text", action="store_true")
    args = parser.parse_args()
    if args.mode == "server":
        serve(args.name)
    else:
        global SERVER_JOINS_TEXT
        SERVER_JOINS_TEXT = args.server_joins_text
        run_client(args.target, args.case or list(CASES))


if __name__ == "__main__":
    main()
