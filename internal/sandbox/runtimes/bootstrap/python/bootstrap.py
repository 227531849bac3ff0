"""lambdaplane's Python runtime.

A Lambda Runtime API client that imports the function's handler and serves
invocations with the behaviour of Lambda's managed python runtimes (handler
resolution, context object, logging format, error shapes). It must run
unchanged on Python 3.8 through 3.13.

Usage: python -u bootstrap.py HANDLER TASK_ROOT
Environment: AWS_LAMBDA_RUNTIME_API (host:port) and Lambda's reserved
variables; PYTHONPATH names the AWS SDK directory.
"""

import importlib
import json
import logging
import os
import socket
import sys
import time
import traceback

API_PREFIX = "/2018-06-01/runtime"
ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"
# Lambda joins the lines of an error report with \r so that the log
# collector, which splits on \n, keeps it in one event; stack lines are
# indented with no-break spaces for the same reason.
ERROR_LINE_SEPARATOR = "\r"
ERROR_INDENT = "\u00a0"

_request_id = None


class Fault(Exception):
    """An error the runtime itself reports, with Lambda's Runtime.* type."""

    def __init__(self, error_type, message, trace=None):
        Exception.__init__(self, message)
        self.error_type = error_type
        self.message = message
        self.trace = trace


class RuntimeClient(object):
    """HTTP/1.1 with one kept-alive connection to the Runtime API.

    Written on the socket module rather than http.client, whose imports
    (email, ssl) would add tens of milliseconds to every cold start.
    """

    def __init__(self, address):
        host, _, port = address.rpartition(":")
        self.address = (host, int(port))
        self.host_header = address
        self.sock = None
        self.rfile = None

    def _connect(self):
        self.sock = socket.create_connection(self.address)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.rfile = self.sock.makefile("rb")

    def _close(self):
        if self.sock is not None:
            self.rfile.close()
            self.sock.close()
        self.sock = None
        self.rfile = None

    def _request(self, method, path, body=b"", headers=None):
        # The kept-alive connection may have been closed by the server while
        # idle; that shows on the first use, so one retry on a new one.
        for attempt in (0, 1):
            try:
                if self.sock is None:
                    self._connect()
                return self._exchange(method, path, body, headers or {})
            except (OSError, EOFError, ValueError):
                self._close()
                if attempt:
                    raise

    def _exchange(self, method, path, body, headers):
        lines = [
            "%s %s%s HTTP/1.1" % (method, API_PREFIX, path),
            "Host: " + self.host_header,
            "Content-Length: %d" % len(body),
        ]
        for name, value in headers.items():
            lines.append("%s: %s" % (name, value))
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body)

        status_line = self._line()
        status = int(status_line.split(None, 2)[1])
        response_headers = {}
        while True:
            line = self._line()
            if line in (b"\r\n", b"\n"):
                break
            name, _, value = line.decode("utf-8", "replace").partition(":")
            response_headers[name.strip().lower()] = value.strip()
        if response_headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self._line().split(b";")[0], 16)
                if size == 0:
                    while self._line() not in (b"\r\n", b"\n"):
                        pass  # trailers
                    break
                chunks.append(self._read(size))
                self._line()
            data = b"".join(chunks)
        else:
            data = self._read(int(response_headers.get("content-length", "0")))
        if response_headers.get("connection", "").lower() == "close":
            self._close()
        return status, response_headers, data

    def _line(self):
        line = self.rfile.readline(65537)
        if not line:
            raise EOFError("Runtime API closed the connection")
        return line

    def _read(self, n):
        data = self.rfile.read(n)
        if len(data) != n:
            raise EOFError("Runtime API closed the connection")
        return data

    def next(self):
        status, headers, body = self._request("GET", "/invocation/next")
        if status != 200:
            raise RuntimeError("Runtime API /next answered %d: %r" % (status, body))
        return headers, body

    def post_response(self, request_id, payload, content_type):
        self._request(
            "POST",
            "/invocation/%s/response" % request_id,
            payload,
            {"Content-Type": content_type},
        )

    def post_error(self, request_id, error):
        self._post_error("/invocation/%s/error" % request_id, error)

    def post_init_error(self, error):
        self._post_error("/init/error", error)

    def _post_error(self, path, error):
        self._request(
            "POST",
            path,
            to_json(error).encode("utf-8"),
            {"Content-Type": "application/json", ERROR_TYPE_HEADER: error["errorType"]},
        )


