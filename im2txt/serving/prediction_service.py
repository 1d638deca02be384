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
"""What the model server does, whichever protocol asked: predict, model
status and model metadata, as TensorFlow Serving defines them.

The gRPC front end (grpc_api) and the REST one (rest_api) translate their
requests into these calls and the answers (protos of the
tensorflow-serving-api package, or {output: array}) back.
"""

import time

from tensorflow_serving.apis import get_model_metadata_pb2
from tensorflow_serving.apis import get_model_status_pb2

from im2txt.serving import model_manager
from im2txt.serving import servable as servable_lib

_STATES = {
    model_manager.START: get_model_status_pb2.ModelVersionStatus.START,
    model_manager.LOADING: get_model_status_pb2.ModelVersionStatus.LOADING,
    model_manager.AVAILABLE:
        get_model_status_pb2.ModelVersionStatus.AVAILABLE,
    model_manager.UNLOADING:
        get_model_status_pb2.ModelVersionStatus.UNLOADING,
    model_manager.END: get_model_status_pb2.ModelVersionStatus.END,
}

SIGNATURE_DEF_FIELD = "signature_def"

# tensorflow.error.Code UNKNOWN: a version that failed to load.
_UNKNOWN_ERROR = (get_model_status_pb2.ModelVersionStatus.DESCRIPTOR
                  .fields_by_name["status"].message_type
                  .fields_by_name["error_code"].enum_type
                  .values_by_name["UNKNOWN"].number)


class PredictionService(object):
  """One model's predict, status and metadata over a ModelManager and a
  RequestScheduler; `metrics` (serving_metrics.Metrics) counts requests."""

  def __init__(self, manager, scheduler, metrics, request_timeout_secs=600):
    self.manager = manager
    self.scheduler = scheduler
    self.metrics = metrics
    self.request_timeout_secs = request_timeout_secs

  def _check_name(self, name):
    if name != self.manager.name:
      raise servable_lib.ServingError(servable_lib.NOT_FOUND, (
          "Servable not found for request: Latest(%s): this server serves "
          "the model \"%s\"." % (name, self.manager.name)))

  def signature_inputs(self, name, version, signature_key):
    """Sorted input names of a signature (for the REST row form)."""
    self._check_name(name)
    servable = self.manager.acquire(version)
    try:
      _, signature = servable.signature(signature_key)
      return sorted(signature.inputs)
    finally:
      servable.release()

  def predict(self, name, version, signature_key, inputs, output_filter=(),
              protocol="rest", input_dtypes=None):
    """Runs a signature of the model.

    Args:
      name, version: The model, and its version (None: the newest).
      signature_key: The signature ("" or None: serving_default).
      inputs: {input name: array-like}.
      output_filter: Output names to return (all if empty).
      protocol: "rest" or "grpc", for the metrics.
      input_dtypes: {input name: DataType enum} of typed inputs (gRPC's
        TensorProtos), which must be the signature's dtypes exactly, as
        TensorFlow Serving requires; JSON values are converted instead.

    Returns:
      (version served, signature key, {output name: np.ndarray}).

    Raises:
      ServingError naming the problem.
    """
    start = time.monotonic()
    status = "OK"
    try:
      self._check_name(name)
      servable = self.manager.acquire(version)
      try:
        key, signature = servable.signature(signature_key)
        for input_name, dtype in (input_dtypes or {}).items():
          expected = signature.inputs.get(input_name)
          if expected is not None and dtype != expected.dtype:
            raise servable_lib.ServingError(servable_lib.INVALID_ARGUMENT, (
                "Input \"%s\" must be %s, but %s was given." % (
                    input_name, servable_lib.dtype_name(expected.dtype),
                    servable_lib.dtype_name(dtype))))
        arrays = servable.check_inputs(key, inputs)
        future = self.scheduler.submit(servable, key, arrays, output_filter)
        try:
          outputs = future.result(timeout=self.request_timeout_secs)
        except TimeoutError:
          future.cancel()
          raise servable_lib.ServingError(
              servable_lib.grpc.StatusCode.DEADLINE_EXCEEDED,
              "The request did not finish within %d s."
              % self.request_timeout_secs)
        return servable.version, key, outputs
      finally:
        servable.release()
    except servable_lib.ServingError as e:
      status = e.code.name
      raise
    finally:
      self.metrics.request(self.manager.name, "predict", protocol, status,
                           time.monotonic() - start)

  def model_status(self, name, version=None):
    """A GetModelStatusResponse of every version (or `version`)."""
    self._check_name(name)
    statuses = self.manager.statuses()
    if version is not None:
      if version not in statuses:
        raise servable_lib.ServingError(servable_lib.NOT_FOUND, (
            "Could not find version %d of model %s." % (version, name)))
      statuses = {version: statuses[version]}
    if not statuses:
      raise servable_lib.ServingError(servable_lib.NOT_FOUND, (
          "Could not find any versions of model %s under %s." % (
              name, self.manager.base_path)))
    response = get_model_status_pb2.GetModelStatusResponse()
    for number, status in statuses.items():
      entry = response.model_version_status.add()
      entry.version = number
      entry.state = _STATES[status.state]
      entry.status.SetInParent()
      if status.error:
        entry.status.error_code = _UNKNOWN_ERROR
        entry.status.error_message = status.error
    return response

  def model_metadata(self, name, version=None, fields=(SIGNATURE_DEF_FIELD,)):
    """A GetModelMetadataResponse with the signature defs."""
    self._check_name(name)
    unknown = [f for f in fields if f != SIGNATURE_DEF_FIELD]
    if unknown or not fields:
      raise servable_lib.ServingError(servable_lib.INVALID_ARGUMENT, (
          "Metadata field(s) %s are not supported; ask for \"%s\"." % (
              ", ".join(unknown) or "(none)", SIGNATURE_DEF_FIELD)))
    servable = self.manager.acquire(version)
    try:
      response = get_model_metadata_pb2.GetModelMetadataResponse()
      response.model_spec.name = name
      response.model_spec.version.value = servable.version
      signatures = get_model_metadata_pb2.SignatureDefMap()
      for key, signature in servable.signatures.items():
        signatures.signature_def[key].CopyFrom(signature)
      response.metadata[SIGNATURE_DEF_FIELD].Pack(signatures)
      return response
    finally:
      servable.release()
