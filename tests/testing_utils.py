"""Shared helpers of the tests: tiny configs, tiny data sets, subprocesses.

The shared fixtures (`shared_dataset`, `shared_train_dir`,
`shared_features`) are made once per test process (per pytest-xdist
worker, per Bazel test target) in one temporary folder, and are read-only:
a test that writes copies first (`copy_train_dir`). `check_shared_unchanged`
(run after every TinyDataTestCase class and at the end of the session)
fails when any of their files changed.
"""

import atexit
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

import im2txt  # noqa: F401  pylint: disable=unused-import
from im2txt import configuration

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tiny_model_config(**overrides):
  """A ModelConfig that trains in milliseconds per step on a CPU."""
  config = configuration.ModelConfig()
  config.vocab_size = 60
  config.embedding_size = 16
  config.num_lstm_units = 16
  config.batch_size = 4
  # 75 x 75 is the smallest input Inception v3 accepts (8x8 -> 1x1 at the top).
  config.image_height = 75
  config.image_width = 75
  config.resize_height = 80
  config.resize_width = 80
  config.values_per_input_shard = 20
  config.num_preprocess_threads = 2
  for key, value in overrides.items():
    setattr(config, key, value)
  return config


def write_config(config, path):
  with open(path, "w", encoding="utf-8") as f:
    f.write(config.to_json_string())
  return path


def make_tiny_dataset(root, num_train_images=24, num_val_images=40,
                      shards=(2, 1, 1), seed=0):
  """Demo images + the builder's records under root; returns a dict of paths."""
  from im2txt.data import mscoco_builder  # pylint: disable=g-import-not-at-top
  from im2txt.data import demo_data  # pylint: disable=g-import-not-at-top
  raw = demo_data.generate(os.path.join(root, "raw-data"), num_train_images,
                           num_val_images, image_size=(64, 48), seed=seed)
  output_dir = os.path.join(root, "data")
  report = mscoco_builder.build(
      output_dir=output_dir,
      word_counts_output_file=os.path.join(output_dir, "word_counts.txt"),
      train_shards=shards[0], val_shards=shards[1], test_shards=shards[2],
      num_threads=1, min_word_count=1, **raw)
  paths = dict(raw)
  paths.update({
      "data_dir":
          output_dir,
      "vocab_file":
          os.path.join(output_dir, "word_counts.txt"),
      "train_pattern":
          os.path.join(output_dir, "train-?????-of-%05d" % shards[0]),
      "val_pattern":
          os.path.join(output_dir, "val-?????-of-%05d" % shards[1]),
      "test_pattern":
          os.path.join(output_dir, "test-?????-of-%05d" % shards[2]),
      "report":
          report,
  })
  return paths


def write_caption_records(path, pairs):
  """Writes caption records of (image_id, caption tokens) pairs; the image
  is the bytes b"jpeg-<image_id>", the ids the tokens' positions."""
  from im2txt.data import schema  # pylint: disable=g-import-not-at-top
  import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
  with tf.io.TFRecordWriter(path) as writer:
    for image_id, tokens in pairs:
      writer.write(schema.make_sequence_example(
          image_id, b"jpeg-%d" % image_id, tokens,
          list(range(len(tokens)))).SerializeToString())
  return path


