"""The python3 runtime agent: PID 1 of every python3 sandbox.

Speaks the same frames as the Node agent (src/agent/wire.ts) over the unix
socket /run/faas/agent.sock. LOAD imports `file.function` from the code
directory; INVOKE calls handler(event, context) and answers with the result
JSON-encoded, or FUNCTION_ERROR typed by the exception's class name. What the
handler prints goes back as LOG frames for its call, at most 256 KiB a call.
Standard library only: it runs as /usr/bin/python3 with nothing installed.
Calls run one at a time (one call at a time per sandbox is the platform's rule).
"""

import importlib.util
import json
import os
import socket
import struct
import sys
import time
import traceback
import base64
from urllib.parse import parse_qsl

LOAD, INVOKE, OK, ERROR, RESULT, FUNCTION_ERROR, LOG, PING = 1, 2, 3, 4, 5, 6, 7, 8
FIXED_AFTER_LENGTH = 4 + 1 + 4
MAX_FRAME_BYTES = 256 * 1024 * 1024
MAX_CALL_LOG_BYTES = 256 * 1024
TRUNCATION_MARKER = b"\n[faas: output truncated: this call wrote more than 256 KiB]\n"
SOCKET_PATH = os.environ.get("FAAS_AGENT_SOCKET") or "/run/faas/agent.sock"


def encode_frame(request_id, frame_type, header=None, body=b""):
    header_bytes = b"" if header is None else json.dumps(header, separators=(",", ":")).encode("utf-8")
    length = FIXED_AFTER_LENGTH + len(header_bytes) + len(body)
    return struct.pack(">IIBI", length, request_id, frame_type, len(header_bytes)) + header_bytes + body


class Connection:
    def __init__(self, sock):
        self.sock = sock
        self.buffer = bytearray()

    def send(self, request_id, frame_type, header=None, body=b""):
        self.sock.sendall(encode_frame(request_id, frame_type, header, body))

    def frames(self):
        while True:
            while len(self.buffer) >= 4:
                (length,) = struct.unpack_from(">I", self.buffer, 0)
                if length < FIXED_AFTER_LENGTH or length > MAX_FRAME_BYTES:
                    raise ValueError("corrupt frame: length %d" % length)
                if len(self.buffer) < 4 + length:
                    break
                request_id, frame_type, header_length = struct.unpack_from(">IBI", self.buffer, 4)
                header_start = 4 + FIXED_AFTER_LENGTH
                body_start = header_start + header_length
                header_bytes = bytes(self.buffer[header_start:body_start])
                body = bytes(self.buffer[body_start : 4 + length])
                del self.buffer[: 4 + length]
                header = json.loads(header_bytes.decode("utf-8")) if header_bytes else None
                yield request_id, frame_type, header, body
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                return
            self.buffer += chunk


class CallLog:
    """Forwards one call's output, bounded, as LOG frames."""

    def __init__(self, connection, call_id):
        self.connection = connection
        self.call_id = call_id
        self.written = 0
        self.truncated = False

    def write(self, stream, data):
        if self.truncated or not data:
            return
        room = MAX_CALL_LOG_BYTES - self.written
        part = data if len(data) <= room else data[: max(room, 0)]
        if part:
            self.written += len(part)
            self._send(stream, part)
        if len(part) < len(data):
            self.truncated = True
            self._send("stderr", TRUNCATION_MARKER)

    def _send(self, stream, data):
        try:
            self.connection.send(0, LOG, {"callId": self.call_id, "stream": stream}, data)
        except OSError:
            pass


class CapturedStream:
    """Stands in for sys.stdout/sys.stderr while a call runs; sends whole lines."""

    encoding = "utf-8"
    errors = "replace"

    def __init__(self, log, name):
        self.log = log
        self.name = name
        self.pending = bytearray()

    def write(self, text):
        data = text.encode("utf-8", "replace") if isinstance(text, str) else bytes(text)
        self.pending += data
        if b"\n" in data or len(self.pending) >= 4096:
            self.flush()
        return len(text)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        if self.pending:
            self.log.write(self.name, bytes(self.pending))
            self.pending.clear()

    def isatty(self):
        return False

    def fileno(self):
        raise OSError("captured output has no file descriptor")

    @property
    def buffer(self):
        return self


