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
"""One loaded version of a SavedModel, and the errors of serving it.

A Servable holds a version's graph and session (loaded with the TF1
SavedModel loader, as the model server of TensorFlow Serving runs it) and
runs any of its signatures on NumPy inputs, after checking their names,
dtypes and shapes against the SignatureDef. Every refusal is a
ServingError carrying the status code TensorFlow Serving gives it (a
grpc.StatusCode), which the gRPC and REST front ends translate.
"""

import threading

import grpc
import numpy as np

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import

import tensorflow.compat.v1 as tf

# Status codes, as grpc names them.
INVALID_ARGUMENT = grpc.StatusCode.INVALID_ARGUMENT
NOT_FOUND = grpc.StatusCode.NOT_FOUND
RESOURCE_EXHAUSTED = grpc.StatusCode.RESOURCE_EXHAUSTED
UNAVAILABLE = grpc.StatusCode.UNAVAILABLE
INTERNAL = grpc.StatusCode.INTERNAL

# HTTP statuses of the codes (google.rpc's mapping, which TensorFlow
# Serving's REST API uses).
HTTP_STATUS = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.INTERNAL: 500,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DATA_LOSS: 500,
    grpc.StatusCode.UNAUTHENTICATED: 401,
}


class ServingError(Exception):
  """A request that cannot be served; `code` is a grpc.StatusCode."""

  def __init__(self, code, message):
    super().__init__(message)
    self.code = code
    self.message = message

  @property
  def http_status(self):
    return HTTP_STATUS.get(self.code, 500)


def numpy_dtype(dtype_enum):
  """The NumPy dtype of a DataType enum (object for strings)."""
  dtype = tf.as_dtype(dtype_enum)
  return np.dtype(object) if dtype == tf.string else dtype.as_numpy_dtype


def dtype_name(dtype_enum):
  return tf.as_dtype(dtype_enum).name


def batchable(signature):
  """Whether every input of a SignatureDef has a free first dimension (so
  requests can be joined along it)."""
  for info in signature.inputs.values():
    dims = info.tensor_shape.dim
    if info.tensor_shape.unknown_rank or not dims or dims[0].size != -1:
      return False
  return bool(signature.inputs)


class Servable(object):
  """A loaded version: runs its signatures.

  Attributes:
    name, version: The model's name and version number.
    signatures: {key: SignatureDef}.
    meta_graph: The loaded MetaGraphDef.
  """

  def __init__(self, name, version, export_dir, session_config=None):
    """Loads export_dir (tag "serve"). Raises what the loader raises."""
    self.name = name
    self.version = version
    self.export_dir = export_dir
    self._graph = tf.Graph()
    self._session = tf.Session(graph=self._graph, config=session_config)
    try:
      with self._graph.as_default():
        self.meta_graph = tf.saved_model.loader.load(
            self._session, [tf.saved_model.SERVING], export_dir)
    except Exception:
      self._session.close()
      raise
    self.signatures = dict(self.meta_graph.signature_def)
    self._lock = threading.Lock()
    self._in_flight = 0
    self._closing = False
    self._idle = threading.Condition(self._lock)

  # -- Use counting: a version is closed only once its requests are done.

  def acquire(self):
    """Marks a request as using this version; False once it is closing."""
    with self._lock:
      if self._closing:
        return False
      self._in_flight += 1
      return True

  def release(self):
    with self._lock:
      self._in_flight -= 1
      self._idle.notify_all()

  def close(self, timeout=None):
    """Stops new requests, waits for those in flight, closes the session."""
    with self._lock:
      self._closing = True
      self._idle.wait_for(lambda: self._in_flight == 0, timeout)
    self._session.close()

  # -- Running signatures.

  def signature(self, key):
    """The SignatureDef `key`; ServingError naming the known keys if none."""
    key = key or tf.saved_model.DEFAULT_SERVING_SIGNATURE_DEF_KEY
    if key not in self.signatures:
      raise ServingError(INVALID_ARGUMENT, (
          "Serving signature name: \"%s\" not found in signature def; the "
          "model %s version %d has: %s." % (
              key, self.name, self.version, ", ".join(sorted(
                  self.signatures)))))
    return key, self.signatures[key]

  def check_inputs(self, key, inputs):
    """Converts and checks {input name: array-like} for signature `key`.

    Returns:
      {name: np.ndarray} of the signature's dtypes.

    Raises:
      ServingError (INVALID_ARGUMENT) naming the input and the problem.
    """
    key, signature = self.signature(key)
    expected, given = set(signature.inputs), set(inputs)
    if expected != given:
      missing, extra = sorted(expected - given), sorted(given - expected)
      raise ServingError(INVALID_ARGUMENT, (
          "Signature \"%s\" takes the input(s) %s; %s%s" % (
              key, ", ".join(sorted(expected)),
              "missing: %s" % ", ".join(missing) if missing else "",
              ("%sunknown: %s" % ("; " if missing else "", ", ".join(extra))
               if extra else ""))))
    arrays = {}
    for name, info in signature.inputs.items():
      arrays[name] = _checked(key, name, info, inputs[name])
    return arrays

  def run(self, key, inputs, output_filter=()):
    """Runs signature `key` on checked inputs (check_inputs).

    Returns:
      {output name: np.ndarray} (only those of output_filter, if given).
    """
    key, signature = self.signature(key)
    names = list(output_filter) or sorted(signature.outputs)
    unknown = [n for n in names if n not in signature.outputs]
    if unknown:
      raise ServingError(INVALID_ARGUMENT, (
          "output_filter %s: signature \"%s\" has no such output (it has "
          "%s)." % (", ".join(unknown), key,
                    ", ".join(sorted(signature.outputs)))))
    feed = {signature.inputs[n].name: value for n, value in inputs.items()}
    fetch = {n: signature.outputs[n].name for n in names}
    try:
      return self._session.run(fetch, feed)
    except tf.errors.InvalidArgumentError as e:
      raise ServingError(INVALID_ARGUMENT, e.message.splitlines()[0])
    except tf.errors.OpError as e:
      raise ServingError(INTERNAL, "%s: %s" % (
          type(e).__name__, e.message.splitlines()[0]))


def _checked(key, name, info, value):
  """value as an array of the input's dtype and a compatible shape."""
  dtype = numpy_dtype(info.dtype)
  try:
    if dtype == np.dtype(object):
      array = np.asarray(value, dtype=object)
      flat = array.reshape(-1)
      for i, item in enumerate(flat):
        if isinstance(item, str):
          flat[i] = item.encode("utf-8")
        elif not isinstance(item, bytes):
          raise TypeError("element %r is not a string" % (item,))
    else:
      array = np.asarray(value)
      if array.dtype == np.dtype(object) or array.dtype.kind in "USb":
        raise TypeError("not numbers")
      if np.issubdtype(dtype, np.integer) and array.size and (
          array.dtype.kind == "f"):
        raise TypeError("not integers")
      array = array.astype(dtype)
  except (TypeError, ValueError) as e:
    raise ServingError(INVALID_ARGUMENT, (
        "Input \"%s\" of signature \"%s\" must be %s: %s." % (
            name, key, dtype_name(info.dtype), e)))
  shape = info.tensor_shape
  if not shape.unknown_rank:
    dims = [d.size for d in shape.dim]
    if array.ndim != len(dims) or any(
        d not in (-1, s) for d, s in zip(dims, array.shape)):
      raise ServingError(INVALID_ARGUMENT, (
          "Input \"%s\" of signature \"%s\" has shape %s; it takes %s "
          "(-1: any size)." % (name, key, list(array.shape), dims)))
  return array
