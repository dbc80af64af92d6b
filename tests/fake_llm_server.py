"""A real HTTP server on 127.0.0.1 that speaks just enough of Ollama's and OpenAI's chat APIs for protocol tests.

Ollama: ``POST /api/chat`` (NDJSON stream or one JSON object), ``GET /api/tags``, ``GET /api/version``.
OpenAI: ``POST /v1/chat/completions`` (SSE stream or one JSON object), ``GET /v1/models``.

Behaviour per request: ``mode`` is ``ok`` (reply with the next scripted text, else ``default``),
``garbage`` (200 with a body that is not the API's JSON) or ``sleep`` (wait ``delay`` seconds first).
Every request body is kept in ``requests`` so tests can check what the client sent.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeLLMServer:
    def __init__(self) -> None:
        self.mode = "ok"
        self.delay = 0.0
        self.default = "ok"
        self.replies: deque[str] = deque()
        self.requests: list[dict] = []
        self._httpd: ThreadingHTTPServer | None = None

    def script(self, *replies: str) -> None:
        self.replies.extend(replies)

    def reset(self) -> None:
        self.mode, self.delay = "ok", 0.0
        self.replies.clear()
        self.requests.clear()

    @property
    def url(self) -> str:
        assert self._httpd is not None
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def next_reply(self) -> str:
        return self.replies.popleft() if self.replies else self.default

    def start(self) -> "FakeLLMServer":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep pytest output clean
                pass

            def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _stream(self, ctype: str, pieces: list[bytes]) -> None:
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for p in pieces:
                    self.wfile.write(f"{len(p):x}\r\n".encode() + p + b"\r\n")
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")

            def do_GET(self) -> None:
                if self.path == "/api/tags":
                    self._send(200, json.dumps({"models": [{"name": "fake", "model": "fake"}]}).encode())
                elif self.path == "/api/version":
                    self._send(200, b'{"version": "0.12.0"}')
                elif self.path == "/v1/models":
                    self._send(200, json.dumps({"object": "list", "data": [{"id": "fake", "object": "model"}]}).encode())
                else:
                    self._send(404, b'{"error": "not found"}')

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                fake.requests.append({"path": self.path, **body})
                if fake.mode == "sleep":
                    time.sleep(fake.delay)
                if fake.mode == "garbage":
                    self._send(200, b"<html>502 upstream hiccup</html>", "text/html")
                    return
                reply = fake.next_reply()
                if self.path == "/api/chat":
                    self._ollama(body, reply)
                elif self.path == "/v1/chat/completions":
                    self._openai(body, reply)
                else:
                    self._send(404, b'{"error": "not found"}')

            def _ollama(self, body: dict, reply: str) -> None:
                model = body.get("model", "fake")
                now = "2026-01-01T00:00:00Z"
                done = {"model": model, "created_at": now, "message": {"role": "assistant", "content": ""},
                        "done": True, "done_reason": "stop", "total_duration": 1, "load_duration": 1,
                        "prompt_eval_count": 10, "prompt_eval_duration": 1, "eval_count": 5, "eval_duration": 1}
                if body.get("stream", True):
                    lines = [json.dumps({"model": model, "created_at": now, "done": False,
                                         "message": {"role": "assistant", "content": w}}).encode() + b"\n"
                             for w in _words(reply)]
                    self._stream("application/x-ndjson", lines + [json.dumps(done).encode() + b"\n"])
                else:
                    done["message"]["content"] = reply
                    self._send(200, json.dumps(done).encode())

            def _openai(self, body: dict, reply: str) -> None:
                base = {"id": "chatcmpl-fake", "created": 0, "model": body.get("model", "fake")}
                if body.get("stream"):
                    chunks = [{**base, "object": "chat.completion.chunk",
                               "choices": [{"index": 0, "delta": {"content": w}, "finish_reason": None}]}
                              for w in _words(reply)]
                    chunks.append({**base, "object": "chat.completion.chunk",
                                   "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
                    pieces = [f"data: {json.dumps(c)}\n\n".encode() for c in chunks] + [b"data: [DONE]\n\n"]
                    self._stream("text/event-stream", pieces)
                else:
                    out = {**base, "object": "chat.completion",
                           "choices": [{"index": 0, "finish_reason": "stop",
                                        "message": {"role": "assistant", "content": reply}}],
                           "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}
                    self._send(200, json.dumps(out).encode())

        self._httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, daemon=True, name="fake-llm").start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        # A client that gave up (the timeout tests) closes the socket mid-reply: expected, not an error.
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _words(text: str) -> list[str]:
    """Split a reply into stream deltas that concatenate back to it exactly."""
    out, cur = [], ""
    for ch in text:
        cur += ch
        if ch == " ":
            out.append(cur)
            cur = ""
    return out + ([cur] if cur else [])
