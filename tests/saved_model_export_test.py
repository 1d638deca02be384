"""export_saved_model: a SavedModel that captions like run_inference, in
plain TensorFlow; a frozen graph that run_inference captions from; and the
refusals of bad input."""

import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from unittest import mock

import numpy as np
from PIL import Image
import pytest

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import

import tensorflow.compat.v1 as tf
from tensorflow.core.protobuf import saved_model_pb2

from im2txt.captioning import captioner
from im2txt.serving import saved_model_export
from im2txt.inference_utils import caption_generator
from tests import testing_utils

pytestmark = pytest.mark.slow

# Runs in a separate process that imports TensorFlow and nothing of this
# project: argv[1] the SavedModel, argv[2] a JSON list of image files
# (null: an empty image), argv[3] the output JSON.
PLAIN_TF_CLIENT = textwrap.dedent("""\
    import json, sys
    import tensorflow as tf
    model = tf.saved_model.load(sys.argv[1])
    files = json.load(open(sys.argv[2]))
    images = [open(f, "rb").read() if f else b"" for f in files]
    out = model.signatures["caption"](images=tf.constant(images))
    state = step = None
    if out["status"][0] == b"ok":  # The original's protocol has no status.
      state = model.signatures["initial_state"](
          images=tf.constant(images[:1]))
      step = model.signatures["step"](
          input_feed=tf.constant([1], tf.int64),
          state_feed=state["initial_state"])
    numbers = lambda d, key: d[key].numpy().tolist() if d else None
    json.dump({
        "captions": [[c.decode() for c in row]
                     for row in out["captions"].numpy()],
        "log_probabilities": out["log_probabilities"].numpy().tolist(),
        "word_ids": out["word_ids"].numpy().tolist(),
        "lengths": out["lengths"].numpy().tolist(),
        "status": [s.decode() for s in out["status"].numpy()],
        "initial_state": numbers(state, "initial_state"),
        "softmax": numbers(step, "softmax"),
        "step_state": numbers(step, "state"),
        "imported": sorted(m for m in sys.modules if m.startswith("im2txt")),
    }, open(sys.argv[3], "w"))
    """)


def _plain_tf_env():
  env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
  env["TF_CPP_MIN_LOG_LEVEL"] = "2"
  return env


def _caption_signature(export_dir):
  """{input or output name: (dtype, shape)} of an export's caption
  signature."""
  saved = saved_model_pb2.SavedModel()
  with open(os.path.join(export_dir, "saved_model.pb"), "rb") as f:
    saved.ParseFromString(f.read())
  signature = saved.meta_graphs[0].signature_def["caption"]
  return {("in" if side is signature.inputs else "out", name): (
      info.dtype, [d.size for d in info.tensor_shape.dim])
          for side in (signature.inputs, signature.outputs)
          for name, info in side.items()}


