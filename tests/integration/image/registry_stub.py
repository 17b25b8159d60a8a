#!/usr/bin/env python3
"""A misbehaving OCI registry for the pull tests: only the failures a real registry cannot be
made to produce. Serves the image of an OCI layout (argv[1]) under repositories whose first path
component picks the behaviour:

  good/       plain distribution API v2
  corrupt/    the layer's bytes differ from its digest (same size)
  truncated/  the layer's body stops halfway (Content-Length promises all of it)
  short/      the layer's body is 10 bytes short, and Content-Length says so
  resume/     the layer's first body stops halfway; a Range request then gets the rest (206)
  flaky/      every blob's first GET answers 500
  down/       every manifest GET answers 503
  missing/    the layer answers 404 BLOB_UNKNOWN
  token/      Bearer token flow (realm /token); blobs redirect to another origin (localhost
              instead of 127.0.0.1), which refuses requests that carry an Authorization header
  mediatype/  the manifest has an unknown media type
  malformed/  the manifest is not JSON

Prints the port on stdout, then serves on 127.0.0.1 until killed. GET /stats: request counters.
"""
import hashlib
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

LAYOUT = sys.argv[1]
TOKEN = "stub-token"
lock = threading.Lock()
stats = {"ranges": [], "token": 0, "scopes": [], "blob_gets": {}, "errors_served": 0, "storage_gets": 0,
         "storage_with_auth": 0}
flaky_seen = set()


def blob(digest):
    with open(os.path.join(LAYOUT, "blobs", "sha256", digest.split(":", 1)[1]), "rb") as f:
        return f.read()


index = json.load(open(os.path.join(LAYOUT, "index.json")))
manifest_desc = index["manifests"][0]
manifest_bytes = blob(manifest_desc["digest"])
manifest = json.loads(manifest_bytes)
layer_digests = {l["digest"] for l in manifest["layers"]}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, body=b"", ctype="application/json", headers=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error(self, status, code, message):
        with lock:
            stats["errors_served"] += 1
        body = json.dumps({"errors": [{"code": code, "message": message}]}).encode()
        self.send(status, body)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        url = urlparse(self.path)
        parts = url.path.split("/")
        if url.path == "/stats":
            with lock:
                return self.send(200, json.dumps(stats).encode())
        if url.path == "/token":
            q = parse_qs(url.query)
            with lock:
                stats["token"] += 1
                stats["scopes"] += q.get("scope", [])
            if q.get("service") != ["stub"]:
                return self.error(400, "DENIED", "wrong service")
            return self.send(200, json.dumps({"token": TOKEN, "expires_in": 300}).encode())
        if url.path.startswith("/storage/"):
            with lock:
                stats["storage_gets"] += 1
                if self.headers.get("Authorization"):
                    stats["storage_with_auth"] += 1
            if self.headers.get("Authorization"):
                return self.error(400, "DENIED", "credentials sent to blob storage")
            return self.send(200, blob("sha256:" + parts[2]), "application/octet-stream")
        # /v2/<mode>/<name>/(manifests|blobs)/<ref>
        if len(parts) != 6 or parts[1] != "v2":
            return self.error(404, "NAME_UNKNOWN", "no such repository")
        mode, kind, ref = parts[2], parts[4], parts[5]
        if mode == "token":
            if self.headers.get("Authorization") != "Bearer " + TOKEN:
                port = self.server.server_address[1]
                realm = f'Bearer realm="http://127.0.0.1:{port}/token",service="stub",' \
                        f'scope="repository:{parts[2]}/{parts[3]}:pull"'
                return self.error_with(401, "UNAUTHORIZED", "authentication required",
                                       {"WWW-Authenticate": realm})
        if kind == "manifests":
            if mode == "down":
                return self.error(503, "UNAVAILABLE", "try later")
            if mode == "mediatype":
                body = json.dumps({"schemaVersion": 2,
                                   "mediaType": "application/vnd.example.thing+json"}).encode()
                return self.send(200, body, "application/vnd.example.thing+json")
            if mode == "malformed":
                return self.send(200, b"{not json", manifest_desc["mediaType"])
            if ref not in ("latest", manifest_desc["digest"]):
                return self.error(404, "MANIFEST_UNKNOWN", "manifest unknown")
            digest = "sha256:" + hashlib.sha256(manifest_bytes).hexdigest()
            return self.send(200, manifest_bytes, manifest_desc["mediaType"],
                             {"Docker-Content-Digest": digest})
        if kind != "blobs":
            return self.error(404, "NAME_UNKNOWN", "no such endpoint")
        with lock:
            key = f"{mode}/{ref}"
            stats["blob_gets"][key] = stats["blob_gets"].get(key, 0) + 1
        try:
            data = blob(ref)
        except (OSError, IndexError):
            return self.error(404, "BLOB_UNKNOWN", "blob unknown")
        is_layer = ref in layer_digests
        if mode == "flaky":
            with lock:
                first = ref not in flaky_seen
                flaky_seen.add(ref)
            if first:
                return self.error(500, "UNKNOWN", "flaky")
        if mode == "missing" and is_layer:
            return self.error(404, "BLOB_UNKNOWN", "blob unknown to registry")
        if mode == "corrupt" and is_layer:
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        if mode == "resume" and is_layer:
            rng = self.headers.get("Range")
            if rng:
                with lock:
                    stats["ranges"].append(rng)
                start = int(rng.split("=")[1].rstrip("-"))
                return self.send(206, data[start:], "application/octet-stream",
                                 {"Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}"})
            mode = "truncated"
        if mode == "short" and is_layer:
            data = data[:-10]
        if mode == "truncated" and is_layer:
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        if mode == "token":
            port = self.server.server_address[1]
            return self.send(307, b"", "text/plain",
                             {"Location": f"http://localhost:{port}/storage/{ref.split(':')[1]}"})
        self.send(200, data, "application/octet-stream")

    def error_with(self, status, code, message, headers):
        with lock:
            stats["errors_served"] += 1
        body = json.dumps({"errors": [{"code": code, "message": message}]}).encode()
        self.send(status, body, headers=headers)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    address_family = __import__("socket").AF_INET


server = Server(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
