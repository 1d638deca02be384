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

import collections
import itertools
import json
import time

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import

import tensorflow.compat.v1 as tf

from im2txt.evaluation import caption_metrics
from im2txt.captioning import captioner
from im2txt.captioning import feature_captioner
from im2txt.common import checkpoints
from im2txt.common import file_io
from im2txt.data import records
from im2txt.inference_utils import caption_generator

SUMMARY_PREFIX = "caption_metrics/"
METRICS_FILENAME = "caption_metrics.json"


class CaptionEvaluator(object):
  """Captions and scores a fixed set of images for each checkpoint."""

  def __init__(self, model_config, vocab_file, input_file_pattern, num_images,
               beam_size=3, max_caption_length=20,
               metrics=caption_metrics.METRICS, session_config=None,
               features_file_pattern=""):
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
      features_file_pattern: Optional cache_features shards of the split:
        evaluate(from_features=True) captions the same images from their
        cached encoder outputs. Without input_file_pattern the images are
        the first of the cache, and the references its captions.

    Raises:
      caption_metrics.MetricsError: If a metric is unavailable, or a record
        of the split cannot be read.
      vocabulary.VocabularyFileError: If the vocabulary cannot be read.
      vocabulary.VocabularyMismatchError: If it is larger than the model's.
      tokenizers.TokenizerMismatchError: If the split's captions were cut
        into words another way than the model's training captions.
      ValueError: If the split has no images.
    """
    self.metrics = caption_metrics.check_metrics(list(metrics))
    if "METEOR" in self.metrics:
      caption_metrics.start_meteor()  # Once, not at every checkpoint.
    self.tokenizer = caption_metrics.scoring_tokenizer(
        input_file_pattern, model_config, "The evaluated model")
    self.vocab = captioner.load_vocabulary(vocab_file, model_config,
                                            "the evaluated model")
    self.images, self.features = [], []
    try:
      if input_file_pattern:
        self.images = [
            (image_id, encoded, input_file_pattern)
            for image_id, encoded, _ in itertools.islice(
                captioner.images_from_records(input_file_pattern),
                num_images)]
      if features_file_pattern:
        self.features, references = self._features(
            features_file_pattern, [i for i, _, _ in self.images] or None,
            num_images)
    except records.RecordReadError as e:
      raise caption_metrics.MetricsError(str(e))
    ids = [item[0] for item in self.images or self.features]
    if not ids:
      raise ValueError("No images in %s to caption."
                       % (input_file_pattern or features_file_pattern))
    if input_file_pattern:
      references = caption_metrics.references_from_records(
          input_file_pattern)
    self.references = {i: references[i] for i in ids if i in references}
    self.session_config = session_config

    self.graph, self.model, self.saver = captioner.build_inference_graph(
        model_config)
    self.graph.finalize()
    self.generator = caption_generator.CaptionGenerator(
        self.model, self.vocab, beam_size=beam_size,
        max_caption_length=max_caption_length)

  def _features(self, file_pattern, image_ids, num_images):
    """The cache's (image_id, features, name) items of image_ids (the first
    num_images of the cache if None), and its references ({image_id:
    [caption text]}: its caption ids as words).

    Raises:
      ValueError: If an image of image_ids is not in the cache.
    """
    items, pairs = feature_captioner.read_split(file_pattern)
    by_id = {item[0]: item for item in items}
    if image_ids is None:
      image_ids = [item[0] for item in items[:num_images]]
    missing = [i for i in image_ids if i not in by_id]
    if missing:
      raise ValueError("%d of the images to caption have no features in %s "
                       "(e.g. image_id %s): the cache is of another split."
                       % (len(missing), file_pattern, missing[:5]))
    references = collections.defaultdict(list)
    special = (self.vocab.start_id, self.vocab.end_id)
    for image_id, caption in pairs:
      references[image_id].append(" ".join(
          self.vocab.id_to_word(w) for w in caption if w not in special))
    return [by_id[i] for i in image_ids], references

  @property
  def num_images(self):
    """How many images each checkpoint captions."""
    return len(self.images or self.features)

  def evaluate(self, checkpoint_path, global_step, summary_writer=None,
               output_dir=None, from_features=False):
    """Captions the images with one checkpoint and scores the captions.

    Args:
      checkpoint_path: The checkpoint prefix to restore.
      global_step: Its global step (the summaries' step, the files' names).
      summary_writer: Optional FileWriter for the caption_metrics/ summaries.
      output_dir: Optional folder (local or gs://...) for captions-<step>.json
        and caption_metrics.json.
      from_features: Caption the cached encoder outputs instead of the
        images (the checkpoint's encoder made them; evaluate checks).

    Returns:
      A dict metric name -> score.

    Raises:
      checkpoints.CheckpointFault: If the checkpoint vanished or is corrupt.
    """
    start = time.time()
    with tf.Session(graph=self.graph, config=self.session_config) as sess:
      checkpoints.restore(self.saver, sess, checkpoint_path)
      if from_features:
        results, _ = feature_captioner.caption_features(
            sess, self.generator, self.vocab, self.features,
            log_every=max(len(self.features), 1))
        failures = []
      else:
        results, _, failures = captioner.caption_all(
            sess, self.generator, self.vocab, self.images,
            log_every=max(len(self.images), 1))
    for name, problem in failures:
      tf.logging.warning("Caption metrics: %s: %s (skipped)", name, problem)
    captions = {r["image_id"]: r["caption"] for r in results}
    scores = caption_metrics.score(captions, self.references, self.metrics,
                                   self.tokenizer.scored_on_tokens)
    tf.logging.info(
        "Caption metrics at global step %d on %d images (%.1f s, %s): %s",
        global_step, len(captions), time.time() - start,
        caption_metrics.describe_scoring(self.tokenizer),
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
          file_io.join(output_dir, "captions-%d.json" % global_step),
          json.dumps(results, ensure_ascii=False).encode("utf-8"))
      path = file_io.join(output_dir, METRICS_FILENAME)
      history = {}
      if file_io.exists(path):  # eval_dir may be gs://...
        history = json.loads(file_io.read_text(path))
      history[str(global_step)] = scores
      file_io.write_atomically(path, json.dumps(
          history, indent=2, sort_keys=True).encode("utf-8"))
    return scores
