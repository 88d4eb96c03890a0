"""FakeSlack: a local HTTP stand-in for Slack's Web API.

Point a real ``WebClient``/``AsyncWebClient`` at :attr:`FakeSlack.api_url` and the app
talks to this server instead of slack.com. Every call is checked the way Slack would
check it, recorded, and answered from the in-memory :class:`Workspace`; failed checks are
also collected in :attr:`FakeSlack.problems` so a test fixture can demand there were none.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from fakeslack.checks import check_call, check_message
from fakeslack.faults import Faults, HttpFault
from fakeslack.methods import Refused, SlackError, SlackMethods
from fakeslack.workspace import Canvas, ResponseTarget, UploadedFile, Workspace

logger = logging.getLogger(__name__)

# Arguments slack_sdk serialises to JSON strings when it sends a form body.
JSON_ARGS = frozenset(
    {"blocks", "attachments", "view", "files", "document_content", "metadata", "changes"}
)


@dataclass
class Call:
    """One Web API call as the fake received and answered it."""

    method: str
    args: dict[str, Any]
    response: dict[str, Any]
    time: float
    status: int = 200
    token: str | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.response.get("ok"))

    def summary(self) -> str:
        outcome = "ok" if self.ok else f"{self.status} {self.response.get('error')}"
        args = json.dumps(self.args, default=str)
        return f"{self.method} -> {outcome} {args[:200]}"


@dataclass
class _Answer:
    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload: dict[str, Any], **headers: str) -> _Answer:
        return cls(status, json.dumps(payload).encode(), headers=headers)

    @classmethod
    def text(cls, status: int, text: str) -> _Answer:
        return cls(status, text.encode(), "text/plain; charset=utf-8")


def _decode_body(content_type: str, body: bytes) -> dict[str, Any]:
    """Arguments from any body slack_sdk sends: JSON, url-encoded form or multipart."""
    media_type = content_type.split(";")[0].strip().lower()
    if not body:
        return {}
    if media_type == "application/json":
        decoded = json.loads(body)
        return decoded if isinstance(decoded, dict) else {}
    if media_type == "multipart/form-data":
        # email's MIME parser handles multipart bodies once given the boundary header.
        head = f"Content-Type: {content_type}\r\n\r\n".encode()
        message = BytesParser(policy=HTTP).parsebytes(head + body)
        args: dict[str, Any] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            args[str(name)] = payload if part.get_filename() else payload.decode()
        return args
    return dict(parse_qsl(body.decode(), keep_blank_values=True))


def _decode_json_args(args: dict[str, Any]) -> dict[str, Any]:
    """Form bodies carry structured arguments as JSON strings; turn them back into data."""
    decoded = dict(args)
    for key in JSON_ARGS & decoded.keys():
        if isinstance(decoded[key], str):
            # A malformed value stays a string; the checks then report it.
            with contextlib.suppress(json.JSONDecodeError):
                decoded[key] = json.loads(decoded[key])
    return decoded


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    # Keep-alive, as Slack does: a client that reuses its connections can (every answer
    # carries its Content-Length).
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_GET(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        fake = self.server.fake
        if fake.latency:
            time.sleep(fake.latency)
        if url.path.startswith("/api/"):
            args = dict(parse_qsl(url.query, keep_blank_values=True))
            try:
                args |= _decode_body(self.headers.get("Content-Type", ""), body)
            except (ValueError, UnicodeDecodeError) as e:
                answer = _Answer.json(200, {"ok": False, "error": "invalid_form_data"})
                fake.record_problem(url.path, f"undecodable body: {e}")
            else:
                authorization = self.headers.get("Authorization", "")
                token = None
                if authorization.startswith("Bearer "):
                    token = authorization.removeprefix("Bearer ")
                elif authorization.startswith("Basic "):  # oauth.v2.access: the app's credentials
                    client_id, _, secret = (
                        base64.b64decode(authorization.removeprefix("Basic "))
                        .decode()
                        .partition(":")
                    )
                    args |= {"client_id": client_id, "client_secret": secret}
                answer = fake.handle_api(url.path.removeprefix("/api/"), args, token)
                # Slack has done what was asked; the answer is late (or never arrives, if
                # the caller dies meanwhile).
                held = fake.faults.answers_held.get(url.path.removeprefix("/api/"), 0.0)
                if held:
                    time.sleep(held)
                if fake.faults.take_drop(url.path.removeprefix("/api/")):
                    self.close_connection = True  # done, but the caller hears nothing back
                    return
        elif url.path.startswith("/upload/"):
            answer = fake.handle_upload(url.path.removeprefix("/upload/"), body)
        elif url.path.startswith("/respond/"):
            answer = fake.handle_response_url(url.path, body)
        else:
            answer = _Answer.text(404, "not found")
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(answer.body)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("fakeslack: " + format, *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a hung client connection must not keep the test run alive
    # socketserver listens with a backlog of 5. slack_sdk opens a connection per call, so a
    # burst of concurrent calls overflowed it and the overflow waited on TCP's retry: measured
    # with 32 calls in flight and 50 ms latency, 229 calls/s with it, 390 without.
    request_queue_size = 1024

    def __init__(self, fake: FakeSlack) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake

    def verify_request(self, request: Any, client_address: Any) -> bool:
        with self.fake._lock:
            self.fake.connections += 1
        return True


TOKENLESS_METHODS = frozenset({"oauth.v2.access"})


class FakeSlack:
    """A running fake Slack Web API. Use as ``with FakeSlack() as fake: ...``."""

    def __init__(self, workspace: Workspace | None = None) -> None:
        self.workspace = workspace or Workspace()
        self.methods = SlackMethods(self.workspace, self._upload_url)
        self.faults = Faults()
        self.calls: list[Call] = []
        self.problems: list[str] = []
        self.connections = 0  # TCP connections accepted: a client reusing them opens few
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> FakeSlack:
        if self._server is None:
            self._server = _Server(self)
            # A short poll interval keeps stop() (and so each test's teardown) fast.
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.02},
                name="fakeslack",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeSlack is not running; call start() first")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def api_url(self) -> str:
        """Base URL for ``WebClient(base_url=...)``; the trailing slash matters to urljoin."""
        return f"{self.base_url}/api/"

    @property
    def response_url_base(self) -> str:
        """Prefix for ``response_url`` values, so Bolt's ``respond()`` stays local."""
        return f"{self.base_url}/respond"

    def _upload_url(self, file_id: str) -> str:
        return f"{self.base_url}/upload/{file_id}"

    # -- fault injection -----------------------------------------------------------------

    def grant_install(
        self, code: str, *, team_id: str, team_name: str = "", user_id: str = "U0INSTALLER"
    ) -> None:
        """Slack will exchange `code` for a bot token of `team_id` (a workspace installing)."""
        with self.workspace.lock:
            self.workspace.oauth_codes[code] = {
                "team_id": team_id,
                "team_name": team_name or team_id,
                "user_id": user_id,
            }

    def fail_next(self, method: str, error: str, times: int = 1) -> None:
        """The next ``times`` calls to ``method`` answer ``{"ok": false, "error": error}``."""
        self.faults.fail_next(method, error, times)

    def inject_http(
        self, method: str, status: int, times: int = 1, retry_after: int | None = None
    ) -> None:
        """The next ``times`` calls to ``method`` get HTTP ``status`` (429 adds Retry-After)."""
        self.faults.inject_http(method, status, times, retry_after)

    def rate_limit_per_channel(self, per_second: float | None) -> None:
        """chat.postMessage answers 429 when a channel is posted to faster than this."""
        self.faults.rate_limit_per_channel(per_second)

    @property
    def latency(self) -> float:
        return self.faults.latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        """Delay every answer by this many seconds."""
        self.faults.latency = seconds

    def hold_answers(self, method: str, seconds: float | None) -> None:
        """Do what each call of `method` asks at once, but answer it `seconds` later (None:
        at once again): a caller killed meanwhile never learns that Slack took its call."""
        if seconds:
            self.faults.answers_held[method] = seconds
        else:
            self.faults.answers_held.pop(method, None)

    def drop_answers(self, method: str, times: int = 1) -> None:
        """Do what the next `times` calls of `method` ask, then close the connection without
        answering: the caller sees a dropped connection after Slack took its call."""
        self.faults.drop_next(method, times)

    # -- the Slack client's side ---------------------------------------------------------

    def answer_submission(self, view_id: str, reply_body: str) -> None:
        """Apply the app's HTTP reply to a view_submission, as Slack's client would."""
        try:
            answer = json.loads(reply_body) if reply_body.strip() else {}
        except json.JSONDecodeError:
            answer = {}
        if isinstance(answer, dict):
            with self.workspace.lock:
                self.methods.answer_submission(view_id, answer)

    # -- recorded calls ------------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    async def wait_for(
        self,
        method: str,
        predicate: Callable[[Call], bool] | None = None,
        count: int = 1,
        # A plain timeout (not asyncio.timeout) so the failure can list what did arrive.
        timeout: float = 30.0,  # noqa: ASYNC109
    ) -> list[Call]:
        """Wait until at least ``count`` matching calls arrived; return all matching calls."""
        deadline = time.monotonic() + timeout
        while True:
            matching = [c for c in self.calls_to(method) if predicate is None or predicate(c)]
            if len(matching) >= count:
                return matching
            if time.monotonic() >= deadline:
                with self._lock:
                    recent = "\n".join(f"  {c.summary()}" for c in self.calls[-20:])
                raise AssertionError(
                    f"expected {count} call(s) to {method} within {timeout}s, "
                    f"got {len(matching)}. Recent calls:\n{recent or '  (none)'}"
                )
            await asyncio.sleep(0.01)

    def clear(self) -> None:
        """Forget recorded calls. Problems are kept: they must be looked at, not reset."""
        with self._lock:
            self.calls.clear()

    def record_problem(self, method: str, problem: str) -> None:
        with self._lock:
            self.problems.append(f"{method}: {problem}")

    # -- stored state --------------------------------------------------------------------

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Messages in a channel in posting order, thread replies included."""
        return self.workspace.messages(channel)

    @property
    def ephemerals(self) -> list[dict[str, Any]]:
        with self.workspace.lock:
            return copy.deepcopy(self.workspace.ephemerals)

    @property
    def files(self) -> list[UploadedFile]:
        """Files whose upload was completed, in upload order."""
        with self.workspace.lock:
            return [copy.copy(f) for f in self.workspace.files.values() if f.completed]

    @property
    def canvases(self) -> list[Canvas]:
        with self.workspace.lock:
            return [copy.deepcopy(c) for c in self.workspace.canvases.values()]

    @property
    def views(self) -> dict[str, dict[str, Any]]:
        """Modal views opened or pushed so far, by view id, as last updated."""
        with self.workspace.lock:
            return copy.deepcopy(self.workspace.views)

    def home(self, user_id: str) -> dict[str, Any] | None:
        """The Home tab view last published for a user, if any."""
        with self.workspace.lock:
            return copy.deepcopy(self.workspace.homes.get(user_id))

    # -- request handling (called on server threads) -------------------------------------

    def handle_api(self, method: str, raw_args: dict[str, Any], token: str | None) -> _Answer:
        args = _decode_json_args(raw_args)
        token = token or args.pop("token", None)
        args.pop("token", None)
        status, response, headers = self._answer(method, args, token)
        call = Call(method, copy.deepcopy(args), response, time.time(), status, token)
        with self._lock:
            self.calls.append(call)
        return _Answer.json(status, response, **headers)

    def _answer(
        self, method: str, args: dict[str, Any], token: str | None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Status, body and extra headers, applying the layers in the order Slack does."""
        fault = self.faults.take_http(method)
        if fault is None and method == "chat.postMessage" and args.get("channel"):
            fault = self.faults.check_rate(str(args["channel"]))
        if fault is not None:
            return self._http_fault(fault)
        if not token and method in TOKENLESS_METHODS:
            pass  # authenticated by the app's client id and secret instead
        elif not token:
            self.record_problem(method, "no token (neither Authorization header nor form field)")
            return 200, {"ok": False, "error": "not_authed"}, {}
        elif not token.startswith(("xoxb-", "xoxp-", "xapp-")):
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        refusal = check_call(method, args)
        if refusal is not None:
            for problem in refusal.problems:
                self.record_problem(method, problem)
            body: dict[str, Any] = {
                "ok": False,
                "error": refusal.error,
                "response_metadata": {"messages": [f"[ERROR] {p}" for p in refusal.problems]},
            }
            if refusal.error == "unknown_method":
                body["req_method"] = method
            return 200, body, {}
        error = self.faults.take_error(method)
        if error is not None:
            return 200, {"ok": False, "error": error}, {}
        try:
            return 200, {"ok": True, **self.methods.call(method, args)}, {}
        except Refused as e:
            for problem in e.problems:
                self.record_problem(method, problem)
            return 200, {"ok": False, "error": e.error, **e.extra}, {}
        except SlackError as e:
            if e.error == "not_implemented":
                self.record_problem(method, str(e.extra.get("detail")))
            return 200, {"ok": False, "error": e.error, **e.extra}, {}

    @staticmethod
    def _http_fault(fault: HttpFault) -> tuple[int, dict[str, Any], dict[str, str]]:
        if fault.status == 429:
            headers = {"Retry-After": str(1 if fault.retry_after is None else fault.retry_after)}
            return 429, {"ok": False, "error": "ratelimited"}, headers
        return fault.status, {"ok": False, "error": "fatal_error"}, {}

    def handle_upload(self, file_id: str, content: bytes) -> _Answer:
        if self.methods.receive_upload(file_id, content):
            return _Answer.text(200, f"OK - {len(content)}")
        self.record_problem("upload", f"upload to unknown or completed file {file_id!r}")
        return _Answer.text(404, "file_not_found")

    def handle_response_url(self, path: str, body: bytes) -> _Answer:
        """Messages sent to a ``response_url`` (Bolt's ``respond()``), recorded like calls."""
        try:
            args = _decode_json_args(json.loads(body or b"{}"))
        except json.JSONDecodeError:
            args = _decode_json_args(dict(parse_qsl(body.decode(), keep_blank_values=True)))
        problems = check_message(args)
        for problem in problems:
            self.record_problem("response_url", problem)
        status, text = (400, "invalid_blocks") if problems else (200, "ok")
        call = Call("response_url", {"url_path": path, **args}, {"ok": not problems}, time.time())
        call.status = status
        with self._lock:
            self.calls.append(call)
        # /respond/<team>/<token>/fakeslack: the token says where it goes, when it is one the
        # request builder registered with this workspace.
        parts = path.strip("/").split("/")
        if not problems and len(parts) >= 3:
            with self.workspace.lock:
                target = self.workspace.response_targets.get(parts[2])
                if target is not None:
                    self.methods.respond(target, args)
        return _Answer.text(status, text)

    def answer_command(self, channel_id: str, user_id: str, reply_body: str) -> None:
        """Apply the app's HTTP reply to a slash command, as Slack does: a JSON message (or
        plain text) is shown to the person who typed it, or in the channel if `in_channel`."""
        if not reply_body.strip():
            return
        try:
            answer = json.loads(reply_body)
        except json.JSONDecodeError:
            answer = {"text": reply_body}
        if not isinstance(answer, dict):
            return
        problems = check_message(answer)
        for problem in problems:
            self.record_problem("slash command reply", problem)
        if problems:
            return
        target = ResponseTarget(channel_id, user_id)
        with self.workspace.lock:
            self.methods.respond(target, _decode_json_args(answer))

    def close_view(self, view_id: str, *, whole_stack: bool = False) -> None:
        """The person closes a modal: Cancel goes back one view, the X closes them all."""
        with self.workspace.lock:
            self.methods.answer_submission(
                view_id, {"response_action": "clear"} if whole_stack else {}
            )
