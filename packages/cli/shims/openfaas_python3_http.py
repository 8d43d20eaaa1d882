# Runs an OpenFaaS python3-http template handler (function/handler.py,
# `def handle(event, context)` returning {statusCode, body, headers})
# unchanged on this platform's python3 runtime. It rebuilds the event the
# template's Flask server gives the handler, and answers as that server
# does. Written into the bundle by `faas deploy`; do not edit the handler.
import base64
import json
import os

from function import handler as function_handler


class Headers(dict):
    """Request headers read case-insensitively, as Flask's are."""

    def __init__(self, values):
        super().__init__({key.title(): value for key, value in values.items()})

    def __getitem__(self, key):
        return super().__getitem__(key.title())

    def __contains__(self, key):
        return super().__contains__(str(key).title())

    def get(self, key, default=None):
        return super().get(str(key).title(), default)


class Event:
    def __init__(self, request):
        self.body = request["body"]
        self.headers = request["headers"]
        self.method = request["method"]
        self.query = request["query"]
        self.path = request["path"]


class Context:
    def __init__(self):
        self.hostname = os.getenv("HOSTNAME", "localhost")


def _request_of(event):
    """Our runtime's HTTP event; an event invocation counts as a POST of the event as JSON."""
    if isinstance(event, dict) and isinstance(event.get("method"), str) and isinstance(event.get("isBase64Encoded"), bool):
        body = base64.b64decode(event["body"]) if event["isBase64Encoded"] else event["body"].encode("utf-8")
        query = {key: (value[0] if isinstance(value, list) else value) for key, value in event.get("query", {}).items()}
        headers = Headers(event.get("headers", {}))
        return {"body": body, "headers": headers, "method": event["method"], "query": query, "path": event.get("path", "/")}
    if isinstance(event, bytes):
        body = event
    elif isinstance(event, str):
        body = event.encode("utf-8")
    else:
        body = json.dumps(event).encode("utf-8")
    return {"body": body, "headers": Headers({"content-type": "application/json"}), "method": "POST", "query": {}, "path": "/"}


def _text(status, body, headers, content_type="text/html; charset=utf-8"):
    merged = {"content-type": content_type}
    merged.update({str(key).lower(): str(value) for key, value in headers})
    if isinstance(body, bytes):
        return {"statusCode": status, "headers": merged, "body": base64.b64encode(body).decode("ascii"), "isBase64Encoded": True}
    return {"statusCode": status, "headers": merged, "body": body, "isBase64Encoded": False}


def _response_of(answer):
    """What the template's Flask server sends for each kind of answer."""
    if answer is None:
        return _text(200, "", [])
    if isinstance(answer, dict):
        status = answer.get("statusCode", 200)
        headers = answer.get("headers", [])
        headers = list(headers.items()) if isinstance(headers, dict) else list(headers)
        if "body" not in answer:
            return _text(status, "", headers)
        if isinstance(answer["body"], dict):
            # As Flask's jsonify: sorted keys, compact, a closing newline.
            return _text(status, json.dumps(answer["body"], separators=(",", ":"), sort_keys=True) + "\n", headers, "application/json")
        return _text(status, str(answer["body"]), headers)
    if isinstance(answer, (str, bytes)):
        return _text(200, answer, [])
    if isinstance(answer, tuple):
        body = answer[0]
        status = answer[1] if len(answer) > 1 and isinstance(answer[1], int) else 200
        return _text(status, body if isinstance(body, (str, bytes)) else json.dumps(body), [])
    return _text(200, json.dumps(answer), [], "application/json")


def handler(event, context):
    return _response_of(function_handler.handle(Event(_request_of(event)), Context()))
