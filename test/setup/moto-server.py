"""
moto's server (python3 -m moto.server) as the tests start it: one process loads moto once, then
serves each port in a process of its own, with less work per request.

    python3 -P test/setup/moto-server.py PORT [PORT ...] [--log] [--plain] [--single-thread] [--count DIR]

Each port gets the same application and the same answers as
`python3 -m moto.server -H 127.0.0.1 -p PORT`, with its own state (its own reset), and:
- werkzeug's request log off (one line to stderr per request, read by nobody); --log keeps it.
- Lookups cached. For every request moto's dispatcher lists its own package folder and stats each
  of its ~180 entries (`backends.list_of_moto_modules()`), then tries up to 178 URL patterns, to
  map the Host it derived to a backend; both depend only on that host and on files that do not
  change while the server runs, so the answer is kept per host. Likewise the list of a response
  class's methods, which JSON-protocol services (DynamoDB, SageMaker, SSM...) rebuild with
  `inspect.getmembers` for every request. --plain turns these caches off.
- With more than one port: moto imports a service's code, and builds its Flask app and API model, on
  the first request for it (~2.4 s of CPU for the services the tests use, 1.5 s of it SSM's). This
  process does that once, with one request per service answered in-process and a reset after, then
  forks one server per port: the servers share that work instead of each paying it.
- --count DIR (bench/moto-requests.ts): counts requests per suite and per operation, with the CPU
  time of the thread that served each one, and writes them as JSON to DIR/moto-<i>.json (i: the
  port's place) on SIGTERM. A request to /__mlops/suite?name=... starts the counts of a new suite.
- --single-thread: werkzeug's one-request-at-a-time HTTP/1.0 server instead of a thread per
  connection, for bench/moto-request-cost.ts (cheaper for moto, dearer for the SDK: no gain).
bench/moto-request-cost.ts measures each change.
"""

import functools
import io
import json
import os
import signal
import socket
import sys
import threading
import time
from urllib.parse import parse_qs

USAGE = __doc__
args = sys.argv[1:]
PORTS = []
while args and args[0].isdigit():
    PORTS.append(int(args.pop(0)))
if not PORTS:
    sys.stderr.write(USAGE)
    sys.exit(2)
LOG = "--log" in args
PLAIN = "--plain" in args
THREADED = "--single-thread" not in args
COUNT_DIR = args[args.index("--count") + 1] if "--count" in args else None

# Listening before moto loads: a client that connects meanwhile waits for its answer, not refused.
sockets = []
for port in PORTS:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)
    sockets.append(sock)

from werkzeug.serving import WSGIRequestHandler, make_server  # noqa: E402
from werkzeug.test import Client  # noqa: E402

from moto import backends  # noqa: E402
from moto.moto_server.werkzeug_app import (  # noqa: E402
    DomainDispatcherApplication,
    create_backend_app,
)

if not PLAIN:
    modules = frozenset(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules  # type: ignore[assignment]
    DomainDispatcherApplication.get_backend_for_host = functools.lru_cache(maxsize=512)(  # type: ignore[method-assign]
        DomainDispatcherApplication.get_backend_for_host
    )
    import moto.core.responses as core_responses

    core_responses.method_names_from_class = functools.lru_cache(maxsize=None)(  # type: ignore[assignment]
        core_responses.method_names_from_class
    )

app = DomainDispatcherApplication(create_backend_app)
app.debug = True  # type: ignore[attr-defined]  # as moto.server sets it

# One cheap request per service the Lambda suites use: (signing name, method, path, target, body).
WARM_UP = [
    ("s3", "GET", "/", None, ""),
    ("dynamodb", "POST", "/", "DynamoDB_20120810.ListTables", "{}"),
    ("sagemaker", "POST", "/", "SageMaker.ListEndpoints", "{}"),
    ("monitoring", "POST", "/", "GraniteServiceVersion20100801.DescribeAlarms", "{}"),
    ("ssm", "POST", "/", "AmazonSSM.DescribeParameters", "{}"),
    ("sns", "POST", "/", None, "Action=ListTopics&Version=2010-03-31"),
    ("sqs", "POST", "/", "AmazonSQS.ListQueues", "{}"),
    ("firehose", "POST", "/", "Firehose_20150804.ListDeliveryStreams", "{}"),
    ("athena", "POST", "/", "AmazonAthena.ListWorkGroups", "{}"),
    ("secretsmanager", "POST", "/", "secretsmanager.ListSecrets", "{}"),
    ("appconfig", "GET", "/applications/warm-up", None, ""),
    (
        "application-autoscaling",
        "POST",
        "/",
        "AnyScaleFrontendService.DescribeScalableTargets",
        '{"ServiceNamespace": "sagemaker"}',
    ),
]


def warm_up() -> None:
    client = Client(app)
    for service, method, path, target, body in WARM_UP:
        headers = {
            "Authorization": f"AWS4-HMAC-SHA256 Credential=testing/20260101/eu-west-1/{service}/aws4_request, "
            "SignedHeaders=host, Signature=0",
            "Host": f"127.0.0.1:{PORTS[0]}",
        }
        if target:
            headers["X-Amz-Target"] = target
            headers["Content-Type"] = "application/x-amz-json-1.0"
        elif body:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            client.open(path, method=method, headers=headers, data=body)
        except Exception as error:  # noqa: BLE001  # a warm-up only: the servers load it later then
            sys.stderr.write(f"moto warm-up of {service} failed (it loads on first use instead): {error!r}\n")
    client.post("/moto-api/reset")


class Handler(WSGIRequestHandler):
    def log_request(self, code="-", size="-"):  # type: ignore[no-untyped-def]
        if LOG:
            super().log_request(code, size)


def operation(environ) -> str:  # type: ignore[no-untyped-def]
    """The AWS operation a request names, as near as its headers and path tell."""
    target = environ.get("HTTP_X_AMZ_TARGET")
    auth = environ.get("HTTP_AUTHORIZATION", "")
    try:
        service = auth.split(",")[0].split()[1].split("/")[3]
    except IndexError:
        service = "-"
    path = environ.get("PATH_INFO", "")
    if path.startswith("/moto-api"):
        return f"moto-api {environ['REQUEST_METHOD']} {path}"
    if target:
        return f"{service} {target.split('.')[-1]}"
    query = sorted(parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True))
    if service == "s3":
        parts = [p for p in path.split("/") if p]
        shape = "/bucket" + ("/key" if len(parts) > 1 else "") if parts else "/"
        return f"s3 {environ['REQUEST_METHOD']} {shape}" + (f"?{'&'.join(query)}" if query else "")
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        # Read the form's Action, and put the body back for moto.
        size = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(size) if size else b""
        environ["wsgi.input"] = io.BytesIO(body)
        action = parse_qs(body.decode("utf-8", "replace")).get("Action", ["?"])[0]
        return f"{service} {action}"
    return f"{service} {environ['REQUEST_METHOD']} {path}" + (f"?{'&'.join(query)}" if query else "")