class Context:
    """The handler's context, with the Node context's fields in Python style."""

    def __init__(self, header, function):
        self.call_id = header.get("callId", "")
        self.aws_request_id = self.call_id
        self.function_name = function["functionName"]
        self.function_version = function["version"]
        self.memory_limit_in_mb = function["memoryMb"]
        self.traceparent = header.get("traceparent") or ""
        self.tracestate = header.get("tracestate") or ""
        # The CloudEvent's attributes (id, source, type, ...) when the event came as one.
        self.cloud_event = header.get("cloudEvent")
        self._deadline_ms = header.get("deadlineMs", 0)

    def get_remaining_time_in_millis(self):
        return max(0, int(self._deadline_ms - time.time() * 1000))


class LoadFailure(Exception):
    def __init__(self, error_type, message):
        super().__init__(message)
        self.error_type = error_type


def resolve_handler(code_dir, spec):
    module_path, dot, function_name = spec.rpartition(".")
    if not dot or not module_path or not function_name:
        raise LoadFailure("HandlerNotFound", 'handler "%s" is not of the form file.function' % spec)
    relative = os.path.normpath(module_path)
    if os.path.isabs(relative) or relative.startswith(".."):
        raise LoadFailure("HandlerNotFound", 'handler "%s" points outside the code directory' % spec)
    file = os.path.join(code_dir, relative + ".py")
    if not os.path.isfile(file):
        file = os.path.join(code_dir, relative, "__init__.py")
        if not os.path.isfile(file):
            raise LoadFailure("HandlerNotFound", "no module %s.py in the function's code" % relative)
    if code_dir not in sys.path:
        sys.path.insert(0, code_dir)
    module_name = relative.replace(os.sep, ".")
    try:
        spec_ = importlib.util.spec_from_file_location(module_name, file)
        module = importlib.util.module_from_spec(spec_)
        sys.modules[module_name] = module
        spec_.loader.exec_module(module)
    except BaseException as error:  # a module may even call sys.exit
        raise LoadFailure("InitError", "%s: %s" % (type(error).__name__, error))
    handler = getattr(module, function_name, None)
    if not callable(handler):
        raise LoadFailure("HandlerNotFound", '%s does not define a function named "%s"' % (relative, function_name))
    return handler


def decode_event(header, payload):
    if header.get("kind") == "http":
        http = header.get("http") or {}
        raw_query = http.get("rawQuery", "")
        query = {}
        for key, value in parse_qsl(raw_query, keep_blank_values=True):
            if key not in query:
                query[key] = value
            elif isinstance(query[key], list):
                query[key].append(value)
            else:
                query[key] = [query[key], value]
        try:
            body, is_base64 = payload.decode("utf-8"), False
        except UnicodeDecodeError:
            body, is_base64 = base64.b64encode(payload).decode("ascii"), True
        return {
            "method": http.get("method", "GET"),
            "path": http.get("path", "/"),
            "query": query,
            "rawQuery": raw_query,
            "headers": {name.lower(): value for name, value in (http.get("headers") or {}).items()},
            "pathParameters": dict(http.get("pathParameters") or {}),
            "body": body,
            "isBase64Encoded": is_base64,
        }
    # As Lambda's Invoke: JSON whatever the content type says, else text, else bytes.
    if not payload:
        return payload
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        return payload
    try:
        return json.loads(text)
    except ValueError:
        return text


JSON_TYPE = "application/json; charset=utf-8"


