r"""Examples/s of 1 vs 2 clones and 1 vs 2 workers, and bytes per step.

  .venv/bin/python benchmarks/distributed_throughput.py --steps=60

Throughput: the real train binary on the tests' tiny data set (75 x 75
images, a 16-unit LSTM), run for --steps steps in one process with 1 and
2 clones (--clone_on_cpu), and on a local cluster (1 parameter server) with
1 and 2 workers; examples/s from the median sec/step each process logs
after the first 10 steps. Same data and machine in one run: compare the
ratios.

Bytes: the default ModelConfig's graphs (no data needed), for phase 1 on
images, phase 1 on cached features and phase 2: the variables a step reads
from the parameter servers and the gradients it sends back, per worker, and
the steps/s one parameter server's 10 Gbit/s link carries.
"""

import json
import os
import re
import statistics
import sys
import tempfile

from absl import app
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# pylint: disable=wrong-import-position
from im2txt import tf_compat  # noqa: F401,E402  pylint: disable=unused-import
import tensorflow.compat.v1 as tf  # noqa: E402

from im2txt import configuration  # noqa: E402
from im2txt.training import launcher  # noqa: E402
from im2txt import show_and_tell_model  # noqa: E402
from im2txt.data import schema  # noqa: E402
from im2txt.ops import model_inputs  # noqa: E402
from tests import testing_utils  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_integer("steps", 60, "Steps per configuration.")
flags.DEFINE_boolean("skip_throughput", False, "Only compute the bytes.")

LINK_BYTES_PER_SEC = 10e9 / 8


def _median_step(log):
  times = [float(t) for t in re.findall(r"global step \d+: loss = [0-9.]+ "
                                        r"\(([0-9.]+) sec/step\)", log)]
  return statistics.median(times[10:]) if len(times) > 12 else None


def _single(paths, config_file, root, clones):
  train_dir = os.path.join(root, "single_%d" % clones)
  testing_utils.start_train_dir_from(paths["step0"], train_dir)
  result = testing_utils.run_module("im2txt.train", [
      "--input_file_pattern=" + paths["train_pattern"],
      "--train_dir=" + train_dir, "--model_config_file=" + config_file,
      "--number_of_steps=%d" % FLAGS.steps, "--log_every_n_steps=1",
      "--num_clones=%d" % clones, "--clone_on_cpu=%s" % (clones > 1)],
                                    timeout=3600)
  return _median_step(result.stderr)


def _cluster(paths, config_file, root, workers):
  train_dir = os.path.join(root, "cluster_%d" % workers)
  testing_utils.start_train_dir_from(paths["step0"], train_dir)
  env = dict(os.environ)
  env["PYTHONPATH"] = testing_utils.REPO_ROOT
  local = launcher.LocalCluster(
      ["--input_file_pattern=" + paths["train_pattern"],
       "--train_dir=" + train_dir, "--model_config_file=" + config_file,
       "--number_of_steps=%d" % (FLAGS.steps * workers),
       "--log_every_n_steps=1"], os.path.join(root, "logs_%d" % workers),
      num_ps=1, num_workers=workers, env=env)
  if launcher.run(local, timeout=3600, log=lambda m: None):
    raise RuntimeError("cluster run failed: see %s" % local.log_dir)
  return [_median_step(local.read_log("worker", i)) for i in range(workers)]


def _bytes(train_inception, features):
  """(bytes read, bytes of gradients) per step of one worker."""
  config = configuration.ModelConfig()
  graph = tf.Graph()
  with graph.as_default():
    batch = config.batch_size
    length = 20
    fixed = model_inputs.InputBatch(
        None if features else tf.zeros([batch, 299, 299, 3]),
        tf.zeros([batch, 2048]) if features else None,
        tf.zeros([batch, length], tf.int64),
        tf.zeros([batch, length], tf.int64), tf.ones([batch, length], tf.int32))
    model = show_and_tell_model.ShowAndTellModel(
        config, "train", train_inception=train_inception,
        features_file_pattern="unused*" if features else "",
        input_batch=fixed)
    model.build()
    def size(v):
      return v.shape.num_elements() * v.dtype.base_dtype.size
    encoder = [v for v in tf.global_variables()
               if v.op.name.startswith(schema.ENCODER_SCOPE)]
    others = [v for v in tf.global_variables() if v not in encoder]
    embedding = [v for v in others if v.op.name == "seq_embedding/map"][0]
    # The step reads every variable its forward pass uses; the word
    # embedding only in the rows of the batch's words (at most
    # batch * length of them).
    rows = min(batch * length, config.vocab_size)
    row_bytes = size(embedding) // config.vocab_size
    read = sum(size(v) for v in others if v is not embedding) + rows * row_bytes
    if not features:
      read += sum(size(v) for v in encoder)
    grads = sum(size(v) for v in tf.trainable_variables()
                if v is not embedding) + rows * row_bytes
  return read, grads


def main(unused_argv):
  out = {}
  for name, inception, features in (("phase 1, images", False, False),
                                    ("phase 1, cached features", False, True),
                                    ("phase 2", True, False)):
    read, grads = _bytes(inception, features)
    out[name] = {"MB read per step": round(read / 1e6, 2),
                 "MB gradients per step": round(grads / 1e6, 2),
                 "worker steps/s per 10 Gbit/s ps link":
                     round(LINK_BYTES_PER_SEC / max(read, grads), 1)}
  if not FLAGS.skip_throughput:
    root = tempfile.mkdtemp()
    paths = testing_utils.make_tiny_dataset(root)
    config = testing_utils.tiny_model_config()
    config_file = testing_utils.write_config(
        config, os.path.join(root, "tiny.json"))
    step0 = os.path.join(root, "step0")
    testing_utils.train_tiny_model(paths, step0, config_file, 1)
    paths["step0"] = tf.train.latest_checkpoint(step0)
    batch = config.batch_size
    one = _single(paths, config_file, root, 1)
    two = _single(paths, config_file, root, 2)
    workers1 = _cluster(paths, config_file, root, 1)
    workers2 = _cluster(paths, config_file, root, 2)
    rate = {
        "1 clone": batch / one,
        "2 clones": 2 * batch / two,
        "1 worker": batch / workers1[0],
        "2 workers": sum(batch / s for s in workers2),
    }
    out["examples/s"] = {k: round(v, 1) for k, v in rate.items()}
    out["ratios"] = {"2 clones / 1 clone": round(rate["2 clones"] /
                                                 rate["1 clone"], 2),
                     "2 workers / 1 worker": round(rate["2 workers"] /
                                                   rate["1 worker"], 2),
                     "1 worker / 1 clone (cluster overhead)":
                         round(rate["1 worker"] / rate["1 clone"], 2)}
  print(json.dumps(out, indent=2))


if __name__ == "__main__":
  app.run(main)
