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
"""TensorFlow Serving's REST predict format: JSON to inputs, outputs to JSON.

A request body is a JSON object with an optional ``signature_name`` (default
``serving_default``) and either

* ``instances`` (row form): a list with one element per example; each is
  the value of the signature's only input, or an object naming every
  input; or
* ``inputs`` (column form): the value of the only input, or an object of
  every input's whole value.

Binary values are written ``{"b64": "<base64>"}``. The response is
``{"predictions": [...]}`` for the row form (one element per example: the
only output's value, or an object of every output) and
``{"outputs": ...}`` for the column form. String outputs are UTF-8 text,
or ``{"b64": ...}`` when they are not text or the output's name ends in
``_bytes``; -inf and NaN are written as JavaScript's -Infinity and NaN.
"""

import base64
import binascii
import json

import numpy as np

from im2txt.serving import servable as servable_lib

DEFAULT_SIGNATURE = "serving_default"


def _invalid(message):
  return servable_lib.ServingError(servable_lib.INVALID_ARGUMENT, message)


def _decode_binary(value):
  """Replaces every {"b64": ...} in a JSON value by its bytes."""
  if isinstance(value, dict):
    if set(value) == {"b64"} and isinstance(value["b64"], str):
      try:
        return base64.b64decode(value["b64"], validate=True)
      except (binascii.Error, ValueError) as e:
        raise _invalid("A \"b64\" value is not valid base64: %s." % e)
    raise _invalid("An object inside a value must be {\"b64\": "
                   "\"<base64>\"}; got the keys %s." % sorted(value))
  if isinstance(value, list):
    return [_decode_binary(v) for v in value]
  return value


def parse_predict(body, signature_inputs):
  """(signature name, {input: value}, row form?) of a predict body.

  Args:
    body: The request's bytes.
    signature_inputs: Function signature name -> sorted input names
      (raises ServingError for an unknown signature).

  Raises:
    ServingError (INVALID_ARGUMENT) naming what is malformed.
  """
  try:
    request = json.loads(body)
  except (ValueError, UnicodeDecodeError) as e:
    raise _invalid("The request body is not valid JSON: %s." % e)
  if not isinstance(request, dict):
    raise _invalid("The request body must be a JSON object with "
                   "\"instances\" or \"inputs\".")
  name = request.get("signature_name", DEFAULT_SIGNATURE)
  if not isinstance(name, str):
    raise _invalid("\"signature_name\" must be a string.")
  unknown = sorted(set(request) - {"signature_name", "instances", "inputs"})
  if unknown:
    raise _invalid("Unknown key(s) in the request: %s (expected "
                   "\"signature_name\" and \"instances\" or \"inputs\")."
                   % ", ".join(unknown))
  if ("instances" in request) == ("inputs" in request):
    raise _invalid("The request must have exactly one of \"instances\" "
                   "(row form) and \"inputs\" (column form).")
  names = signature_inputs(name)
  if "instances" in request:
    return name, _rows(request["instances"], names), True
  return name, _columns(request["inputs"], names), False


def _rows(instances, names):
  if not isinstance(instances, list) or not instances:
    raise _invalid("\"instances\" must be a non-empty list, one element "
                   "per example.")
  named = [isinstance(i, dict) and set(i) != {"b64"} for i in instances]
  if len(names) > 1 and not all(named):
    raise _invalid("This signature takes several inputs (%s): each "
                   "instance must be an object naming them."
                   % ", ".join(names))
  if any(named) and not all(named):
    raise _invalid("Instances mix objects and plain values.")
  if not any(named):
    return {names[0]: _decode_binary(instances)}
  columns = {}
  for index, instance in enumerate(instances):
    if set(instance) != set(names):
      raise _invalid("Instance %d has the input(s) %s; the signature takes "
                     "%s." % (index, ", ".join(sorted(instance)),
                              ", ".join(names)))
    for name in names:
      columns.setdefault(name, []).append(_decode_binary(instance[name]))
  return columns


def _columns(inputs, names):
  if isinstance(inputs, dict) and set(inputs) != {"b64"}:
    return {name: _decode_binary(value) for name, value in inputs.items()}
  if len(names) > 1:
    raise _invalid("This signature takes several inputs (%s): \"inputs\" "
                   "must be an object naming them." % ", ".join(names))
  return {names[0]: _decode_binary(inputs)}


def _json_value(array, name):
  """A NumPy output as JSON-ready Python values."""
  if array.dtype == np.dtype(object) or array.dtype.kind == "S":
    def text(item):
      if isinstance(item, bytes):
        if not name.endswith("_bytes"):
          try:
            return item.decode("utf-8")
          except UnicodeDecodeError:
            pass
        return {"b64": base64.b64encode(item).decode("ascii")}
      return item
    flat = np.empty(array.size, dtype=object)
    flat[:] = [text(item) for item in np.asarray(array, dtype=object).ravel()]
    return flat.reshape(array.shape).tolist()
  return array.tolist()


def format_predict(outputs, row_form):
  """The response body (bytes) of {output: array}."""
  if row_form:
    names = sorted(outputs)
    if len(names) == 1:
      predictions = _json_value(outputs[names[0]], names[0])
    else:
      values = {n: _json_value(outputs[n], n) for n in names}
      count = len(next(iter(values.values())))
      predictions = [{n: values[n][i] for n in names} for i in range(count)]
    body = {"predictions": predictions}
  else:
    if len(outputs) == 1:
      (name, value), = outputs.items()
      body = {"outputs": _json_value(value, name)}
    else:
      body = {"outputs": {n: _json_value(v, n) for n, v in outputs.items()}}
  return json.dumps(body).encode("utf-8")


def format_error(message):
  return json.dumps({"error": message}).encode("utf-8")