def header_text(value):
    # As JavaScript's String() would write it, so both agents send the same headers.
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def http_reply(value):
    """A handler's return value as (head, body) for an HTTP call: {statusCode, headers,
    cookies, body, isBase64Encoded} shapes the response; anything else is 200 JSON.
    The funclet checks the status and headers."""
    status = value.get("statusCode") if isinstance(value, dict) else None
    if not isinstance(status, (int, float)) or isinstance(status, bool):
        return {"status": 200, "headers": {"content-type": JSON_TYPE}}, json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    headers = {}
    raw = value.get("headers")
    if isinstance(raw, dict):
        for name, item in raw.items():
            items = item if isinstance(item, list) else [item]
            texts = [header_text(v) for v in items if isinstance(v, (str, int, float, bool))]
            if texts:
                headers[str(name)] = texts[0] if len(texts) == 1 else texts
    cookies = value.get("cookies")
    if isinstance(cookies, list):
        texts = [cookie for cookie in cookies if isinstance(cookie, str)]
        if texts:
            existing = headers.get("set-cookie", [])
            headers["set-cookie"] = (existing if isinstance(existing, list) else [existing]) + texts
    body = value.get("body")
    default_type = None
    if body is None:
        data = b""
    elif isinstance(body, str):
        base64_body = value.get("isBase64Encoded") is True
        data = base64.b64decode(body) if base64_body else body.encode("utf-8")
        default_type = "application/octet-stream" if base64_body else "text/plain; charset=utf-8"
    else:
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        default_type = JSON_TYPE
    if default_type and not any(name.lower() == "content-type" for name in headers):
        headers["content-type"] = default_type
    return {"status": status, "headers": headers}, data


def error_header(error, fallback_type="Error"):
    return {
        "type": type(error).__name__ or fallback_type,
        "message": str(error),
        "stack": "".join(traceback.format_exception(type(error), error, error.__traceback__)),
    }


class Agent:
    def __init__(self):
        self.handler = None
        self.function = None

    def load(self, connection, request_id, header):
        if self.handler is not None:
            connection.send(request_id, ERROR, {"type": "InitError", "message": "this sandbox already loaded a function"})
            return
        os.environ.update(header.get("env") or {})
        os.environ["FAAS_FUNCTION_NAME"] = header["functionName"]
        os.environ["FAAS_FUNCTION_VERSION"] = header["version"]
        os.environ["FAAS_FUNCTION_MEMORY_MB"] = str(header["memoryMb"])
        code_dir = header.get("codeDir") or "/var/task"
        try:
            os.chdir(code_dir)
            self.handler = resolve_handler(code_dir, header["handler"])
            self.function = header
            connection.send(request_id, OK)
        except LoadFailure as failure:
            connection.send(request_id, ERROR, {"type": failure.error_type, "message": str(failure), "stack": ""})
        except Exception as error:
            connection.send(request_id, ERROR, error_header(error, "InitError"))

    def invoke(self, connection, request_id, header, payload):
        if self.handler is None:
            connection.send(request_id, ERROR, {"type": "InitError", "message": "no function is loaded in this sandbox"})
            return
        log = CallLog(connection, header.get("callId", ""))
        stdout, stderr = CapturedStream(log, "stdout"), CapturedStream(log, "stderr")
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = stdout, stderr
        try:
            result = self.handler(decode_event(header, payload), Context(header, self.function))
            if header.get("kind") == "http":
                head, body = http_reply(result)
                reply = (RESULT, head, body)
            else:
                reply = (RESULT, None, json.dumps(result, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
        except BaseException as error:  # SystemExit included: it ends the call, not the runtime
            reply = (FUNCTION_ERROR, error_header(error), b"")
        finally:
            stdout.flush()
            stderr.flush()
            sys.stdout, sys.stderr = saved
        connection.send(request_id, reply[0], reply[1], reply[2])

    def serve(self, connection):
        for request_id, frame_type, header, body in connection.frames():
            if frame_type == LOAD:
                self.load(connection, request_id, header)
            elif frame_type == INVOKE:
                self.invoke(connection, request_id, header, body)
            elif frame_type == PING:
                connection.send(request_id, OK, None, b"")
            else:
                connection.send(request_id, ERROR, {"type": "ProtocolError", "message": "unknown frame type %d" % frame_type})


def main():
    sys.dont_write_bytecode = True
    if os.path.exists(SOCKET_PATH):
        os.unlink(SOCKET_PATH)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(SOCKET_PATH)
    server.listen(8)
    agent = Agent()
    while True:
        sock, _ = server.accept()
        try:
            agent.serve(Connection(sock))
        except (OSError, ValueError) as error:
            sys.stderr.write("dropping connection: %s\n" % error)
        finally:
            sock.close()


if __name__ == "__main__":
    main()
