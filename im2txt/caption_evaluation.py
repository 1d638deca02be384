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
"""Caption metrics of a checkpoint on a few images of a split, for evaluate.

Perplexity says how well a model predicts the reference words; it does not
say how good its beam-search captions are. A CaptionEvaluator holds the
first N distinct images of a split with their reference captions, and an
inference graph built once. For each checkpoint it restores the weights,
captions the images with beam search, scores the captions with
caption_metrics (BLEU-1..4, METEOR, ROUGE-L, CIDEr) and writes

  - summaries ``caption_metrics/<metric>`` at the checkpoint's global step,
    beside evaluate's ``Perplexity``;
  - ``<output_dir>/captions-<step>.json`` (MSCOCO results format) and
    ``<output_dir>/caption_metrics.json`` ({step: {metric: score}}).
"""

import json
import os
import time

import im2txt  # noqa: F401

import tensorflow.compat.v1 as tf

from im2txt import caption_images
from im2txt import caption_metrics
from im2txt import file_io
from im2txt import inference_wrapper
from im2txt.inference_utils import caption_generator
from im2txt.inference_utils import vocabulary

SUMMARY_PREFIX = "caption_metrics/"
METRICS_FILENAME = "caption_metrics.json"


class CaptionEvaluator(object):
  """Captions and scores a fixed set of images for each checkpoint."""

  def __init__(self, model_config, vocab_file, input_file_pattern, num_images,
               beam_size=3, max_caption_length=20,
               metrics=caption_metrics.METRICS, session_config=None):
    """Reads the images and builds the inference graph.

    Args:
      model_config: The ModelConfig of the checkpoints to evaluate.
      vocab_file: Their word_counts.txt.
      input_file_pattern: TFRecord pattern of the split (usually val).
      num_images: How many distinct images to caption (the first ones).
      beam_size: Beam size of the caption search.
      max_caption_length: Maximum caption length of the search.
      metrics: Names from caption_metrics.METRICS.
      session_config: Optional tf.ConfigProto.

    Raises:
      caption_metrics.MetricsError: If a metric is unavailable.
      vocabulary.VocabularyFileError: If the vocabulary cannot be read.
      ValueError: If the vocabulary is larger than the model's, or the split
        has no images.
    """
    self.metrics = caption_metrics.check_metrics(list(metrics))
    self.vocab = vocabulary.Vocabulary(vocab_file)
    if len(self.vocab) > model_config.vocab_size:
      raise ValueError(
          "Vocabulary %s has %d words (with <UNK>) but the model has "
          "vocab_size %d." % (vocab_file, len(self.vocab),
                              model_config.vocab_size))
    self.images = []
    for image_id, encoded, _ in caption_images.images_from_records(
        input_file_pattern):
      if len(self.images) >= num_images:
        break
      self.images.append((image_id, encoded, input_file_pattern))
    if not self.images:
      raise ValueError("No images in %s to caption." % input_file_pattern)
    wanted = set(i for i, _, _ in self.images)
    self.references = {
        i: refs for i, refs in caption_metrics.references_from_records(
            input_file_pattern).items() if i in wanted}
    self.session_config = session_config

    self.graph = tf.Graph()
    with self.graph.as_default():
      self.model = inference_wrapper.InferenceWrapper()
      self.model.build_model(model_config)
      self.saver = tf.train.Saver()
    self.graph.finalize()
    self.generator = caption_generator.CaptionGenerator(
        self.model, self.vocab, beam_size=beam_size,
        max_caption_length=max_caption_length)

  @property
  def num_images(self):
    return len(self.images)

  def evaluate(self, checkpoint_path, global_step, summary_writer=None,
               output_dir=None):
    """Captions the images with one checkpoint and scores the captions.

    Returns:
      A dict metric name -> score.
    """
    start = time.time()
    with tf.Session(graph=self.graph, config=self.session_config) as sess:
      self.saver.restore(sess, checkpoint_path)
      results, _, failures = caption_images.caption_all(
          sess, self.generator, self.vocab, self.images,
          log_every=max(len(self.images), 1))
    for name, problem in failures:
      tf.logging.warning("Caption metrics: %s: %s (skipped)", name, problem)
    captions = {r["image_id"]: r["caption"] for r in results}
    scores = caption_metrics.score(captions, self.references, self.metrics)
    tf.logging.info(
        "Caption metrics at global step %d on %d images (%.1f s): %s",
        global_step, len(captions), time.time() - start,
        ", ".join("%s %.4f" % (m, scores[m]) for m in self.metrics))

    if summary_writer is not None:
      summary = tf.Summary()
      for name in self.metrics:
        value = summary.value.add()
        value.tag = SUMMARY_PREFIX + name
        value.simple_value = scores[name]
      summary_writer.add_summary(summary, global_step)
      summary_writer.flush()
    if output_dir:
      file_io.write_atomically(
          os.path.join(output_dir, "captions-%d.json" % global_step),
          json.dumps(results, ensure_ascii=False).encode("utf-8"))
      path = os.path.join(output_dir, METRICS_FILENAME)
      history = {}
      if tf.io.gfile.exists(path):  # eval_dir may be gs://...
        with tf.io.gfile.GFile(path, "r") as f:
          history = json.load(f)
      history[str(global_step)] = scores
      file_io.write_atomically(path, json.dumps(
          history, indent=2, sort_keys=True).encode("utf-8"))
    return scores
