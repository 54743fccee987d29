"""The HTTP front of the KMS emulator: wire parsing, auth, faults, stats, access log, control API."""

from __future__ import annotations

import datetime
import json
import os
import re
import socket
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from . import hostile, resourcemanager, sts
from .backend import API_VERSION, ApiError, unknown_action
from .faults import Faults
from .seeding import build_backend, generate_keys
from .signing import Authenticator, WireRequest

CONTROL_PREFIX = "/_emulator/"
HOST_RE = re.compile(r"^kms(?:-vpc)?\.(?P<region>[a-z0-9-]+)\.aliyuncs\.com(?::\d+)?$", re.IGNORECASE)
# STS endpoints (alibabacloud-sts20150401's endpoint map, alibabacloud-credentials' RamRoleArn provider):
# sts.aliyuncs.com, sts.<region>.aliyuncs.com and sts-vpc.<region>.aliyuncs.com.
STS_HOST_RE = re.compile(
    r"^sts(?:\.(?P<region>[a-z0-9-]+)|-vpc\.(?P<vpc_region>[a-z0-9-]+))?\.aliyuncs\.com(?::\d+)?$", re.IGNORECASE
)
STS_GLOBAL = "global"  # the region recorded for sts.aliyuncs.com
# ResourceManager 2020-03-31: "The endpoint of the API of the 2020-03-31 version is resourcemanager.aliyuncs.com" (Make
# API requests, Resource Management docs); the SDK's 'central' endpoint rule adds resourcemanager-vpc.aliyuncs.com for
# network='vpc'. No regional form is documented for this version.
RM_HOST_RE = re.compile(r"^resourcemanager(?:-vpc)?\.aliyuncs\.com(?::\d+)?$", re.IGNORECASE)
JSON_TYPE = "application/json;charset=utf-8"
HTML_PAGE = b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1><hr>Tengine</body></html>"
MAX_RECORDED_REQUESTS = 100000


def new_request_id() -> str:
    return str(uuid.uuid4()).upper()


