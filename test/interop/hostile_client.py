"""Sends header blocks that no gRPC library would, with python3-h2, for switchyard's tests.

  hostile_client.py --target HOST:PORT CASE [CASE ...]

For each case, on a connection of its own: an ordinary test.Echo/Unary call that takes 400 ms
(the neighbour), then the hostile call. Prints one JSON line per case:
{"case", "hostile", "neighbour"}, each "grpc-status N: message", "reset CODE" or "no answer".
Run it with /usr/bin/python3 (Debian's python, which has the h2 module).
"""

import argparse
import json
import socket
import time

import h2.config
import h2.connection
import h2.events

from ccore_peer import echo_request

CASES = {
    # What Node's parsed headers turned two x-foo-bin fields into: not base64.
    "joined-bin": [("x-foo-bin", "AQID, BAUG")],
    "repeated-bin": [("x-foo-bin", "AQID"), ("x-foo-bin", "BAUG")],
    "url-safe-bin": [("x-foo-bin", "-_-_")],
    "unpadded-bin": [("x-foo-bin", "AQIDBA")],
    # Over the 8 KiB SETTINGS_MAX_HEADER_LIST_SIZE that gRPC C-core advertises.
    "9k-metadata": [("x-big", "a" * 9000)],
    # te twice: each field is "trailers", as HTTP/2 requires; Node joins them.
    "te-twice": [("te", "trailers")],
    "user-agent-twice": [("user-agent", "one"), ("user-agent", "two")],
}


def frame(message):
    return b"\0" + len(message).to_bytes(4, "big") + message


def request_headers(extra):
    return [(":method", "POST"), (":scheme", "http"), (":path", "/test.Echo/Unary"),
            (":authority", "switchyard.test"), ("content-type", "application/grpc"),
            ("te", "trailers")] + extra


def run(target, extra):
    host, port = target.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=5)
    sock.settimeout(0.2)
    config = h2.config.H2Configuration(client_side=True, header_encoding="utf-8",
                                       validate_outbound_headers=False,
                                       normalize_outbound_headers=False)
    conn = h2.connection.H2Connection(config)
    conn.initiate_connection()
    conn.send_headers(1, request_headers([]))
    conn.send_data(1, frame(echo_request(delay_ms=400)), end_stream=True)
    conn.send_headers(3, request_headers(extra))
    conn.send_data(3, frame(echo_request(payload=b"hostile")), end_stream=True)
    sock.sendall(conn.data_to_send())
    results = {}
    until = time.monotonic() + 5
    while time.monotonic() < until and not (1 in results and 3 in results):
        try:
            data = sock.recv(65536)
        except socket.timeout:
            continue
        if not data:
            break
        for event in conn.receive_data(data):
            if isinstance(event, h2.events.StreamReset):
                results.setdefault(event.stream_id, f"reset {event.error_code}")
            elif isinstance(event, (h2.events.TrailersReceived, h2.events.ResponseReceived)):
                fields = dict(event.headers)
                if "grpc-status" in fields:
                    results.setdefault(event.stream_id, f"grpc-status {fields['grpc-status']}: "
                                                        f"{fields.get('grpc-message', '')}")
            elif isinstance(event, h2.events.DataReceived):
                conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        sock.sendall(conn.data_to_send())
    sock.close()
    return results.get(3, "no answer"), results.get(1, "no answer")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", required=True)
    parser.add_argument("cases", nargs="+", choices=sorted(CASES))
    args = parser.parse_args()
    for name in args.cases:
        hostile, neighbour = run(args.target, CASES[name])
        print(json.dumps({"case": name, "hostile": hostile, "neighbour": neighbour}), flush=True)


if __name__ == "__main__":
    main()
