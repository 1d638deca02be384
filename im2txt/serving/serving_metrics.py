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
"""The model server's metrics, in Prometheus's text format.

Served at /monitoring/prometheus/metrics of the REST port, as TensorFlow
Serving serves its own; the names follow TensorFlow Serving's:

* ``:tensorflow:serving:request_count`` (counter; labels model_name,
  API, protocol, status);
* ``:tensorflow:serving:request_latency`` (histogram of microseconds;
  labels model_name, API, protocol);
* ``:tensorflow:serving:batching_session:processed_batch_size``
  (histogram of rows per signature call; label model_name).

Each Metrics object has its own registry (prometheus_client's), so that
several servers in one process (tests) do not share counts.
"""

import prometheus_client

CONTENT_TYPE = prometheus_client.CONTENT_TYPE_LATEST


class Metrics(object):
  """The server's counters and histograms, in a registry of their own."""

  def __init__(self):
    self.registry = prometheus_client.CollectorRegistry()
    self._requests = prometheus_client.Counter(
        ":tensorflow:serving:request_count",
        "Requests answered, by API, protocol and status.",
        ["model_name", "API", "protocol", "status"], registry=self.registry)
    self._latency = prometheus_client.Histogram(
        ":tensorflow:serving:request_latency",
        "Time to answer a request, in microseconds.",
        ["model_name", "API", "protocol"], registry=self.registry,
        buckets=[10 ** (k / 2) for k in range(4, 18)])
    self._batch_size = prometheus_client.Histogram(
        ":tensorflow:serving:batching_session:processed_batch_size",
        "Rows in each signature call (requests joined by batching).",
        ["model_name"], registry=self.registry,
        buckets=[1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024])

  def request(self, model, api, protocol, status, seconds):
    self._requests.labels(model, api, protocol, status).inc()
    self._latency.labels(model, api, protocol).observe(seconds * 1e6)

  def batch(self, model, rows):
    self._batch_size.labels(model).observe(rows)

  def text(self):
    """The exposition in Prometheus's text format (bytes)."""
    return prometheus_client.generate_latest(self.registry)
