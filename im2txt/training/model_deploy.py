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
"""Replicating the training graph on several devices ("clones").

The pattern of tf-slim's model deployment: one set of variables (on the
worker's CPU, or on the parameter servers of a cluster), N clones of the
model on N devices, each with its own batch, and one update from their
gradients:

* clone 0 is built with no name scope, so its ops, summaries and
  batch-norm updates have the single-device names (TensorBoard tags do not
  change with --num_clones); clone i > 0 is under the name scope
  ``clone_<i>`` and reuses clone 0's variables (their names carry no clone
  prefix, so checkpoints are the single-device ones);
* each clone's gradients are computed on its own device; they are summed
  on the worker's CPU, each clone's loss weighted by its share of the
  target words of all clones, so that the update is the one single-device
  training computes on the concatenated batch (with equal word counts,
  the plain mean over clones);
* summaries and batch-norm moving-average updates come from clone 0 only.

Without clones, parameter servers or a worker device (one process, one
device), no device is set anywhere and the graph is the single-device one.
"""

import collections
import contextlib

import tensorflow.compat.v1 as tf

# Op types placed on the variables device.
VARIABLE_OP_TYPES = ("Variable", "VariableV2", "VarHandleOp",
                     "AutoReloadVariable")

# Name scope prefix of clones after the first.
CLONE_SCOPE_PREFIX = "clone_"


class DeployConfig(collections.namedtuple(
    "DeployConfig",
    ["num_clones", "clone_on_cpu", "worker_device", "num_ps_tasks",
     "cluster"])):
  """Where a training graph's clones and variables go.

  Fields:
    num_clones: Number of model replicas in this process (>= 1).
    clone_on_cpu: Put clone i on CPU device i (virtual CPU devices, see
      session_config) instead of GPU i.
    worker_device: This process's device prefix in a cluster
      ("/job:worker/task:1"), or "" in a single process.
    num_ps_tasks: Parameter servers holding the variables (0: local).
    cluster: The tf.train.ClusterSpec with parameter servers, or None.
  """

  def is_default(self):
    """True when nothing is placed: one clone, one process, no forcing."""
    return (self.num_clones == 1 and not self.clone_on_cpu and
            not self.worker_device and not self.num_ps_tasks)


def deploy_config(num_clones=1, clone_on_cpu=False, worker_device="",
                  num_ps_tasks=0, cluster=None):
  """Returns a checked DeployConfig."""
  if num_clones < 1:
    raise ValueError("The number of clones must be at least 1, got %d."
                     % num_clones)
  if num_ps_tasks and cluster is None:
    raise ValueError("Parameter servers need the cluster spec.")
  return DeployConfig(num_clones, clone_on_cpu, worker_device, num_ps_tasks,
                      cluster)


Clone = collections.namedtuple("Clone", ["outputs", "scope", "device"])


def clone_scope(index):
  """The name scope of clone `index` ("" for the first)."""
  return "%s%d" % (CLONE_SCOPE_PREFIX, index) if index else ""


def clone_device(config, index):
  """The device of clone `index`'s ops."""
  if config.num_clones == 1 and not config.clone_on_cpu:
    return config.worker_device
  kind = "CPU" if config.clone_on_cpu else "GPU"
  return "%s/device:%s:%d" % (config.worker_device, kind, index)


def inputs_device(config):
  """The device of the input pipeline and of gradient sums: this
  process's CPU (None when nothing is placed)."""
  if config.is_default():
    return None
  return config.worker_device + "/device:CPU:0"


def variables_device(config):
  """A device function or string for the variables (None: default)."""
  if config.num_ps_tasks:
    return tf.train.replica_device_setter(
        ps_tasks=config.num_ps_tasks,
        worker_device=config.worker_device,
        cluster=config.cluster)
  if config.is_default():
    return None
  return config.worker_device + "/device:CPU:0"


def _clone_device_fn(config, index):
  """Device function of clone `index`: variables on the variables device,
  everything else on the clone's device."""
  variables = variables_device(config)
  device = clone_device(config, index)
  if variables is None and not device:
    return None

  def place(op):
    if op.type in VARIABLE_OP_TYPES and variables is not None:
      return variables(op) if callable(variables) else variables
    return device

  return place


@contextlib.contextmanager
def _optional_scope(name):
  if name:
    with tf.name_scope(name):
      yield
  else:
    yield


