# Runs an OpenFaaS python3 template handler (function/handler.py,
# `def handle(req)` with the request body as a string) unchanged on this
# platform's exec runtime, as the template's classic watchdog does: the
# body on stdin, what the handler returns printed to stdout.
# Written into the bundle by `faas deploy`; do not edit the handler.
import sys

from function import handler


if __name__ == "__main__":
    request = sys.stdin.read()
    answer = handler.handle(request)
    if answer is not None:
        print(answer)