def _json_default(obj):
    decimal = sys.modules.get("decimal")
    if decimal is not None and isinstance(obj, decimal.Decimal):
        # Lambda writes Decimals as numbers (DynamoDB items carry them).
        if obj.is_nan():
            return float("nan")
        if obj == obj.to_integral_value():
            return int(obj)
        return float(obj)
    raise TypeError("Object of type %s is not JSON serializable" % type(obj).__name__)


def to_json(obj):
    # Lambda's python3.12 image alone writes non-ASCII characters unescaped.
    ascii_only = os.environ.get("AWS_EXECUTION_ENV") != "AWS_Lambda_python3.12"
    return json.dumps(obj, default=_json_default, ensure_ascii=ascii_only)


def marshal(result):
    if isinstance(result, bytes):
        return result, "application/unknown"
    try:
        return to_json(result).encode("utf-8"), "application/json"
    except Exception as e:
        raise Fault("Runtime.MarshalError", "Unable to marshal response: %s" % e)


def make_error(message, error_type, stack_trace, request_id=None):
    return {
        "errorMessage": message or "",
        "errorType": error_type or "",
        "requestId": request_id if request_id is not None else "",
        "stackTrace": stack_trace or [],
    }


def error_from_exception(exc_info, request_id=None):
    etype, value, tb = exc_info
    # Plain tuples: formatted without the column markers (~~^^) that Python
    # 3.11+ adds to FrameSummary objects, as Lambda's stack traces are.
    frames = [(f.filename, f.lineno, f.name, f.line) for f in traceback.extract_tb(tb)]
    # The frames above the function's code are the runtime's own.
    for i, frame in enumerate(frames):
        if frame[0] != __file__:
            frames = frames[i:]
            break
    return make_error(str(value), etype.__name__, traceback.format_list(frames), request_id)


def log_error(error):
    description = "[ERROR]"
    if error["errorType"]:
        description += " " + error["errorType"]
    if error["errorMessage"]:
        if error["errorType"]:
            description += ":"
        description += " " + error["errorMessage"]
    lines = [description, "Traceback (most recent call last):"]
    for element in error["stackTrace"]:
        if element == "":
            lines.append("")
            continue
        for line in element.splitlines():
            stripped = line.lstrip(" ")
            lines.append(ERROR_INDENT * (len(line) - len(stripped)) + stripped)
    sys.stdout.write(ERROR_LINE_SEPARATOR.join(lines) + "\n")


class _RequestIdFilter(logging.Filter):
    def filter(self, record):
        record.aws_request_id = _request_id or ""
        return True


class _StdoutHandler(logging.Handler):
    def emit(self, record):
        try:
            sys.stdout.write(self.format(record))
        except Exception:
            self.handleError(record)


def setup_logging():
    logging.Formatter.converter = time.gmtime
    handler = _StdoutHandler()
    handler.setFormatter(
        logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
            "%Y-%m-%dT%H:%M:%S",
        )
    )
    handler.addFilter(_RequestIdFilter())
    logging.getLogger().addHandler(handler)


def load_handler(handler):
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as e:
        raise Fault("Runtime.MalformedHandlerName", "Bad handler '%s': %s" % (handler, e))
    if modname.split(".")[0] in sys.builtin_module_names:
        raise Fault(
            "Runtime.BuiltInModuleConflict",
            "Cannot use built-in module %s as a handler module" % modname,
        )
    try:
        module = importlib.import_module(modname.replace("/", "."))
    except ImportError as e:
        raise Fault("Runtime.ImportModuleError", "Unable to import module '%s': %s" % (modname, e))
    except SyntaxError as e:
        trace = ['  File "%s" Line %s\n    %s' % (e.filename, e.lineno, e.text)]
        raise Fault(
            "Runtime.UserCodeSyntaxError",
            "Syntax error in module '%s': %s" % (modname, e),
            trace,
        )
    try:
        return getattr(module, fname)
    except AttributeError:
        raise Fault("Runtime.HandlerNotFound", "Handler '%s' missing on module '%s'" % (fname, modname))


