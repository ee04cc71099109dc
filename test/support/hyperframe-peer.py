# An independent HTTP/2 frame codec for the frame layer's tests: Debian's python3-hyperframe
# parses bytes the project wrote and builds frames for the project's parser. One JSON request per
# line on stdin, one JSON answer per line on stdout:
#   {"parse": "<hex>"}    -> {"frames": [{type, flags, stream, length, ...fields}]}
#   {"build": [frame...]} -> {"hex": "<hex>"}
# Fields use the frame layer's names: data, pad, dependency, weight, exclusive, code, settings,
# opaque, lastStreamId, debug, increment, promised, body (hex for octets).
import json
import sys

from hyperframe.frame import (
    ContinuationFrame,
    DataFrame,
    ExtensionFrame,
    Frame,
    GoAwayFrame,
    HeadersFrame,
    PingFrame,
    PriorityFrame,
    PushPromiseFrame,
    RstStreamFrame,
    SettingsFrame,
    WindowUpdateFrame,
)

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
CLASSES = {
    0x0: DataFrame,
    0x1: HeadersFrame,
    0x2: PriorityFrame,
    0x3: RstStreamFrame,
    0x4: SettingsFrame,
    0x5: PushPromiseFrame,
    0x6: PingFrame,
    0x7: GoAwayFrame,
    0x8: WindowUpdateFrame,
    0x9: ContinuationFrame,
}


def flag_byte(frame):
    if isinstance(frame, ExtensionFrame):
        return frame.flag_byte
    value = 0
    for name, bit in frame.defined_flags:
        if name in frame.flags:
            value |= bit
    return value


def describe(frame, length):
    out = {"type": frame.type, "flags": flag_byte(frame), "stream": frame.stream_id, "length": length}
    if isinstance(frame, (DataFrame, HeadersFrame, PushPromiseFrame, ContinuationFrame)):
        out["data"] = frame.data.hex()
    if isinstance(frame, (DataFrame, HeadersFrame, PushPromiseFrame)):
        out["pad"] = frame.pad_length if "PADDED" in frame.flags else 0
    if isinstance(frame, PriorityFrame) or (isinstance(frame, HeadersFrame) and "PRIORITY" in frame.flags):
        out["dependency"] = frame.depends_on
        out["weight"] = frame.stream_weight
        out["exclusive"] = frame.exclusive
    if isinstance(frame, (RstStreamFrame, GoAwayFrame)):
        out["code"] = frame.error_code
    if isinstance(frame, SettingsFrame):
        out["settings"] = [[k, v] for k, v in frame.settings.items()]
    if isinstance(frame, PingFrame):
        out["opaque"] = frame.opaque_data.hex()
    if isinstance(frame, GoAwayFrame):
        out["lastStreamId"] = frame.last_stream_id
        out["debug"] = frame.additional_data.hex()
    if isinstance(frame, WindowUpdateFrame):
        out["increment"] = frame.window_increment
    if isinstance(frame, PushPromiseFrame):
        out["promised"] = frame.promised_stream_id
    if isinstance(frame, ExtensionFrame):
        out["body"] = frame.body.hex()
    return out


def parse(data):
    view = memoryview(data)
    at = len(PREFACE) if data.startswith(PREFACE) else 0
    frames = []
    while at < len(data):
        frame, length = Frame.parse_frame_header(view[at : at + 9])
        frame.parse_body(view[at + 9 : at + 9 + length])
        frames.append(describe(frame, length))
        at += 9 + length
    return frames


def names(spec, frame_class):
    byte = spec.get("flags", 0)
    return {name for name, bit in frame_class.defined_flags if byte & bit}


def build(spec):
    t = spec["type"]
    stream = spec.get("stream", 0)
    if t not in CLASSES:
        body = bytes.fromhex(spec.get("body", ""))
        frame = ExtensionFrame(type=t, stream_id=stream, flag_byte=spec.get("flags", 0), body=body)
        frame.body_len = len(body)
        return frame.serialize()
    cls = CLASSES[t]
    frame = cls(stream)
    for name in names(spec, cls):
        frame.flags.add(name)
    if "data" in spec:
        frame.data = bytes.fromhex(spec["data"])
    if "pad" in spec:
        frame.pad_length = spec["pad"]
    if "dependency" in spec:
        frame.depends_on = spec["dependency"]
        frame.stream_weight = spec["weight"]
        frame.exclusive = spec["exclusive"]
    if "code" in spec:
        frame.error_code = spec["code"]
    if "settings" in spec:
        frame.settings = {k: v for k, v in spec["settings"]}
    if "opaque" in spec:
        frame.opaque_data = bytes.fromhex(spec["opaque"])
    if "lastStreamId" in spec:
        frame.last_stream_id = spec["lastStreamId"]
        frame.additional_data = bytes.fromhex(spec.get("debug", ""))
    if "increment" in spec:
        frame.window_increment = spec["increment"]
    if "promised" in spec:
        frame.promised_stream_id = spec["promised"]
    return frame.serialize()


for line in sys.stdin:
    request = json.loads(line)
    try:
        if "parse" in request:
            answer = {"frames": parse(bytes.fromhex(request["parse"]))}
        else:
            answer = {"hex": b"".join(build(s) for s in request["build"]).hex()}
    except Exception as err:  # reported to the test, which fails with it
        answer = {"error": "%s: %s" % (type(err).__name__, err)}
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()
