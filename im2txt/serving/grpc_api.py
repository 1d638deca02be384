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
"""The model server's gRPC API: TensorFlow Serving's services and protos.

``PredictionService.Predict`` and ``GetModelMetadata`` and
``ModelService.GetModelStatus``, with the messages of the
tensorflow-serving-api package, served by grpcio: a client written with
``prediction_service_pb2_grpc.PredictionServiceStub`` works unchanged.
Classify, Regress, MultiInference and HandleReloadConfigRequest answer
UNIMPLEMENTED (the servicer base classes' default). Messages larger than
the size limit are refused by grpcio before they are decoded
(RESOURCE_EXHAUSTED).
"""

from concurrent import futures

import grpc
from tensorflow_serving.apis import model_service_pb2_grpc
from tensorflow_serving.apis import predict_pb2
from tensorflow_serving.apis import prediction_service_pb2_grpc

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import

import tensorflow.compat.v1 as tf

from im2txt.serving import servable as servable_lib


def _version(spec):
  return spec.version.value if spec.HasField("version") else None


def _abort(context, error):
  context.abort(error.code, error.message)


class _PredictionServicer(
    prediction_service_pb2_grpc.PredictionServiceServicer):

  def __init__(self, service):
    self._service = service

  def Predict(self, request, context):  # pylint: disable=invalid-name
    try:
      inputs = {}
      for name, proto in request.inputs.items():
        try:
          inputs[name] = tf.make_ndarray(proto)
        except (TypeError, ValueError) as e:
          raise servable_lib.ServingError(servable_lib.INVALID_ARGUMENT, (
              "Input \"%s\" is not a valid TensorProto: %s" % (name, e)))
      version, key, outputs = self._service.predict(
          request.model_spec.name, _version(request.model_spec),
          request.model_spec.signature_name, inputs,
          list(request.output_filter), protocol="grpc",
          input_dtypes={n: p.dtype for n, p in request.inputs.items()})
    except servable_lib.ServingError as e:
      _abort(context, e)
      return None
    response = predict_pb2.PredictResponse()
    response.model_spec.name = request.model_spec.name
    response.model_spec.version.value = version
    response.model_spec.signature_name = key
    for name, value in outputs.items():
      response.outputs[name].CopyFrom(tf.make_tensor_proto(value))
    return response

  def GetModelMetadata(self, request, context):  # pylint: disable=invalid-name
    try:
      return self._service.model_metadata(
          request.model_spec.name, _version(request.model_spec),
          tuple(request.metadata_field))
    except servable_lib.ServingError as e:
      _abort(context, e)
      return None


class _ModelServicer(model_service_pb2_grpc.ModelServiceServicer):

  def __init__(self, service):
    self._service = service

  def GetModelStatus(self, request, context):  # pylint: disable=invalid-name
    try:
      return self._service.model_status(request.model_spec.name,
                                        _version(request.model_spec))
    except servable_lib.ServingError as e:
      _abort(context, e)
      return None


def start_server(service, port, max_message_bytes, max_concurrent_rpcs,
                 host="0.0.0.0"):
  """Starts the gRPC server on host:port; returns (server, bound port).

  At most max_concurrent_rpcs calls are admitted at once, each with its
  own thread; grpcio refuses the others with RESOURCE_EXHAUSTED instead of
  holding them.
  """
  server = grpc.server(
      futures.ThreadPoolExecutor(max_workers=max_concurrent_rpcs),
      options=[("grpc.max_receive_message_length", max_message_bytes),
               ("grpc.max_send_message_length", -1),
               ("grpc.so_reuseport", 0)],
      maximum_concurrent_rpcs=max_concurrent_rpcs)
  prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
      _PredictionServicer(service), server)
  model_service_pb2_grpc.add_ModelServiceServicer_to_server(
      _ModelServicer(service), server)
  try:
    bound = server.add_insecure_port("%s:%d" % (host, port))
  except RuntimeError as e:
    raise OSError("cannot listen for gRPC on %s:%d (%s)" % (host, port, e))
  if not bound:
    raise OSError("cannot listen for gRPC on %s:%d" % (host, port))
  server.start()
  return server, bound