def corrupt_copy(source, target):
  """Copies a TFRecord file with one byte in its middle flipped: a record
  there fails its checksum. Returns target."""
  with open(source, "rb") as f:
    data = bytearray(f.read())
  data[len(data) // 2] ^= 0xFF
  with open(target, "wb") as f:
    f.write(bytes(data))
  return target


def read_feature_shards(pattern):
  """{image_id: parsed feature record} of the feature shards of a pattern."""
  from im2txt.data import feature_records  # pylint: disable=g-import-not-at-top
  from im2txt.data import records  # pylint: disable=g-import-not-at-top
  out = {}
  for path in sorted(glob.glob(pattern)):
    if not feature_records.is_shard_file(path):
      continue
    for record in records.read_parsed(path,
                                      feature_records.parse_example_proto):
      assert record["image_id"] not in out, "image twice in the cache"
      out[record["image_id"]] = record
  return out


def run_module(module, args, timeout=600, env=None, check=True, cwd=None):
  """Runs `python -m module args` from the repository root; returns the
  CompletedProcess."""
  full_env = dict(os.environ)
  full_env["PYTHONPATH"] = (REPO_ROOT + os.pathsep +
                            full_env.get("PYTHONPATH", ""))
  full_env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  if env:
    full_env.update(env)
  result = subprocess.run([sys.executable, "-m", module] + list(args),
                          cwd=cwd or REPO_ROOT, env=full_env,
                          capture_output=True,
                          text=True, timeout=timeout)
  if check and result.returncode != 0:
    raise AssertionError("%s failed (%d):\nstdout:\n%s\nstderr:\n%s" % (
        module, result.returncode, result.stdout[-3000:],
        result.stderr[-5000:]))
  return result


def read_json(path):
  with open(path, "r", encoding="utf-8") as f:
    return json.load(f)


def train_tiny_model(paths, train_dir, config_file, steps, *extra):
  """Trains the tiny model with the real binary up to global step `steps`."""
  return run_module("im2txt.train", [
      "--input_file_pattern=" + paths["train_pattern"],
      "--train_dir=" + train_dir,
      "--model_config_file=" + config_file,
      "--number_of_steps=%d" % steps,
      "--log_every_n_steps=50",
  ] + list(extra))


def module_command(module, args):
  """(argv, env) to start `python -m module args` with the repository on the
  path, for tests that run a binary in the background."""
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
  env["PYTHONPATH"] = REPO_ROOT + os.pathsep + env.get("PYTHONPATH", "")
  return [sys.executable, "-m", module] + list(args), env


def checkpoint_steps(train_dir):
  """The global steps of the checkpoints in train_dir (from their files),
  ascending."""
  return sorted(int(re.search(r"ckpt-(\d+)\.index$", p).group(1))
                for p in glob.glob(os.path.join(train_dir, "*.index")))


def copy_train_dir(source, target):
  """Copies a train_dir so that the copy stands alone.

  Its `checkpoint` index lists the checkpoints by absolute path, that is in
  `source`: a trainer in the copy would delete source's old checkpoints as
  it rotates them out, and an evaluator would read them. The copy's index
  names its own files.
  """
  shutil.copytree(source, target)
  index = os.path.join(target, "checkpoint")
  with open(index) as f:
    text = f.read()
  with open(index, "w") as f:
    f.write(text.replace(source.rstrip("/") + "/", ""))
  return target


def start_train_dir_from(checkpoint_prefix, train_dir):
  """A new train_dir whose only checkpoint is a copy of checkpoint_prefix."""
  os.makedirs(train_dir)
  for path in glob.glob(checkpoint_prefix + ".*"):
    shutil.copy(path, train_dir)
  with open(os.path.join(train_dir, "checkpoint"), "w") as f:
    f.write('model_checkpoint_path: "%s"\n' % os.path.basename(
        checkpoint_prefix))
  return train_dir


# The test files that tests/bazel_test.py runs with `bazel test` (under
# Bazel's own environment: runfiles, sandbox, a Python without the installed
# package). A pytest session that runs that Bazel test leaves these files
# to it (tests/conftest.py), so that no file runs twice in one `make test`;
# `make test-quick`, which skips the Bazel test, runs them itself.
BAZEL_RUN_TEST_FILES = (
    "configuration_test.py",
    "checkpoints_test.py",
    "data/schema_test.py",
    "inference_utils/caption_generator_test.py",
    "inference_utils/vocabulary_test.py",
    "ops/image_processing_test.py",
)


def bazel_test_target(test_file):
  """The tests/BUILD target of a test file named relative to tests/."""
  return "//tests:" + os.path.splitext(os.path.basename(test_file))[0]


# The shared fixtures: make_tiny_dataset's defaults, the tiny config, and a
# model trained on them to this global step.
SHARED_NUM_VAL_IMAGES = 40
SHARED_TRAIN_STEPS = 40

_shared = {}


def _shared_folder(name):
  """A new folder `name` in this process's shared fixture folder."""
  if "root" not in _shared:
    _shared["root"] = tempfile.mkdtemp(prefix="im2txt-shared-")
    atexit.register(shutil.rmtree, _shared["root"], True)
    _shared["fingerprints"] = {}
  folder = os.path.join(_shared["root"], name)
  os.makedirs(folder)
  return folder


def _fingerprint(folder):
  """{relative path: sha256 of the bytes} of every file below folder."""
  out = {}
  for parent, _, names in os.walk(folder):
    for name in names:
      path = os.path.join(parent, name)
      with open(path, "rb") as f:
        out[os.path.relpath(path, folder)] = hashlib.sha256(
            f.read()).hexdigest()
  return out


def _seal(name, folder):
  _shared["fingerprints"][folder] = _fingerprint(folder)
  _shared[name] = folder


def check_shared_unchanged():
  """Raises AssertionError naming every file of a shared fixture that was
  written, added or removed since it was made."""
  changed = []
  for folder, before in _shared.get("fingerprints", {}).items():
    after = _fingerprint(folder)
    changed += [os.path.join(folder, rel)
                for rel in sorted(set(before) | set(after))
                if before.get(rel) != after.get(rel)]
  if changed:
    raise AssertionError(
        "A test wrote into a shared, read-only fixture (copy it first, "
        "e.g. with copy_train_dir): %s" % ", ".join(changed))


def shared_dataset():
  """The shared tiny data set: make_tiny_dataset's paths (a copy of the
  dict), plus "config_file", the tiny ModelConfig as JSON."""
  if "dataset" not in _shared:
    folder = _shared_folder("dataset")
    paths = make_tiny_dataset(folder, num_val_images=SHARED_NUM_VAL_IMAGES)
    paths["config_file"] = write_config(
        tiny_model_config(), os.path.join(folder, "tiny_model.json"))
    _shared["paths"] = paths
    _seal("dataset", folder)
  return dict(_shared["paths"])


def shared_train_dir():
  """A train_dir of the tiny model trained on shared_dataset() to global
  step SHARED_TRAIN_STEPS (phase 1, from a calibrated random encoder: its
  checkpoints are model.ckpt-0 and model.ckpt-40)."""
  if "train_dir" not in _shared:
    paths = shared_dataset()
    folder = _shared_folder("train")
    train_tiny_model(paths, folder, paths["config_file"], SHARED_TRAIN_STEPS)
    _seal("train_dir", folder)
  return _shared["train_dir"]


def shared_features():
  """cache_features' output folder for shared_dataset()'s train split and
  shared_train_dir()'s encoder, with the default settings (one crop);
  its shards match features-train-?????-of-00002."""
  if "features" not in _shared:
    paths = shared_dataset()
    train_dir = shared_train_dir()
    folder = _shared_folder("features")
    run_module("im2txt.cache_features", [
        "--input_file_pattern=" + paths["train_pattern"],
        "--output_dir=" + folder, "--checkpoint_path=" + train_dir])
    _seal("features", folder)
  return _shared["features"]


def write_other_encoder(source, target_dir, step):
  """A checkpoint of global step `step` in target_dir: `source` with one
  encoder weight changed (another encoder, as after phase 2)."""
  import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
  reader = tf.train.load_checkpoint(source)
  with tf.Graph().as_default():
    variables = []
    for name in sorted(reader.get_variable_to_shape_map()):
      value = reader.get_tensor(name)
      if name == "InceptionV3/Conv2d_1a_3x3/weights":
        value = value * 1.5
      if name == "global_step":
        value = step
      variables.append(tf.Variable(value, name=name))
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      saver = tf.train.Saver(variables)
      saver.save(sess, os.path.join(target_dir, "model.ckpt"),
                 global_step=step)


def shared_features_pattern():
  """The file pattern of shared_features()' shards (the train split)."""
  return os.path.join(shared_features(), "features-train-?????-of-00002")


class TinyDataTestCase(unittest.TestCase):
  """A tiny data set and, if asked, a model trained on it, for a test class.

  Sets cls.root (the class's own temporary folder, for what its tests
  write), cls.paths (make_tiny_dataset), cls.config and cls.config_file
  (the tiny ModelConfig), and with TRAIN_STEPS > 0 also cls.train_dir, a
  model trained to that global step.

  With the default NUM_VAL_IMAGES the data set is the shared one; with
  TRAIN_STEPS == SHARED_TRAIN_STEPS the model is the shared one, and
  cls.train_dir is read-only unless COPY_TRAIN_DIR asks for a copy of it
  in cls.root. Other values make the class's own.
  """

  NUM_VAL_IMAGES = SHARED_NUM_VAL_IMAGES
  TRAIN_STEPS = 0
  COPY_TRAIN_DIR = False

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.root = tempfile.mkdtemp()
    cls.config = tiny_model_config()
    shared = cls.NUM_VAL_IMAGES == SHARED_NUM_VAL_IMAGES
    if shared:
      cls.paths = shared_dataset()
      cls.config_file = cls.paths["config_file"]
    else:
      cls.paths = make_tiny_dataset(cls.root,
                                    num_val_images=cls.NUM_VAL_IMAGES)
      cls.config_file = write_config(
          cls.config, os.path.join(cls.root, "tiny_model.json"))
    if not cls.TRAIN_STEPS:
      return
    train_dir = os.path.join(cls.root, "train")
    if shared and cls.TRAIN_STEPS == SHARED_TRAIN_STEPS:
      cls.train_dir = shared_train_dir()
      if cls.COPY_TRAIN_DIR:
        cls.train_dir = copy_train_dir(cls.train_dir, train_dir)
    else:
      cls.train_dir = train_dir
      train_tiny_model(cls.paths, cls.train_dir, cls.config_file,
                       cls.TRAIN_STEPS)

  @classmethod
  def tearDownClass(cls):
    shutil.rmtree(cls.root)
    super().tearDownClass()
    check_shared_unchanged()


def scalars(event_dir, tag):
  """[(step, value)] of a scalar summary in the event files of a folder."""
  from tensorboard.backend.event_processing import event_accumulator  # pylint: disable=import-outside-toplevel
  acc = event_accumulator.EventAccumulator(
      event_dir, size_guidance={event_accumulator.SCALARS: 0})
  acc.Reload()
  if tag not in acc.Tags()["scalars"]:
    return []
  return [(e.step, e.value) for e in acc.Scalars(tag)]


def newest_events_file(event_dir):
  return max(glob.glob(os.path.join(event_dir, "*tfevents*")),
             key=os.path.getmtime)


def file_scalars(events_file, tag):
  """[(step, value)] of a scalar summary in one events file."""
  import tensorflow.compat.v1 as tf  # pylint: disable=import-outside-toplevel
  return [(event.step, value.simple_value)
          for event in tf.train.summary_iterator(events_file)
          for value in event.summary.value if value.tag == tag]


def logged_losses(stderr):
  """{global step: loss} of train's log lines."""
  return {int(step): float(loss) for step, loss in re.findall(
      r"global step (\d+): loss = (\d+\.\d+)", stderr)}
