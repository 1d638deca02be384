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
r"""Scores captions results files with BLEU-1..4, METEOR, ROUGE-L and CIDEr.

  score_captions --results_file=results.json,baseline_results.json \
    --reference_file_pattern="${MSCOCO_DIR}/test-?????-of-00008" \
    --output_file=metrics.json

References come from the records of a split (--reference_file_pattern) or
from an MSCOCO captions JSON file (--captions_file). Several results files
(comma-separated) are scored against the same references and printed as one
table, a row each. --output_file gets the scores as JSON:
{"models": [{"results_file", "num_images", "scores": {metric: value}}]}.
See im2txt/evaluation/caption_metrics.py.
"""

import collections
import json
import os
import sys

from absl import flags

from im2txt.evaluation import caption_metrics
from im2txt.common import cli
from im2txt.common import file_io

FLAGS = flags.FLAGS


def define_flags():
  """Defines the command-line flags (only when run as a program)."""
  flags.DEFINE_list("results_file", [],
                    "MSCOCO results JSON files: [{image_id, caption}]; "
                    "comma-separated to compare several. Required.")
  flags.DEFINE_string("reference_file_pattern", "",
                      "TFRecord pattern of the split whose captions are the "
                      "references.")
  cli.define_shared_flag(
      "captions_file",
      "MSCOCO captions JSON with the reference captions.",
      __name__)
  cli.define_shared_flag(
      "output_file",
      "Optional JSON file for the scores.",
      __name__)
  flags.DEFINE_list("metrics", list(caption_metrics.METRICS),
                    "Metrics to compute (SPICE is not available offline).")
  flags.register_validator("results_file", bool,
                           message="--results_file is required.")


def main(unused_argv):
  try:
    if bool(FLAGS.reference_file_pattern) == bool(FLAGS.captions_file):
      raise caption_metrics.MetricsError(
          "Give exactly one of --reference_file_pattern and --captions_file.")
    caption_metrics.check_metrics(FLAGS.metrics)
    all_results = [caption_metrics.load_results(f)
                   for f in FLAGS.results_file]
    if FLAGS.captions_file:
      references = caption_metrics.references_from_captions_json(
          FLAGS.captions_file)
    else:
      references = caption_metrics.references_from_records(
          FLAGS.reference_file_pattern)
    # Captions of the builder's other tokenizers are scored on their words.
    tokenizer = caption_metrics.scoring_tokenizer(
        FLAGS.reference_file_pattern)
    models = []
    for results_file, results in zip(FLAGS.results_file, all_results):
      try:
        scores = caption_metrics.score(results, references, FLAGS.metrics,
                                       tokenizer.scored_on_tokens)
      except caption_metrics.MetricsError as e:
        raise caption_metrics.MetricsError("%s: %s" % (results_file, e))
      models.append({"results_file": results_file,
                     "num_images": len(results), "scores": scores})
  except (caption_metrics.MetricsError, ValueError) as e:
    sys.exit("score_captions: error: %s" % e)
  names = [os.path.basename(m["results_file"]) for m in models]
  if len(set(names)) < len(names):  # Same file names in other folders.
    names = [m["results_file"] for m in models]
  scoring = caption_metrics.describe_scoring(tokenizer)
  print("Captions %s." % scoring)
  print(caption_metrics.format_table(collections.OrderedDict(
      ("%s (%d images)" % (name, m["num_images"]), m["scores"])
      for name, m in zip(names, models))))
  if FLAGS.output_file:
    file_io.write_atomically(FLAGS.output_file, json.dumps(
        {"models": models, "scoring": scoring}, indent=2,
        sort_keys=True).encode("utf-8"))


def run():
  """Console-script entry point."""
  cli.run_main(main, __name__, define_flags)


if __name__ == "__main__":
  run()