class Counter:
    """Requests and serving-thread CPU seconds per suite and operation (bench/moto-requests.ts)."""

    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        self.inner = inner
        self.lock = threading.Lock()
        self.suites: dict = {}
        self.current = "(before the first suite)"

    def __call__(self, environ, start_response):  # type: ignore[no-untyped-def]
        if environ.get("PATH_INFO") == "/__mlops/suite":
            with self.lock:
                self.current = parse_qs(environ.get("QUERY_STRING", "")).get("name", ["?"])[0]
            start_response("204 No Content", [])
            return [b""]
        name = operation(environ)
        start = time.thread_time()
        try:
            return list(self.inner(environ, start_response))
        finally:
            cpu = time.thread_time() - start
            with self.lock:
                row = self.suites.setdefault(self.current, {}).setdefault(name, [0, 0.0])
                row[0] += 1
                row[1] += cpu


class AtomicDynamoDB:
    """
    One DynamoDB request at a time. DynamoDB applies each write atomically, its condition checked
    against the item as it is then ("Individual write operations such as UpdateItem are atomic and
    always operate on the most recent version of the item, regardless of concurrency":
    https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/BestPractices_ImplementingVersionControl.html),
    which is what a conditional claim relies on (lambdas/rollback/ledger.ts). moto's put_item reads
    the item, evaluates the condition, then stores, with no lock, and this server answers each
    connection in a thread of its own: two concurrent conditional puts of one key could both pass
    the check when the thread switch fell between them (more likely on a loaded machine, where a
    thread is descheduled mid-request), and the rollback test "two invocations at once" then saw
    both invocations roll back. The lock makes moto as atomic as DynamoDB; other services are
    served concurrently as before.
    """

    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        self.inner = inner
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):  # type: ignore[no-untyped-def]
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            return self.inner(environ, start_response)
        with self.lock:
            return list(self.inner(environ, start_response))


def serve(index: int, port: int, children: list) -> None:  # type: ignore[type-arg]
    """Serves `port` until SIGTERM; the first process also stops the others (`children`)."""
    # moto.server.main sets this; moto's own calls to itself read it.
    os.environ["MOTO_PORT"] = str(port)
    served = Counter(AtomicDynamoDB(app)) if COUNT_DIR else AtomicDynamoDB(app)
    stopping = []

    def stop(*_args):  # type: ignore[no-untyped-def]
        stopping.append(True)
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        if COUNT_DIR:
            with open(os.path.join(COUNT_DIR, f"moto-{index}.json"), "w") as f:
                json.dump(served.suites, f)  # type: ignore[union-attr]
        # At once: a forked server's interpreter shutdown can hang on state copied from the parent.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)

    def child_exited(*_args):  # type: ignore[no-untyped-def]
        # A server that died leaves its tests hanging: stop all, so the run reports it.
        if stopping:
            return
        for pid in children:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                sys.stderr.write(f"moto server for port {PORTS[children.index(pid) + 1]} exited ({status})\n")
                children.remove(pid)
                stop()
                return

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    if children:
        signal.signal(signal.SIGCHLD, child_exited)
    for i, sock in enumerate(sockets):
        if i != index:
            sock.close()
    server = make_server(
        "127.0.0.1", port, served, threaded=THREADED, request_handler=Handler, fd=sockets[index].fileno()
    )
    server.serve_forever()


if len(PORTS) > 1:
    warm_up()
pids: list = []  # type: ignore[type-arg]
for i, p in enumerate(PORTS[1:], 1):
    pid = os.fork()
    if pid == 0:
        try:
            # Linux: end with the first process, however it ends.
            import ctypes

            ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except OSError:
            pass
        serve(i, p, [])
        os._exit(0)
    pids.append(pid)
serve(0, PORTS[0], pids)