class SavedModelExportTest(testing_utils.TinyDataTestCase):

  TRAIN_STEPS = 40
  BEAM_SIZE = 3

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.export_dir = os.path.join(cls.root, "saved_model")
    cls.frozen = os.path.join(cls.root, "frozen_graph.pb")
    cls.export_result = testing_utils.run_module("im2txt.export_saved_model", [
        "--checkpoint_path=" + cls.train_dir,
        "--vocab_file=" + cls.paths["vocab_file"],
        "--export_dir=" + cls.export_dir,
        "--frozen_graph_file=" + cls.frozen,
        "--beam_size=%d" % cls.BEAM_SIZE])
    # The demo test split's images, written out as files.
    cls.image_dir = os.path.join(cls.root, "test_images")
    os.makedirs(cls.image_dir)
    cls.images = []
    for image_id, encoded, _ in captioner.images_from_records(
        cls.paths["test_pattern"]):
      path = os.path.join(cls.image_dir, "COCO_test_%012d.jpg" % image_id)
      with open(path, "wb") as f:
        f.write(encoded)
      cls.images.append(path)

  def _client(self, files, export_dir=None):
    d = tempfile.mkdtemp(dir=self.root)
    script = os.path.join(d, "client.py")
    with open(script, "w") as f:
      f.write(PLAIN_TF_CLIENT)
    with open(os.path.join(d, "files.json"), "w") as f:
      json.dump(files, f)
    out = os.path.join(d, "out.json")
    result = subprocess.run(
        [sys.executable, script, export_dir or self.export_dir,
         os.path.join(d, "files.json"), out], cwd=d, env=_plain_tf_env(),
        capture_output=True, text=True, timeout=600)
    self.assertEqual(result.returncode, 0, result.stderr[-3000:])
    return testing_utils.read_json(out)

  def _python_search(self, files):
    """run_inference's own library path: load_model + CaptionGenerator."""
    loaded = captioner.load_model(self.train_dir, self.paths["vocab_file"])
    generator = caption_generator.CaptionGenerator(
        loaded.model, loaded.vocab, beam_size=self.BEAM_SIZE)
    with tf.Session(graph=loaded.graph) as sess:
      loaded.restore_fn(sess)
      captions = [generator.beam_search(sess, open(f, "rb").read())
                  for f in files]
      state = loaded.model.feed_image(sess, open(files[0], "rb").read())
      softmax, step_state, _ = loaded.model.inference_step(
          sess, np.array([1]), state)
    return loaded.vocab, captions, state, softmax, step_state

  def testExportWroteEverything(self):
    self.assertIn("signatures: caption, initial_state, step",
                  self.export_result.stdout)
    for name in ("saved_model.pb", "variables/variables.index",
                 "assets/vocab.txt", "assets/word_counts.txt",
                 "assets.extra/im2txt_export.json"):
      self.assertTrue(os.path.exists(os.path.join(self.export_dir, name)),
                      name)
    with open(self.paths["vocab_file"], "rb") as a, open(os.path.join(
        self.export_dir, "assets", "word_counts.txt"), "rb") as b:
      self.assertEqual(a.read(), b.read())
    info = testing_utils.read_json(os.path.join(
        self.export_dir, "assets.extra", "im2txt_export.json"))
    self.assertEqual(info["global_step"], self.TRAIN_STEPS)
    self.assertEqual(info["beam_size"], self.BEAM_SIZE)
    self.assertEqual(info["model_config"]["vocab_size"],
                     self.config.vocab_size)
    # No half-written export is left beside it.
    self.assertEqual(sorted(n for n in os.listdir(self.root)
                            if n.startswith("saved_model")), ["saved_model"])

  def testPlainTensorFlowCaptionsLikeRunInference(self):
    got = self._client(self.images)
    self.assertEqual(got["imported"], [])
    vocab, want, state, softmax, step_state = self._python_search(self.images)
    self.assertEqual(got["status"], ["ok"] * len(self.images))
    for i, captions in enumerate(want):
      self.assertEqual(len(captions), self.BEAM_SIZE)
      for j, caption in enumerate(captions):
        length = got["lengths"][i][j]
        self.assertEqual(got["word_ids"][i][j][:length], caption.sentence)
        self.assertEqual(got["captions"][i][j], " ".join(
            captioner.caption_words(caption, vocab)))
        np.testing.assert_allclose(got["log_probabilities"][i][j],
                                   caption.logprob, rtol=1e-5)
    # The two-step protocol gives the inference graph's tensors. States are
    # in [-1, 1]; the encoder runs in another process, whose convolution
    # kernels may sum in another order (seen: 4e-6 on a state of 0.027).
    np.testing.assert_allclose(got["initial_state"], state, rtol=1e-5,
                               atol=1e-5)
    np.testing.assert_allclose(got["softmax"], softmax, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(got["step_state"], step_state, rtol=1e-5,
                               atol=1e-5)
    # And the run_inference binary prints these captions.
    result = testing_utils.run_module("im2txt.run_inference", [
        "--checkpoint_path=" + self.train_dir,
        "--vocab_file=" + self.paths["vocab_file"],
        "--input_files=" + ",".join(self.images)])
    printed = [line.split(") ", 1)[1].rsplit(" (p=", 1)[0]
               for line in result.stdout.splitlines() if line.startswith(" ")]
    self.assertEqual(printed, [c for row in got["captions"] for c in row])

  def testBadImagesAreReportedPerImage(self):
    d = tempfile.mkdtemp(dir=self.root)

    def write(name, data):
      path = os.path.join(d, name)
      with open(path, "wb") as f:
        f.write(data)
      return path

    with open(self.images[0], "rb") as f:
      good = f.read()
    buffer = io.BytesIO()
    Image.open(io.BytesIO(good)).save(buffer, "PNG")
    png = write("same.png", buffer.getvalue())
    text = write("notes.jpg", b"<html>not an image</html>")
    truncated = write("truncated.jpg", good[:len(good) // 2])
    header = bytearray(good)
    sof = header.find(b"\xff\xc0")
    header[sof + 5:sof + 9] = (20000).to_bytes(2, "big") * 2
    huge = write("huge.jpg", bytes(header))
    files = [self.images[0], None, text, truncated, huge, png,
             self.images[1]]
    got = self._client(files)
    self.assertEqual(got["status"], ["ok", "empty", "not_jpeg_or_png",
                                     "undecodable", "too_large", "ok", "ok"])
    alone = self._client([self.images[0], self.images[1]])
    # The good images' captions do not depend on their neighbours.
    self.assertEqual(got["captions"][0], alone["captions"][0])
    self.assertEqual(got["captions"][6], alone["captions"][1])
    np.testing.assert_allclose(got["log_probabilities"][6],
                               alone["log_probabilities"][1], rtol=1e-6)
    for i in (1, 2, 3, 4):
      self.assertEqual(got["captions"][i], [""] * self.BEAM_SIZE)
      self.assertTrue(np.isneginf(got["log_probabilities"][i]).all())
      self.assertEqual(got["lengths"][i], [0] * self.BEAM_SIZE)
    self.assertTrue(np.isfinite(got["log_probabilities"][5]).all())
    # A batch with no good image at all, and an empty batch.
    got = self._client([None, text])
    self.assertEqual(got["status"], ["empty", "not_jpeg_or_png"])
    self.assertEqual(got["captions"], [[""] * self.BEAM_SIZE] * 2)

  def testSavedModelCliListsAndRunsTheSignatures(self):
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    if not os.path.exists(cli):
      cli = shutil.which("saved_model_cli")
    self.assertIsNotNone(cli, "saved_model_cli is installed with tensorflow")
    env = _plain_tf_env()
    shown = subprocess.run([cli, "show", "--all", "--dir", self.export_dir],
                           env=env, capture_output=True, text=True,
                           timeout=300)
    self.assertEqual(shown.returncode, 0, shown.stderr[-2000:])
    for key in ("caption", "serving_default", "initial_state", "step"):
      self.assertIn("signature_def['%s']" % key, shown.stdout)
    for name in ("inputs['images']", "outputs['captions']",
                 "outputs['log_probabilities']", "outputs['status']",
                 "inputs['state_feed']", "outputs['softmax']"):
      self.assertIn(name, shown.stdout)
    state_size = 2 * self.config.num_lstm_units
    run = subprocess.run(
        [cli, "run", "--dir", self.export_dir, "--tag_set", "serve",
         "--signature_def", "step", "--input_exprs",
         "input_feed=[1, 2];state_feed=%r" % ([[0.0] * state_size] * 2)],
        env=env, capture_output=True, text=True, timeout=300)
    self.assertEqual(run.returncode, 0, run.stderr[-2000:])
    self.assertIn("Result for output key softmax", run.stdout)
    self.assertIn("Result for output key state", run.stdout)

  def testFrozenGraphCaptionsLikeTheCheckpoint(self):
    args = ["--vocab_file=" + self.paths["vocab_file"],
            "--input_files=" + ",".join(self.images)]
    from_checkpoint = testing_utils.run_module(
        "im2txt.run_inference", ["--checkpoint_path=" + self.train_dir] + args)
    from_frozen = testing_utils.run_module(
        "im2txt.run_inference", ["--frozen_graph_file=" + self.frozen] + args)
    batched = testing_utils.run_module(
        "im2txt.run_inference",
        ["--frozen_graph_file=" + self.frozen, "--batch_size=3"] + args)
    self.assertIn("Captions for image", from_checkpoint.stdout)
    self.assertEqual(from_frozen.stdout, from_checkpoint.stdout)
    self.assertEqual(batched.stdout, from_checkpoint.stdout)
    graph_def = tf.GraphDef()
    with open(self.frozen, "rb") as f:
      graph_def.ParseFromString(f.read())
    names = {node.name for node in graph_def.node}
    for name in ("image_feed", "input_feed", "lstm/state_feed",
                 "lstm/initial_state", "softmax", "lstm/state",
                 "image_batch_feed", "lstm/initial_state_batch"):
      self.assertIn(name, names)
    self.assertFalse([n.name for n in graph_def.node
                      if n.op in ("VariableV2", "VarHandleOp")])

  def testGraphDefWithSaverDefAndCheckpoint(self):
    # The original's use of build_graph_from_proto: a GraphDef with its
    # variables, its SaverDef, and a checkpoint.
    loaded = captioner.load_model(self.train_dir, self.paths["vocab_file"])
    d = tempfile.mkdtemp(dir=self.root)
    graph_file = os.path.join(d, "graph.pb")
    saver_file = os.path.join(d, "saver.pb")
    graph, _, saver = captioner.build_inference_graph(self.config)
    with open(graph_file, "wb") as f:
      f.write(graph.as_graph_def().SerializeToString())
    with open(saver_file, "wb") as f:
      f.write(saver.as_saver_def().SerializeToString())
    with open(self.images[0], "rb") as f:
      image = f.read()
    g = tf.Graph()
    with g.as_default():
      wrapper = type(loaded.model)()
      restore_fn = wrapper.build_graph_from_proto(graph_file, saver_file,
                                                  self.train_dir)
      with tf.Session(graph=g) as sess:
        restore_fn(sess)
        state = wrapper.feed_image(sess, image)
    with tf.Session(graph=loaded.graph) as sess:
      loaded.restore_fn(sess)
      np.testing.assert_allclose(state, loaded.model.feed_image(sess, image),
                                 rtol=1e-6, atol=1e-7)
    # The same GraphDef without SaverDef is not a frozen graph.
    result = testing_utils.run_module("im2txt.run_inference", [
        "--frozen_graph_file=" + graph_file,
        "--vocab_file=" + self.paths["vocab_file"],
        "--input_files=" + self.images[0]], check=False)
    self.assertEqual(result.returncode, 1)
    self.assertIn("is not a frozen graph", result.stderr)
    self.assertIn("export_saved_model --frozen_graph_file", result.stderr)

  def _export(self, *args):
    return testing_utils.run_module("im2txt.export_saved_model", [
        "--checkpoint_path=" + self.train_dir,
        "--vocab_file=" + self.paths["vocab_file"]] + list(args), check=False)

  def testExistingOutputsAreRefusedUnlessOverwrite(self):
    target = os.path.join(self.root, "again")
    os.makedirs(target)
    marker = os.path.join(target, "keep.txt")
    open(marker, "w").close()
    result = self._export("--export_dir=" + target)
    self.assertEqual(result.returncode, 1)
    self.assertIn("%s already exists" % target, result.stderr)
    self.assertIn("--overwrite", result.stderr)
    self.assertTrue(os.path.exists(marker))
    result = self._export("--frozen_graph_file=" + self.frozen,
                          "--export_dir=" + os.path.join(self.root, "new"))
    self.assertEqual(result.returncode, 1)
    self.assertIn("%s already exists" % self.frozen, result.stderr)
    self.assertFalse(os.path.exists(os.path.join(self.root, "new")))
    result = self._export("--export_dir=" + target, "--overwrite",
                          "--beam_size=2", "--max_caption_length=5")
    self.assertEqual(result.returncode, 0, result.stderr[-2000:])
    self.assertFalse(os.path.exists(marker))
    got = self._client(self.images[:1], export_dir=target)
    self.assertEqual(len(got["captions"][0]), 2)
    self.assertEqual(len(got["word_ids"][0][0]), 5)

  def testBadCheckpointAndVocabularyAreRefused(self):
    d = tempfile.mkdtemp(dir=self.root)
    with tf.Graph().as_default():
      tf.get_variable("dense/kernel", [3, 2])
      with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        other = tf.train.Saver().save(sess, os.path.join(d, "other.ckpt"))
    result = testing_utils.run_module("im2txt.export_saved_model", [
        "--checkpoint_path=" + other,
        "--vocab_file=" + self.paths["vocab_file"],
        "--export_dir=" + os.path.join(d, "out")], check=False)
    self.assertEqual(result.returncode, 1)
    self.assertIn("%s is not an im2txt checkpoint" % other, result.stderr)
    # A vocabulary larger than the model's softmax. (A much smaller one is
    # only a warning, the same rule as run_inference's: captioning.)
    big_vocab = os.path.join(d, "word_counts.txt")
    with open(big_vocab, "w") as f:
      f.write("<S> 1\n</S> 1\n" + "".join("w%d 1\n" % i for i in range(60)))
    result = self._export("--export_dir=" + os.path.join(d, "out"),
                          "--vocab_file=" + big_vocab)
    self.assertEqual(result.returncode, 1)
    self.assertIn("Vocabulary %s has 63 words (with <UNK>), more than the "
                  "model's vocab_size 60" % big_vocab, result.stderr)
    result = self._export("--export_dir=" + os.path.join(d, "out"),
                          "--checkpoint_path=%s,%s" % (self.train_dir,
                                                       self.train_dir))
    self.assertEqual(result.returncode, 1)
    self.assertIn("Export takes one checkpoint", result.stderr)
    result = self._export("--export_dir=" + os.path.join(d, "out"),
                          "--beam_size=0")
    self.assertEqual(result.returncode, 1)
    self.assertIn("--beam_size must be between 1", result.stderr)
    self.assertFalse(os.path.exists(os.path.join(d, "out")))

  def testOneReadOfTheCheckpointServesBothOutputs(self):
    d = tempfile.mkdtemp(dir=self.root)
    with mock.patch.object(tf.train, "load_checkpoint",
                           wraps=tf.train.load_checkpoint) as reads:
      source = saved_model_export.load_for_export(
          self.train_dir, self.paths["vocab_file"])
      saved_model_export.export_saved_model(
          self.train_dir, self.paths["vocab_file"], os.path.join(d, "sm"),
          source=source)
      saved_model_export.write_frozen_graph(
          self.train_dir, self.paths["vocab_file"],
          os.path.join(d, "frozen.pb"), source=source)
    self.assertEqual(reads.call_count, 1)
    self.assertEqual(source.global_step, 40)
    info = testing_utils.read_json(os.path.join(
        d, "sm", "assets.extra", saved_model_export.EXPORT_INFO))
    self.assertEqual((info["checkpoint"], info["global_step"]),
                     (source.checkpoint, 40))
    with open(os.path.join(d, "frozen.pb"), "rb") as f, \
        open(self.frozen, "rb") as g:
      self.assertEqual(len(f.read()), len(g.read()))

  def testRequestsAreCaptionedInBoundedBatches(self):
    # The class's export captions in batches of the default 32 images; this
    # one a whole request at once, as before batches existed.
    whole = os.path.join(tempfile.mkdtemp(dir=self.root), "sm")
    saved_model_export.export_saved_model(
        self.train_dir, self.paths["vocab_file"], whole,
        beam_size=self.BEAM_SIZE, images_per_batch=0)
    self.assertEqual(saved_model_export.DEFAULT_IMAGES_PER_BATCH, 32)
    for folder, expected in ((self.export_dir, 32), (whole, 0)):
      info = testing_utils.read_json(os.path.join(
          folder, "assets.extra", saved_model_export.EXPORT_INFO))
      self.assertEqual(info["images_per_batch"], expected)
    bad = os.path.join(self.root, "bad_image.jpg")
    with open(bad, "wb") as f:
      f.write(b"not an image")
    # 33 images: a batch of 32 with two bad ones inside, then a batch of a
    # single good image (other convolution kernels on this CPU).
    good = [self.images[i % len(self.images)] for i in range(31)]
    files = good[:5] + [None, bad] + good[5:]
    self.assertEqual(len(files), 33)
    batched, at_once = self._client(files), self._client(files, whole)
    for key in ("captions", "word_ids", "lengths", "status"):
      self.assertEqual(batched[key], at_once[key], key)
    self.assertEqual(batched["status"].count("ok"), 31)
    np.testing.assert_allclose(batched["log_probabilities"],
                               at_once["log_probabilities"], rtol=1e-5)
    # The signature itself is unchanged: inputs, outputs, dtypes, shapes.
    self.assertEqual(_caption_signature(self.export_dir),
                     _caption_signature(whole))

  def testModelBasePathGetsNumberedVersions(self):
    base = os.path.join(tempfile.mkdtemp(dir=self.root), "serving")
    common = ["--checkpoint_path=" + self.train_dir,
              "--vocab_file=" + self.paths["vocab_file"],
              "--model_base_path=" + base]
    result = testing_utils.run_module("im2txt.export_saved_model", common)
    self.assertIn("to the SavedModel %s/40 " % base, result.stdout)
    # The checkpoint's global step numbers the version; nothing else is
    # left in the base path (the export was written beside and renamed).
    self.assertEqual(os.listdir(base), ["40"])
    self.assertTrue(os.path.exists(os.path.join(base, "40",
                                                "saved_model.pb")))
    for extra, message in (
        ([], "%s/40 already exists" % base),
        (["--export_dir=" + os.path.join(base, "x")],
         "not both"),
    ):
      result = testing_utils.run_module("im2txt.export_saved_model",
                                        common + extra, check=False)
      self.assertEqual(result.returncode, 1)
      self.assertIn(message, result.stderr)
    self.assertEqual(os.listdir(base), ["40"])

  def testCheckpointDeletedMidExportIsNamedAndNothingIsWritten(self):
    d = tempfile.mkdtemp(dir=self.root)
    train_dir = testing_utils.copy_train_dir(self.train_dir,
                                             os.path.join(d, "train"))
    source = saved_model_export.load_for_export(
        train_dir, self.paths["vocab_file"])
    # A trainer's rotation deletes the checkpoint's files.
    for name in os.listdir(train_dir):
      if name.startswith(os.path.basename(source.checkpoint) + "."):
        os.remove(os.path.join(train_dir, name))
    for write in (
        lambda: saved_model_export.export_saved_model(
            train_dir, self.paths["vocab_file"], os.path.join(d, "sm"),
            source=source),
        lambda: saved_model_export.write_frozen_graph(
            train_dir, self.paths["vocab_file"],
            os.path.join(d, "frozen.pb"), source=source)):
      with self.assertRaisesRegex(
          saved_model_export.ExportError,
          "Checkpoint %s was deleted while it was being exported .*copy it "
          "out of the train_dir first" % source.checkpoint):
        write()
    self.assertEqual(sorted(os.listdir(d)), ["train"])

  def testOutputUnderARegularFileIsRefusedFirst(self):
    blocker = os.path.join(tempfile.mkdtemp(dir=self.root), "a_file")
    open(blocker, "w").close()
    for path in (os.path.join(blocker, "sm"),
                 os.path.join(blocker, "deeper", "frozen.pb")):
      with self.assertRaisesRegex(
          saved_model_export.ExportError,
          "Cannot write %s: %s is a file, not a folder" % (path, blocker)):
        # No checkpoint is read: the path is checked first.
        saved_model_export.export_saved_model(
            "/nonexistent/checkpoint", self.paths["vocab_file"], path)
