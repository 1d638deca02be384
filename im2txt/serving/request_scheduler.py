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
"""The queue between the server's front ends and its signature calls.

Requests are queued and run by `num_threads` threads. The queue is bounded
(`max_enqueued` requests): a request beyond it is refused at once with
RESOURCE_EXHAUSTED (HTTP 429), as TensorFlow Serving's batching queue does,
instead of the server's memory growing with its load.

With batching, a thread takes the oldest request and, for signatures whose
inputs all have a free first dimension, joins the queued requests of the
same version and signature to it along that dimension, up to
`max_batch_size` rows, waiting at most `batch_timeout_micros` after the
oldest arrived for more; one signature call answers them all, and each
request gets exactly its own rows. A request larger than max_batch_size
runs alone (the caption signature captions it in bounded batches itself).
"""

import collections
import threading
import time
from concurrent import futures

import numpy as np

from im2txt.serving import servable as servable_lib

BatchingOptions = collections.namedtuple(
    "BatchingOptions", ["max_batch_size", "batch_timeout_micros"])


class _Task(object):

  def __init__(self, servable, signature, inputs, output_filter, rows):
    self.servable = servable
    self.signature = signature
    self.inputs = inputs
    self.output_filter = tuple(output_filter)
    self.rows = rows
    self.future = futures.Future()
    self.arrived = time.monotonic()

  def joins(self, other):
    return (self.servable is other.servable and
            self.signature == other.signature and
            self.output_filter == other.output_filter)


def _rows(signature, inputs):
  """The common first dimension of a batchable request's inputs, or None."""
  if not servable_lib.batchable(signature):
    return None
  sizes = {int(np.shape(a)[0]) for a in inputs.values()}
  return sizes.pop() if len(sizes) == 1 else None


class RequestScheduler(object):
  """Runs signature calls from a bounded queue (see the module docstring).

  `on_batch(rows)` is called with the size of every call (metrics).
  """

  def __init__(self, max_enqueued, num_threads=1, batching=None,
               on_batch=None):
    if max_enqueued < 1 or num_threads < 1:
      raise ValueError("max_enqueued and num_threads must be positive")
    self._max_enqueued = max_enqueued
    self._batching = batching
    self._on_batch = on_batch or (lambda rows: None)
    self._queue = collections.deque()
    self._cond = threading.Condition()
    self._stopping = False
    self._threads = [threading.Thread(target=self._work, daemon=True,
                                      name="serving-%d" % i)
                     for i in range(num_threads)]
    for thread in self._threads:
      thread.start()

  def submit(self, servable, signature_key, inputs, output_filter=()):
    """Queues a call; returns a Future of {output name: array}.

    Raises:
      ServingError: RESOURCE_EXHAUSTED when the queue is full, UNAVAILABLE
        when the server is stopping.
    """
    key, signature = servable.signature(signature_key)
    task = _Task(servable, key, inputs, output_filter,
                 _rows(signature, inputs))
    with self._cond:
      if self._stopping:
        raise servable_lib.ServingError(servable_lib.UNAVAILABLE,
                                        "The server is shutting down.")
      if len(self._queue) >= self._max_enqueued:
        raise servable_lib.ServingError(servable_lib.RESOURCE_EXHAUSTED, (
            "The request queue is full (%d requests waiting): retry later."
            % len(self._queue)))
      self._queue.append(task)
      self._cond.notify()
    return task.future

  def _take(self):
    """The next batch of tasks (one unless batching), or None to stop."""
    with self._cond:
      self._cond.wait_for(lambda: self._queue or self._stopping)
      if not self._queue:
        return None
      first = self._queue.popleft()
      batch = [first]
      if self._batching is None or first.rows is None:
        return batch
      limit = self._batching.max_batch_size
      deadline = first.arrived + self._batching.batch_timeout_micros / 1e6
      rows = first.rows
      while rows < limit:
        for task in list(self._queue):
          if (task.joins(first) and task.rows is not None and
              rows + task.rows <= limit):
            self._queue.remove(task)
            batch.append(task)
            rows += task.rows
        remaining = deadline - time.monotonic()
        if rows >= limit or remaining <= 0 or self._stopping:
          break
        self._cond.wait(remaining)
      return batch

  def _work(self):
    while True:
      batch = self._take()
      if batch is None:
        return
      live = [t for t in batch if t.future.set_running_or_notify_cancel()]
      if live:
        self._run(live)

  def _run(self, batch):
    first = batch[0]
    try:
      if len(batch) == 1:
        inputs = first.inputs
      else:
        inputs = {name: np.concatenate([t.inputs[name] for t in batch])
                  for name in first.inputs}
      rows = sum(t.rows or 0 for t in batch) or None
      self._on_batch(rows or 1)
      outputs = first.servable.run(first.signature, inputs,
                                   first.output_filter)
    except servable_lib.ServingError as e:
      for task in batch:
        task.future.set_exception(e)
      return
    except Exception as e:  # pylint: disable=broad-except
      # Never lose a request to an unexpected error: answer it.
      error = servable_lib.ServingError(servable_lib.INTERNAL, "%s: %s" % (
          type(e).__name__, e))
      for task in batch:
        task.future.set_exception(error)
      return
    if len(batch) == 1:
      first.future.set_result(outputs)
      return
    total = sum(t.rows for t in batch)
    if any(np.ndim(v) == 0 or np.shape(v)[0] != total
           for v in outputs.values()):
      # An output without the requests' rows: answer each one alone.
      for task in batch:
        self._run([task])
      return
    start = 0
    for task in batch:
      end = start + task.rows
      task.future.set_result({name: value[start:end]
                              for name, value in outputs.items()})
      start = end

  def stop(self):
    """Refuses new requests, finishes the queued ones, stops the threads."""
    with self._cond:
      self._stopping = True
      self._cond.notify_all()
    for thread in self._threads:
      thread.join()
