"""Real listeners on 127.0.0.1 that are not TensorFlow servers, for the
tests of what a task does when one sits at a cluster address."""

import contextlib
import http.server
import socket
import threading


@contextlib.contextmanager
def http_server():
  """A plain HTTP/1 server on 127.0.0.1: something that is not TensorFlow."""
  server = http.server.HTTPServer(("127.0.0.1", 0),
                                  http.server.BaseHTTPRequestHandler)
  thread = threading.Thread(target=server.serve_forever, daemon=True)
  thread.start()
  try:
    yield "127.0.0.1:%d" % server.server_address[1]
  finally:
    server.shutdown()
    server.server_close()


@contextlib.contextmanager
def silent_listener():
  """A socket that accepts connections and never answers."""
  listener = socket.socket()
  listener.bind(("127.0.0.1", 0))
  listener.listen(8)
  try:
    yield listener, "127.0.0.1:%d" % listener.getsockname()[1]
  finally:
    listener.close()
