import http.server
import os
import threading

import pytest


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves files from ``root`` under several behaviours chosen by the first path part:
    /good/NAME, /forbidden/NAME (403), /corrupt/NAME (one byte changed), /truncated/NAME
    (announces the full length, sends half, closes)."""

    root = ""
    hits: list = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.hits.append(self.path)
        parts = self.path.strip("/").split("/", 1)
        if len(parts) != 2:
            self.send_error(404)
            return
        mode, name = parts
        path = os.path.join(self.root, name)
        if mode == "forbidden" or not os.path.exists(path):
            self.send_error(403 if mode == "forbidden" else 404)
            return
        data = open(path, "rb").read()
        if mode == "corrupt":
            data = data[:10] + bytes([data[10] ^ 0xFF]) + data[11:]
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if mode == "truncated":
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(data)


@pytest.fixture
def file_server(tmp_path):
    """A local HTTP server on 127.0.0.1 serving the files put in its ``root`` folder."""
    root = tmp_path / "served"
    root.mkdir()
    handler = type("Handler", (_Handler,), {"root": str(root), "hits": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    server.root = root
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    server.hits = handler.hits
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