class CognitoIdentity(object):
    __slots__ = ["cognito_identity_id", "cognito_identity_pool_id"]


class Client(object):
    __slots__ = ["installation_id", "app_title", "app_version_name", "app_version_code", "app_package_name"]


class ClientContext(object):
    __slots__ = ["custom", "env", "client"]


def _object_from_dict(cls, values):
    if values is None:
        return None
    obj = cls()
    for field in cls.__slots__:
        setattr(obj, field, values.get(field))
    return obj


def _parse_json_header(value, name):
    try:
        return json.loads(value)
    except Exception as e:
        raise Fault("Runtime.LambdaContextUnmarshalError", "Unable to parse %s JSON: %s" % (name, e))


class LambdaContext(object):
    def __init__(self, request_id, client_context, cognito_identity, deadline_ms, invoked_function_arn):
        self.aws_request_id = request_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        # A string, as on Lambda.
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = invoked_function_arn
        self.client_context = _object_from_dict(ClientContext, client_context)
        if self.client_context is not None:
            self.client_context.client = _object_from_dict(Client, self.client_context.client)
        self.identity = _object_from_dict(CognitoIdentity, {})
        if cognito_identity is not None:
            self.identity.cognito_identity_id = cognito_identity.get("cognitoIdentityId")
            self.identity.cognito_identity_pool_id = cognito_identity.get("cognitoIdentityPoolId")
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        remaining = self._deadline_ms - int(time.time() * 1000)
        return remaining if remaining > 0 else 0

    def log(self, msg):
        sys.stdout.write(str(msg))


def handle(client, request_handler, headers, body):
    global _request_id
    request_id = headers.get("lambda-runtime-aws-request-id")
    _request_id = request_id
    trace_id = headers.get("lambda-runtime-trace-id")
    if trace_id is not None:
        os.environ["_X_AMZN_TRACE_ID"] = trace_id
    else:
        os.environ.pop("_X_AMZN_TRACE_ID", None)

    error = None
    try:
        client_context = headers.get("lambda-runtime-client-context")
        cognito_identity = headers.get("lambda-runtime-cognito-identity")
        context = LambdaContext(
            request_id,
            _parse_json_header(client_context, "Client Context") if client_context else None,
            _parse_json_header(cognito_identity, "Cognito Identity") if cognito_identity else None,
            int(headers.get("lambda-runtime-deadline-ms") or 0),
            headers.get("lambda-runtime-invoked-function-arn"),
        )
        try:
            event = json.loads(body)
        except Exception as e:
            raise Fault("Runtime.UnmarshalError", "Unable to unmarshal input: %s" % e)
        payload, content_type = marshal(request_handler(event, context))
    except Fault as f:
        error = make_error(f.message, f.error_type, f.trace, request_id)
    except Exception:
        error = error_from_exception(sys.exc_info(), request_id)

    if error is not None:
        log_error(error)
        client.post_error(request_id, error)
    else:
        client.post_response(request_id, payload, content_type)


def main():
    handler, task_root = sys.argv[1], sys.argv[2]
    # The function's code comes first, before the SDK (PYTHONPATH) and
    # site-packages, and takes the place of this file's directory (absent
    # from sys.path under PYTHONSAFEPATH).
    if sys.path and sys.path[0] == os.path.dirname(__file__):
        sys.path[0] = task_root
    else:
        sys.path.insert(0, task_root)
    client = RuntimeClient(os.environ["AWS_LAMBDA_RUNTIME_API"])
    setup_logging()
    try:
        request_handler = load_handler(handler)
    except Fault as f:
        error = make_error(f.message, f.error_type, f.trace)
    except Exception:
        error = error_from_exception(sys.exc_info())
    else:
        error = None
    if error is not None:
        log_error(error)
        client.post_init_error(error)
        sys.exit(1)

    while True:
        headers, body = client.next()
        handle(client, request_handler, headers, body)


if __name__ == "__main__":
    main()
