"""evaluate --features_file_pattern: phase-1 checkpoints from the cache (the
same perplexity and captions as from images), others from images or
refused."""

import json
import os
import re
import shutil
import sys

import numpy as np
import pytest

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import
import tensorflow.compat.v1 as tf
from tensorboard.backend.event_processing import event_accumulator

from im2txt import evaluate
from im2txt import show_and_tell_model
from im2txt.captioning import captioner
from im2txt.common import checkpoints
from im2txt.evaluation import feature_evaluation
from im2txt.evaluation import perplexity
from im2txt.inference_utils import caption_generator
from im2txt.ops import model_inputs
from tests import testing_utils

NUM_EVAL_EXAMPLES = 12
NUM_CAPTION_IMAGES = 6


def _perplexities(eval_dir):
  acc = event_accumulator.EventAccumulator(eval_dir)
  acc.Reload()
  return {e.step: e.value for e in acc.Scalars("Perplexity")}


@pytest.mark.slow
class EvaluateFromFeaturesTest(testing_utils.TinyDataTestCase):

  TRAIN_STEPS = testing_utils.SHARED_TRAIN_STEPS

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.features = testing_utils.shared_features_pattern()
    # One preprocessing thread: the images path reads its records in order
    # (its summaries still take a few off its queue at varying moments).
    cls.eval_config = testing_utils.write_config(
        testing_utils.tiny_model_config(num_preprocess_threads=1),
        os.path.join(cls.root, "eval_model.json"))
    # The shared model's checkpoints (steps 0 and 40, one encoder) and a
    # step-50 checkpoint of another encoder.
    cls.checkpoint_dir = os.path.join(cls.root, "train")
    testing_utils.copy_train_dir(cls.train_dir, cls.checkpoint_dir)
    state = tf.train.get_checkpoint_state(cls.checkpoint_dir)
    paths = list(state.all_model_checkpoint_paths) + [
        os.path.join(cls.checkpoint_dir, "model.ckpt-50")]
    testing_utils.write_other_encoder(state.model_checkpoint_path,
                                    cls.checkpoint_dir, 50)
    tf.train.update_checkpoint_state(cls.checkpoint_dir, paths[-1], paths)

  def _evaluate(self, eval_dir, *extra):
    return testing_utils.run_module("im2txt.evaluate", [
        "--checkpoint_dir=" + self.checkpoint_dir, "--eval_dir=" + eval_dir,
        "--run_once", "--min_global_step=1",
        "--num_eval_examples=%d" % NUM_EVAL_EXAMPLES,
        "--model_config_file=" + self.eval_config,
        "--num_caption_eval_images=%d" % NUM_CAPTION_IMAGES,
        "--vocab_file=" + self.paths["vocab_file"]] + list(extra))

  def testPhaseOneFromFeaturesWithTheImagesResultsOthersFromImages(self):
    eval_dir = os.path.join(self.root, "eval_both")
    result = self._evaluate(
        eval_dir, "--input_file_pattern=" + self.paths["train_pattern"],
        "--features_file_pattern=" + self.features)
    self.assertIn("Global step 40: evaluated from the cached features",
                  result.stderr)
    self.assertIn("Global step 50: evaluated from images", result.stderr)
    perplexities = _perplexities(eval_dir)
    self.assertEqual(sorted(perplexities), [40, 50])
    acc = event_accumulator.EventAccumulator(eval_dir)
    acc.Reload()
    self.assertTrue({"Perplexity", "eval/loss", "caption_metrics/CIDEr"} <=
                    set(acc.Tags()["scalars"]))

    # Step 40's captions are those of the same images from their pixels.
    checkpoint = os.path.join(self.checkpoint_dir, "model.ckpt-40")
    loaded = captioner.load_model(checkpoint, self.paths["vocab_file"])
    generator = caption_generator.CaptionGenerator(loaded.model, loaded.vocab)
    records = list(captioner.images_from_records(self.paths["train_pattern"]))
    with tf.Session(graph=loaded.graph) as sess:
      loaded.restore_fn(sess)
      expected, _, _ = captioner.caption_all(
          sess, generator, loaded.vocab, records[:NUM_CAPTION_IMAGES])
    with open(os.path.join(eval_dir, "captions-40.json")) as f:
      self.assertEqual(json.load(f), expected)

    # Its perplexity is that of the pairs the images path reads, and the
    # same pairs from their pixels give it too. (The images path's own
    # summaries take a few records off its queue at a moment that varies,
    # so its examples vary a little from run to run.)
    config = checkpoints.model_config_for(self.checkpoint_dir,
                                          self.eval_config)
    from_features = feature_evaluation.FeaturePerplexity(
        config, self.features, NUM_EVAL_EXAMPLES, self.paths["train_pattern"])
    writer = tf.summary.FileWriter(os.path.join(self.root, "same_pairs"))
    value = from_features.evaluate(checkpoint, 40, writer)
    self.assertAlmostEqual(value, perplexities[40], delta=1e-5 * value)
    encoded = {image_id: data for image_id, data, _ in records}
    with tf.Graph().as_default():
      feed = tf.placeholder(tf.string, [])
      processed = model_inputs.process_image(config, False, feed)
      with tf.Session() as sess:
        pixels = {i: sess.run(processed, {feed: data})
                  for i, data in encoded.items()}
    with tf.Graph().as_default():
      images = tf.placeholder(tf.float32, [None, config.image_height,
                                           config.image_width, 3])
      inputs = tf.placeholder(tf.int64, [None, None])
      targets = tf.placeholder(tf.int64, [None, None])
      mask = tf.placeholder(tf.int32, [None, None])
      model = show_and_tell_model.ShowAndTellModel(
          config, mode="eval", input_batch=model_inputs.InputBatch(
              images, None, inputs, targets, mask))
      model.build()
      saver = tf.train.Saver()
      sums = perplexity.Sums()
      with tf.Session() as sess:
        saver.restore(sess, checkpoint)
        size = config.batch_size
        for k in range(size, len(from_features.pairs), size):
          chunk = from_features.pairs[k:k + size]
          seqs = feature_evaluation.padded_batch([c for _, c in chunk])
          sums.add(*sess.run(
              [model.target_cross_entropy_losses,
               model.target_cross_entropy_loss_weights],
              {images: np.stack([pixels[i] for i, _ in chunk]),
               inputs: seqs[0], targets: seqs[1], mask: seqs[2]}))
    self.assertAlmostEqual(np.exp(sums.losses / sums.weights), value,
                           delta=1e-4 * value)

  def testFeaturesAloneRefuseAnotherEncodersCheckpointByName(self):
    only_other = os.path.join(self.root, "only_other")
    os.makedirs(only_other)
    for path in tf.io.gfile.glob(os.path.join(self.checkpoint_dir,
                                              "model.ckpt-50*")):
      shutil.copy(path, only_other)
    shutil.copy(os.path.join(self.train_dir, "model_config.json"),
                only_other)
    tf.train.update_checkpoint_state(
        only_other, os.path.join(only_other, "model.ckpt-50"))
    with self.assertRaisesRegex(
        evaluate.NothingEvaluatedError,
        re.escape("%s was not made by the encoder of the features (give "
                  "--input_file_pattern too)"
                  % os.path.join(only_other, "model.ckpt-50"))):
      evaluate.run("", only_other, os.path.join(self.root, "eval_refused"),
                   num_eval_examples=NUM_EVAL_EXAMPLES, min_global_step=0,
                   run_once_only=True, model_config_file=self.eval_config,
                   features_file_pattern=self.features)


if __name__ == "__main__":
  sys.exit(pytest.main([__file__, "-v"]))
