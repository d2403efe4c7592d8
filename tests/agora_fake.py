"""A local HTTP server speaking Agora's Cloud Recording REST API (acquire, start, query, stop).

It checks every request as Agora would (method, path under `/v1/apps/<appId>/cloud_recording`,
HTTP Basic credentials, JSON body fields) and refuses a wrong one with Agora's 4xx shape, keeps the
resources and sessions it handed out, and records every request for the tests to inspect."""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
from http.server import ThreadingHTTPServer
from typing import Any

from tests.fake_http import JsonHandler


class FakeAgora:
    def __init__(self, app_id: str, customer_id: str, customer_secret: str):
        self.app_id = app_id
        self.auth = "Basic " + base64.b64encode(f"{customer_id}:{customer_secret}".encode()).decode()
        self.requests: list[dict[str, Any]] = []
        self.resources: dict[str, str] = {}  # resourceId -> cname
        self.sessions: dict[str, dict[str, Any]] = {}  # sid -> {resourceId, cname, mode, stopped}
        self.fail_with: int | None = None  # answer every call with this status (an Agora outage)
        fake = self

        class Handler(JsonHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                fake.requests.append(
                    {"method": self.command, "path": self.path, "auth": self.headers.get("Authorization"), "body": body}
                )
                status, answer = fake.route(self.command, self.path, self.headers.get("Authorization"), body)
                self._answer(status, answer)

            do_GET = do_POST = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> FakeAgora:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    def route(self, method: str, path: str, auth: str | None, body: Any) -> tuple[int, dict[str, Any]]:
        if self.fail_with is not None:
            return self.fail_with, {"code": 2, "reason": "service unavailable"}
        if auth != self.auth:
            return 401, {"message": "Invalid authentication credentials"}
        prefix = f"/v1/apps/{self.app_id}/cloud_recording"
        if not path.startswith(prefix):
            return 404, {"message": "no Route matched with those values"}
        rest = path[len(prefix) :]
        if method == "POST" and rest == "/acquire":
            if not isinstance(body, dict) or not body.get("cname") or body.get("uid") != "999999":
                return 400, {"code": 2, "reason": "invalid parameter"}
            if "storageConfig" in (body.get("clientRequest") or {}):
                return 400, {"code": 2, "reason": "storageConfig does not belong in acquire"}
            resource_id = secrets.token_hex(16)
            self.resources[resource_id] = body["cname"]
            return 200, {"resourceId": resource_id}
        found = re.fullmatch(r"/resourceid/([^/]+)/mode/(mix|individual)/start", rest)
        if method == "POST" and found:
            resource_id, mode = found.groups()
            request = (body or {}).get("clientRequest") or {}
            storage = request.get("storageConfig") or {}
            if self.resources.get(resource_id) != (body or {}).get("cname") or not request.get("token"):
                return 400, {"code": 2, "reason": "invalid parameter"}
            if not all(storage.get(key) not in (None, "") for key in ("vendor", "region", "bucket", "accessKey")):
                return 400, {"code": 2, "reason": "invalid storageConfig"}
            sid = secrets.token_hex(16)
            self.sessions[sid] = {"resourceId": resource_id, "cname": body["cname"], "mode": mode, "stopped": False}
            return 200, {"cname": body["cname"], "uid": "999999", "resourceId": resource_id, "sid": sid}
        found = re.fullmatch(r"/resourceid/([^/]+)/sid/([^/]+)/mode/(mix|individual)/(query|stop)", rest)
        if found:
            resource_id, sid, mode, action = found.groups()
            session = self.sessions.get(sid)
            if session is None or session["resourceId"] != resource_id or session["mode"] != mode or session["stopped"]:
                return 404, {"code": 404, "reason": "failed to find worker"}
            if action == "query" and method == "GET":
                return 200, {"resourceId": resource_id, "sid": sid, "serverResponse": {"status": 5, "fileList": []}}
            if action == "stop" and method == "POST":
                if (body or {}).get("cname") != session["cname"] or (body or {}).get("uid") != "999999":
                    return 400, {"code": 2, "reason": "invalid parameter"}
                session["stopped"] = True
                files = [{"fileName": f"{sid}_{session['cname']}.m3u8", "trackType": "audio_and_video"}]
                return 200, {
                    "resourceId": resource_id,
                    "sid": sid,
                    "serverResponse": {"fileListMode": "json", "fileList": files, "uploadingStatus": "uploaded"},
                }
        return 404, {"message": "no Route matched with those values"}