class Stats:
    """Request counts for tests; never holds signatures, secrets or tokens.

    Each entry of `requests`: service ('kms', 'sts' or 'resourcemanager'), action, region, status (int, or 'dropped'), page_number,
    page_size, filters (as sent), request_id, sig_version, retry_after_ms (the x-acs-retry-after sent, or None),
    malformed ('html' or 'truncated' when a garbled body was served in place of the answer; absent otherwise),
    started/finished (time.monotonic() of this process when the request arrived / its reply was ready) and
    started_wall/finished_wall (the same moments as time.time()).
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.total, self.by_action, self.by_region, self.by_outcome, self.requests = 0, {}, {}, {}, []
        self.in_flight = self.max_in_flight = 0

    def reset(self) -> None:
        with self.lock:
            self.total, self.by_action, self.by_region, self.by_outcome, self.requests = 0, {}, {}, {}, []
            self.max_in_flight = self.in_flight

    def enter(self) -> None:
        """A request is being served: lets tests see concurrency without timing anything."""
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def leave(self) -> None:
        with self.lock:
            self.in_flight -= 1

    def record(self, entry: dict) -> None:
        with self.lock:
            self.total += 1
            for counter, name in (
                (self.by_action, entry["action"]),
                (self.by_region, entry["region"]),
                (self.by_outcome, str(entry["status"])),
            ):
                counter[name] = counter.get(name, 0) + 1
            if len(self.requests) < MAX_RECORDED_REQUESTS:
                self.requests.append(entry)

    def snapshot(self) -> dict:
        with self.lock:
            return {
                "total": self.total,
                "by_action": dict(self.by_action),
                "by_region": dict(self.by_region),
                "by_outcome": dict(self.by_outcome),
                "max_in_flight": self.max_in_flight,
                "requests": [dict(r) for r in self.requests],
            }


class Handler(BaseHTTPRequestHandler):
    """One connection; HTTP/1.1 keep-alive, every reply with Content-Length."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # without it small replies wait ~40 ms for the client's delayed ACK
    timeout = 120  # idle keep-alive connections end eventually
    server_version = "Tengine"

    @property
    def emulator(self) -> Emulator:
        return self.server.emulator

    def setup(self):
        super().setup()
        self.emulator.connections.add(self.connection)

    def finish(self):
        self.emulator.connections.discard(self.connection)
        super().finish()

    def version_string(self):
        return self.server_version

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        """Silence http.server's own log: its request line holds the signed query string."""

    def do_GET(self):  # pylint: disable=invalid-name
        self.dispatch()

    def do_POST(self):  # pylint: disable=invalid-name
        self.dispatch()

    def dispatch(self):
        target = urlsplit(self.path)  # proxies send the absolute form http://host/path?query
        length = self.headers.get("Content-Length") or "0"
        if not length.isdigit() or "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            self.close_connection = True
            return self.reply_json(
                411, {"Code": "MissingContentLength", "Message": "A valid Content-Length is required."}
            )
        body = self.rfile.read(int(length))
        if target.path.startswith(CONTROL_PREFIX):
            self.control(target.path[len(CONTROL_PREFIX) :].strip("/"), body)
        else:
            self.api(target, body)
        return None

    # --- replies ---------------------------------------------------------------------------
    def reply(self, status: int, payload: bytes, content_type: str = JSON_TYPE, headers: dict | None = None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def reply_json(self, status: int, data, headers: dict | None = None):
        self.reply(status, json.dumps(data).encode("utf-8"), headers=headers)

    def drop(self):
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # --- the KMS API -----------------------------------------------------------------------
    def api(self, target, body: bytes):
        emulator, started, started_wall, request_id = self.emulator, time.monotonic(), time.time(), new_request_id()
        host = self.headers.get("Host", "")
        headers = {}
        for name, value in self.headers.items():
            headers.setdefault(name.lower(), []).append(value)
        form = []
        if (self.headers.get("Content-Type") or "").startswith("application/x-www-form-urlencoded"):
            form = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        wire = WireRequest(
            self.command, target.path or "/", parse_qsl(target.query, keep_blank_values=True), headers, body, form
        )
        params = dict(wire.query + form)
        action = params.get("Action") or wire.header("x-acs-action") or ""
        service, region = emulator.route(host, params.get("Version") or wire.header("x-acs-version"))
        entry = {
            "service": service,
            "action": action,
            "region": region,
            "status": None,
            "page_number": params.get("PageNumber"),
            "page_size": params.get("PageSize"),
            "filters": params.get("Filters"),
            "request_id": request_id,
            "sig_version": None,
            "retry_after_ms": None,
            "started": started,
            "started_wall": started_wall,
        }
        decision = emulator.faults.decide()
        emulator.counts.enter()
        try:
            if decision.latency_s:
                time.sleep(decision.latency_s)
        finally:
            emulator.counts.leave()
        if decision.drop:
            entry.update(status="dropped", finished=time.monotonic(), finished_wall=time.time())
            emulator.counts.record(entry)
            self.drop()
        else:
            status, payload, content_type, extra = self.answer(
                wire, params, service, action, region, request_id, decision, entry
            )
            retry_after = extra.get("x-acs-retry-after")
            entry.update(
                status=status,
                retry_after_ms=int(retry_after) if retry_after else None,
                finished=time.monotonic(),
                finished_wall=time.time(),
            )
            emulator.counts.record(entry)  # before replying, so a client that got its answer sees it counted
            self.reply(status, payload, content_type, {"x-acs-request-id": request_id, **extra})
        # Never more than this: no query string, body, header or credential (STS replies hold fresh ones).
        emulator.access_log(
            f'{self.client_address[0]} "{self.command} {host}" region={region} action={action or "-"} '
            f"status={entry['status']} request_id={request_id} {1000 * (time.monotonic() - started):.1f}ms"
        )

    def answer(self, wire, params, service, action, region, request_id, decision, entry):
        """Returns (status, payload, content type, extra headers) for one API request."""
        emulator, settings = self.emulator, self.emulator.faults.settings
        try:
            access_key, entry["sig_version"] = emulator.auth.authenticate(wire)
            version = params.get("Version") or wire.header("x-acs-version")
            actions, api_version = {
                "sts": (STS_ACTIONS, sts.API_VERSION),
                "resourcemanager": (resourcemanager.ACTIONS, resourcemanager.API_VERSION),
            }.get(service, (emulator.backend.ACTIONS, API_VERSION))
            if action not in actions:
                raise unknown_action()
            if version != api_version:
                raise ApiError(400, "InvalidVersion", "Specified parameter Version is not valid.")
            if service == "kms" and region in settings.deny_regions:
                raise ApiError(403, "Forbidden.NoPermission", "This operation is forbidden by permission system.")
            if service == "kms" and action in settings.deny_actions.get(region, ()):
                raise unknown_action()  # a region without the action answers as for one that does not exist
            if (
                decision.throttle
                or emulator.faults.throttle_now(service)
                or (service == "kms" and not emulator.faults.allow(access_key.account_id, region))
                or (
                    service == "sts" and action == "AssumeRole" and not emulator.faults.allow_sts(access_key.account_id)
                )
            ):
                raise throttled(service, settings)
            if decision.error_503:
                raise ApiError(
                    503,
                    "ServiceUnavailableTemporary",
                    "The request has failed due to a temporary failure of the server.",
                )
            if decision.error_500:
                if service == "sts":  # the AssumeRole reference's 500
                    raise ApiError(500, "InternalError", "STS Server Internal Error happened.")
                raise ApiError(500, "InternalFailure", "The request processing has failed due to some unknown error.")
            if service == "sts" and action == "GetCallerIdentity":
                result = sts.get_caller_identity(access_key)
            elif service == "sts":
                result = sts.assume_role(
                    emulator.backend,
                    access_key.account_id,
                    params,
                    emulator.auth.clock(),
                    settings.sts_session_seconds,
                )
            elif service == "resourcemanager":
                with emulator.backend.lock:
                    directory = emulator.backend.directory
                result = resourcemanager.list_accounts(directory, access_key.account_id, params)
            else:
                result = emulator.backend.call(
                    action,
                    access_key.account_id,
                    region,
                    params,
                    settings.ignore_filter_values.get(region),
                    settings.ignore_filter_keys.get(region, ()),
                    settings.tag_page_size,
                )
        except ApiError as error:
            return (
                error.status,
                json.dumps(
                    {
                        "Code": error.code,
                        "Message": error.message,
                        "RequestId": request_id,
                        "HostId": self.headers.get("Host", ""),
                        "Recommend": f"https://api.aliyun.com/troubleshoot?q={error.code}"
                        f"&product={PRODUCTS[service]}&requestId={request_id}",
                    }
                ).encode("utf-8"),
                JSON_TYPE,
                error.headers,
            )
        if action == "ListKeys":
            if settings.mismatched_ids:
                hostile.mismatch(
                    result,
                    settings.mismatched_ids,
                    access_key.account_id,
                    region,
                    emulator.backend,
                    settings.hostile_canary,
                )
            if settings.flat_keys:
                result["Keys"] = result["Keys"]["Key"]
            emulator.mutate_after(result["PageNumber"], access_key.account_id, region)
        emulator.run_hooks(action, entry)
        result["RequestId"] = request_id
        payload = json.dumps(result).encode("utf-8")
        if decision.malformed:
            entry["malformed"] = "html" if decision.malformed_html else "truncated"
            return (
                (200, HTML_PAGE, "text/html", {})
                if decision.malformed_html
                else (200, payload[: len(payload) // 2], JSON_TYPE, {})
            )
        return 200, payload, JSON_TYPE, {}

    # --- the control API -------------------------------------------------------------------
    def control(self, name: str, body: bytes):
        emulator = self.emulator
        try:
            data = json.loads(body) if body.strip() else {}
            if name == "stats" and self.command == "GET":
                return self.reply_json(200, emulator.stats())
            if name == "reset" and self.command == "POST":
                emulator.reset()
                return self.reply_json(200, {"reset": True})
            if name == "faults":
                return self.reply_json(
                    200, emulator.set_faults(**data) if self.command == "POST" else emulator.faults.as_dict()
                )
            if name == "keys" and self.command == "POST":
                added = emulator.add_keys(data["region"], data.get("keys") or [], data.get("account_id"))
                return self.reply_json(200, {"added": [k.list_entry() for k in added]})
            if (
                name == "keys/update" and self.command == "POST"
            ):  # {"region", "key_id", "account_id"?, "set": {field: value}}
                key = emulator.update_key(
                    data["region"], data["key_id"], data.get("account_id"), **(data.get("set") or {})
                )
                return self.reply_json(200, {"updated": key.list_entry()})
            if name == "health":
                return self.reply_json(200, {"ok": True, "default_region": emulator.default_region})
            return self.reply_json(404, {"error": f"no control endpoint {self.command} {CONTROL_PREFIX}{name}"})
        except (ValueError, TypeError, KeyError) as error:
            return self.reply_json(400, {"error": f"{type(error).__name__}: {error}"})


STS_ACTIONS = ("AssumeRole", "GetCallerIdentity")


def throttled(service: str, settings) -> ApiError:
    """Each service's throttling reply. KMS: 429 Rejected.Throttling (the KMS error codes). STS and ResourceManager
    answer through the OpenAPI gateway, whose flow control replies 400 Throttling.User "Request was denied due to user
    flow control." (OpenAPI throttling docs; the STS notice of 2022-08-29: "the Throttling errors will be returned for
    the excessive requests"): a client must know it by its code, not by a 429."""
    extra = {"x-acs-retry-after": str(settings.retry_after_ms)} if settings.retry_after_ms else {}
    if service == "kms":
        return ApiError(429, "Rejected.Throttling", "Request was denied due to request throttling.", extra)
    return ApiError(400, "Throttling.User", "Request was denied due to user flow control.", extra)


PRODUCTS = {"kms": "Kms", "sts": "Sts", "resourcemanager": "ResourceManager"}  # as in the error's Recommend link


class Server(ThreadingHTTPServer):
    """Threads per connection; quiet about clients that hang up."""

    daemon_threads = True

    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return  # clients hanging up (or dropped on purpose) are not server errors
        super().handle_error(request, client_address)


class Emulator:
    """The emulator in a background thread: `with Emulator(seed=...) as emu: ... emu.url ...`."""

    def __init__(
        self,
        seed=None,
        generate=None,
        generate_accounts=None,
        generate_tags=0,
        generate_aliases=0,
        default_region="cn-hangzhou",
        host="127.0.0.1",
        port=0,
        random_seed=0,
        access_keys=(),
        log=None,
        **faults,
    ):
        self.backend = build_backend(
            seed, generate, random_seed, access_keys, generate_accounts, generate_tags, generate_aliases
        )
        self.default_region = default_region
        self.faults = Faults(random_seed=random_seed, **faults)
        if self.faults.settings.hostile:  # part of the seeded state reset() returns to
            hostile.apply(self.backend, self.faults.settings.hostile_canary)
        self.auth = Authenticator(self.backend.access_keys.get)
        self.counts = Stats()
        self.random_seed = random_seed
        self.connections = set()
        self.log_lock = threading.Lock()
        self.log_file = open(log, "a", encoding="utf-8") if isinstance(log, (str, os.PathLike)) else None  # pylint: disable=consider-using-with
        self.log_stream = self.log_file or log
        self.httpd = Server((host, port), Handler)
        self.httpd.emulator = self
        self.thread = None
        self.hooks_lock = threading.Lock()
        self.hooks = []  # [action, successful requests still to wait for, times left (0 = always), callback]
        self.seeded = self.backend.snapshot()  # reset() returns to it

    def stats(self) -> dict:
        return self.counts.snapshot()

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self.httpd.server_address[0]}:{self.port}"

    @property
    def access_key(self) -> tuple:
        first = self.backend.default_account.access_keys[0]
        return first.id, first.secret

    def route(self, host: str, version: str | None = None) -> tuple:
        """(service, region) from the Host header; another host (a direct endpoint) is KMS in the default region,
        or STS or ResourceManager when the request names that service's API version."""
        match = HOST_RE.match(host.strip())
        if match:
            return "kms", match["region"].lower()
        match = STS_HOST_RE.match(host.strip())
        if match:
            return "sts", (match["region"] or match["vpc_region"] or STS_GLOBAL).lower()
        if RM_HOST_RE.match(host.strip()):
            return "resourcemanager", resourcemanager.REGION
        if version == sts.API_VERSION:
            return "sts", STS_GLOBAL
        if version == resourcemanager.API_VERSION:
            return "resourcemanager", resourcemanager.REGION
        return "kms", self.default_region

    def start(self) -> Emulator:
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, name="kms-emulator", daemon=True
        )
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.thread:
            self.httpd.shutdown()
            self.thread.join()
            self.thread = None
        for connection in list(self.connections):
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.httpd.server_close()
        if self.log_file:
            self.log_file.close()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def reset(self) -> None:
        """Between tests: the seeded state (keys, accounts, roles; STS credentials issued since are gone), the
        fault settings given at construction, no hooks, empty stats, no remembered nonces."""
        self.backend.restore(self.seeded)
        with self.hooks_lock:
            self.hooks.clear()
        self.counts.reset()
        self.auth.reset()
        self.faults.reset()

    def set_faults(self, **settings) -> dict:
        """Change fault settings; hostile=True rewrites the state now (see hostile.py), and an emulator that is
        hostile stays so, with its canary, until reset() (a ValueError otherwise)."""
        old, new = self.faults.settings, self.faults.preview(**settings)
        if old.hostile and (not new.hostile or new.hostile_canary != old.hostile_canary):
            raise ValueError(
                "the hostile profile rewrote the keys and directory: it cannot be turned off nor its canary changed "
                "except by reset() of an emulator started without it"
            )
        result = self.faults.update(**settings)
        if new.hostile and not old.hostile:
            hostile.apply(self.backend, new.hostile_canary)
        return result

    def add_keys(self, region: str, keys, account_id: str | None = None):
        return self.backend.add_keys(account_id or self.backend.default_account.account_id, region, keys)

    def update_key(self, region: str, key_id: str, account_id: str | None = None, **changes):
        """Change a key's attributes at runtime (snake_case fields, e.g. key_state='Disabled'); returns the new Key."""
        return self.backend.update_key(account_id or self.backend.default_account.account_id, region, key_id, **changes)

    def remove_key(self, region: str, key_id: str, account_id: str | None = None) -> None:
        """Take a key away (a deletion that has completed)."""
        self.backend.remove_key(account_id or self.backend.default_account.account_id, region, key_id)

    def on_request(self, callback, after: int = 1, action: str = "ListKeys", times: int = 1) -> None:
        """Run callback(emulator, entry) once the `after`-th successful `action` request from now has its answer and
        before the reply is sent (so the client's next request sees the change); then after each following one,
        `times` times in all (0 = every one). entry is that request's stats entry, its status not yet set.
        Errors, throttled and dropped requests do not count; a callback's exception drops the connection."""
        if after < 1 or times < 0:
            raise ValueError("after must be >= 1 and times >= 0")
        with self.hooks_lock:
            self.hooks.append([action, after, times, callback])

    def run_hooks(self, action: str, entry: dict) -> None:
        due = []
        with self.hooks_lock:
            for hook in list(self.hooks):
                if hook[0] != action:
                    continue
                hook[1] -= 1
                if hook[1] <= 0:
                    due.append(hook[3])
                    hook[1] = 1  # from now on, every request of the action
                    hook[2] -= 1
                    if hook[2] == 0:
                        self.hooks.remove(hook)
        for callback in due:  # outside the lock: a callback may add hooks or change keys
            callback(self, entry)

    def mutate_after(self, page_number: int, account_id: str, region: str) -> None:
        mutation = self.faults.take_mutation(page_number)
        if mutation:
            region = mutation["region"] or region
            self.backend.delete_keys(account_id, region, mutation["delete"])
            start = self.backend.accounts[account_id].created
            self.backend.add_keys(account_id, region, generate_keys(region, mutation["add"], self.random_seed, start))

    def access_log(self, line: str) -> None:
        if self.log_stream is None:
            return
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        with self.log_lock:
            self.log_stream.write(f"{stamp} {line}\n")
            self.log_stream.flush()
