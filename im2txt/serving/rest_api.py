# Copyright 2026 The im2txt Authors. All Rights Reserved.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
# ==============================================================================
"""The model server's REST API, as TensorFlow Serving's:

  POST /v1/models/<name>[/versions/<v>]:predict   (rest_format's JSON)
  GET  /v1/models/<name>[/versions/<v>]           (GetModelStatusResponse)
  GET  /v1/models/<name>[/versions/<v>]/metadata  (GetModelMetadataResponse)
  GET  /monitoring/prometheus/metrics             (Prometheus text format)

Errors are ``{"error": "<message>"}`` with the HTTP status of the status
code (servable.HTTP_STATUS). The HTTP protocol itself is Python's
http.server (threads, HTTP/1.1 keep-alive); a body larger than the size
limit is refused from its Content-Length, before it is read (413).
"""

import http.server
import re
import threading

from google.protobuf import json_format

from im2txt.serving import rest_format
from im2txt.serving import serving_metrics
from im2txt.serving import servable as servable_lib

_MODEL_PATH = re.compile(
    r"^/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>[^/:]+))?"
    r"(?P<rest>:predict|/metadata)?$")
METRICS_PATH = "/monitoring/prometheus/metrics"


def _proto_json(message):
  return json_format.MessageToJson(
      message, preserving_proto_field_name=True,
      always_print_fields_with_no_presence=True).encode("utf-8")


class _InFlight(object):
  """Counts requests being answered, so that a stop can wait for them."""

  def __init__(self):
    self._count = 0
    self._cond = threading.Condition()

  def __enter__(self):
    with self._cond:
      self._count += 1

  def __exit__(self, *unused):
    with self._cond:
      self._count -= 1
      self._cond.notify_all()

  def wait_idle(self, timeout=None):
    with self._cond:
      return self._cond.wait_for(lambda: self._count == 0, timeout)


def _handler(service, max_request_bytes, in_flight):
  """The request handler class of one server."""

  class Handler(http.server.BaseHTTPRequestHandler):
    """One connection's requests."""

    protocol_version = "HTTP/1.1"
    server_version = "im2txt-model-server"
    # A response is written in two sends (headers, body): without
    # TCP_NODELAY, Nagle's algorithm and the client's delayed ACK hold the
    # body back ~40 ms on every keep-alive request.
    disable_nagle_algorithm = True

    def log_message(self, *unused):  # pylint: disable=arguments-differ
      pass  # One line per request is too much for a busy server.

    def _send(self, status, body, content_type="application/json"):
      self.send_response(status)
      self.send_header("Content-Type", content_type)
      self.send_header("Content-Length", str(len(body)))
      self.end_headers()
      self.wfile.write(body)

    def _error(self, status, message):
      self._send(status, rest_format.format_error(message))

    def _route(self):
      """(name, version or None, "predict" | "metadata" | "status")."""
      match = _MODEL_PATH.match(self.path.split("?", 1)[0])
      if not match:
        raise servable_lib.ServingError(servable_lib.NOT_FOUND, (
            "Malformed request: %s %s (expected /v1/models/<name>"
            "[/versions/<version>][:predict | /metadata])"
            % (self.command, self.path)))
      version = match.group("version")
      if version is not None:
        if not version.isdigit():
          raise servable_lib.ServingError(servable_lib.INVALID_ARGUMENT, (
              "The version in %s is not a number." % self.path))
        version = int(version)
      kind = {":predict": "predict", "/metadata": "metadata",
              None: "status"}[match.group("rest")]
      return match.group("name"), version, kind

    def do_GET(self):  # pylint: disable=invalid-name
      """Status, metadata and metrics."""
      with in_flight:
        if self.path == METRICS_PATH:
          self._send(200, service.metrics.text(), serving_metrics.CONTENT_TYPE)
          return
        try:
          name, version, kind = self._route()
          if kind == "predict":
            raise servable_lib.ServingError(servable_lib.INVALID_ARGUMENT,
                                            "predict is a POST request.")
          if kind == "metadata":
            body = _proto_json(service.model_metadata(name, version))
          else:
            body = _proto_json(service.model_status(name, version))
        except servable_lib.ServingError as e:
          self._error(e.http_status, e.message)
          return
        self._send(200, body)

    def do_POST(self):  # pylint: disable=invalid-name
      """Predict."""
      with in_flight:
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
          self.close_connection = True
          self._error(411, "A request needs its Content-Length.")
          return
        if int(length) > max_request_bytes:
          # Refused before the body is read; the connection is closed.
          self.close_connection = True
          self._error(413, "The request has %s bytes, more than the "
                      "server's limit of %d (--max_request_bytes)."
                      % (length, max_request_bytes))
          return
        body = self.rfile.read(int(length))
        try:
          name, version, kind = self._route()
          if kind != "predict":
            raise servable_lib.ServingError(servable_lib.INVALID_ARGUMENT, (
                "Only :predict takes a POST request (got %s)." % self.path))
          key, inputs, row_form = rest_format.parse_predict(
              body, lambda key: service.signature_inputs(name, version, key))
          _, _, outputs = service.predict(name, version, key, inputs)
        except servable_lib.ServingError as e:
          self._error(e.http_status, e.message)
          return
        self._send(200, rest_format.format_predict(outputs, row_form))

  return Handler


class _HTTPServer(http.server.ThreadingHTTPServer):
  # The listen backlog: socketserver's default of 5 resets the connections
  # of a burst of clients (32 at once) before they are accepted.
  request_queue_size = 1024


class RestServer(object):
  """The REST API on host:port, served by threads."""

  def __init__(self, service, port, max_request_bytes, host="0.0.0.0"):
    self._in_flight = _InFlight()
    try:
      self._server = _HTTPServer(
          (host, port), _handler(service, max_request_bytes, self._in_flight))
    except OSError as e:
      raise OSError("cannot listen for REST on %s:%d: %s" % (
          host, port, e.strerror or e))
    self.port = self._server.server_address[1]
    self._thread = threading.Thread(target=self._server.serve_forever,
                                    daemon=True, name="rest-api")
    self._thread.start()

  def stop(self, timeout=None):
    """Stops accepting connections and waits for the requests in flight."""
    self._server.shutdown()
    self._server.server_close()
    self._in_flight.wait_idle(timeout)