def create_clones(config, model_fn):
  """Builds config.num_clones replicas of the model.

  Args:
    config: A DeployConfig.
    model_fn: Function (clone index) -> outputs; builds one replica in the
      current name scope, device and variable scope.

  Returns:
    A list of Clone(outputs, scope, device).
  """
  clones = []
  for index in range(config.num_clones):
    scope = clone_scope(index)
    device_fn = _clone_device_fn(config, index)
    with _optional_scope(scope), tf.device(device_fn), tf.variable_scope(
        tf.get_variable_scope(), reuse=True if index else None,
        auxiliary_name_scope=False):
      outputs = model_fn(index)
    clones.append(Clone(outputs, scope, clone_device(config, index)))
  return clones


def is_first_clone_op(name):
  """Whether an op or tensor name belongs outside clones 1..N-1."""
  return not name.startswith(CLONE_SCOPE_PREFIX)


def first_clone_collection(key):
  """The graph collection `key` without the items of clones after the
  first (summaries, batch-norm UPDATE_OPS)."""
  return [item for item in tf.get_collection(key)
          if is_first_clone_op(item.name)]


def _sum_gradients(gradients):
  """Sums one variable's gradients from several clones; IndexedSlices
  (the word embedding's) stay sparse."""
  if len(gradients) == 1:
    return gradients[0]
  if all(isinstance(g, tf.IndexedSlices) for g in gradients):
    return tf.IndexedSlices(
        values=tf.concat([g.values for g in gradients], axis=0),
        indices=tf.concat([g.indices for g in gradients], axis=0),
        dense_shape=gradients[0].dense_shape)
  return tf.add_n([tf.convert_to_tensor(g) for g in gradients])


def clone_gradients(config, clones, optimizer, losses, weights,
                    var_list=None):
  """The gradients of the weighted mean of the clones' losses.

  Args:
    config: The DeployConfig the clones were built with.
    clones: The list create_clones returned.
    optimizer: The tf.train.Optimizer whose compute_gradients is used.
    losses: One float32 scalar loss per clone.
    weights: One float32 scalar weight per clone (its count of target
      words); each loss counts in proportion.

  Returns:
    (loss, grads_and_vars): the weighted mean loss, and for each variable
    with a gradient the sum over clones of weight share * gradient.
  """
  if len(clones) == 1:
    return losses[0], optimizer.compute_gradients(losses[0], var_list)
  with tf.device(inputs_device(config)), tf.name_scope("clone_weights"):
    total = tf.add_n(weights)
    shares = [tf.stop_gradient(w / total) for w in weights]
    loss = tf.add_n([s * l for s, l in zip(shares, losses)],
                    name="mean_clone_loss")
  per_variable = collections.OrderedDict()
  for clone, share, clone_loss in zip(clones, shares, losses):
    with _optional_scope(clone.scope), tf.device(clone.device):
      for grad, var in optimizer.compute_gradients(
          share * clone_loss, var_list, colocate_gradients_with_ops=True):
        if grad is not None:
          per_variable.setdefault(var, []).append(grad)
  grads_and_vars = []
  with tf.device(inputs_device(config)), tf.name_scope("sum_clone_gradients"):
    for var, grads in per_variable.items():
      grads_and_vars.append((_sum_gradients(grads), var))
  return loss, grads_and_vars


def session_config(config, device_filters=None):
  """A ConfigProto with the devices this deployment needs: num_clones
  virtual CPU devices when clones run on CPUs, soft placement (ops without
  a kernel for the clone's device), and the cluster's device filters."""
  proto = tf.ConfigProto(allow_soft_placement=True)
  if config.clone_on_cpu and config.num_clones > 1:
    proto.device_count["CPU"] = config.num_clones
  if device_filters:
    proto.device_filters.extend(device_filters)
  return proto


def check_devices(config, num_gpus):
  """Raises ValueError when the clones need more GPUs than `num_gpus`."""
  if config.clone_on_cpu or config.num_clones == 1:
    return
  if num_gpus < config.num_clones:
    raise ValueError(
        "--num_clones=%d needs %d GPUs, and this machine has %d. Pass "
        "--clone_on_cpu to run the clones on virtual CPU devices, or lower "
        "--num_clones." % (config.num_clones, config.num_clones, num_gpus))
