"""RemoteMonitor posts each epoch's logs to a real HTTP server on 127.0.0.1, as Keras' callback does."""

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import keras
import numpy as np
import pytest

import kgraph
from tests.callbacks.test_simple_callbacks import X, Y, model_pair


@pytest.fixture
def server():
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, self.headers.get("Content-Type"), self.headers.get("X-Run"), body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", received
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def _decode(record, field="data"):
    _, content_type, _, body = record
    if content_type == "application/json":
        return json.loads(body)
    return json.loads(urllib.parse.parse_qs(body.decode())[field][0])


@pytest.mark.parametrize("send_as_json", [False, True])
def test_posts_what_keras_posts(server, send_as_json):
    root, received = server
    payloads = {}
    for module in (kgraph, keras):
        received.clear()
        model = model_pair(module)
        monitor = module.callbacks.RemoteMonitor(root=root, path="/logs/", field="payload", headers={"X-Run": "a"},
                                                 send_as_json=send_as_json)
        model.fit(X, Y, batch_size=16, epochs=3, shuffle=False, verbose=0, validation_data=(X[:8], Y[:8]),
                  callbacks=[monitor])
        assert [(path, run) for path, _, run, _ in received] == [("/logs/", "a")] * 3
        payloads[module] = [_decode(record, "payload") for record in received]
    ours, theirs = payloads[kgraph], payloads[keras]
    assert {r[1] for r in received} <= {"application/json", "application/x-www-form-urlencoded"}
    for mine, keras_payload in zip(ours, theirs):
        assert sorted(mine) == sorted(keras_payload) == ["epoch", "loss", "mae", "val_loss", "val_mae"]
        assert mine["epoch"] == keras_payload["epoch"]
        np.testing.assert_allclose([mine[k] for k in sorted(mine)], [keras_payload[k] for k in sorted(mine)],
                                   rtol=1e-4)


def test_unreachable_server_warns():
    monitor = kgraph.callbacks.RemoteMonitor(root="http://127.0.0.1:9", path="/")
    with pytest.warns(UserWarning, match="Could not reach RemoteMonitor root server at http://127.0.0.1:9"):
        monitor.on_epoch_end(0, {"loss": np.float32(1.5)})
