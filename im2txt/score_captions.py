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
r"""Scores a captions results file with BLEU-1..4, METEOR, ROUGE-L and CIDEr.

  score_captions --results_file=results.json \
    --reference_file_pattern="${MSCOCO_DIR}/test-?????-of-00008" \
    --output_file=metrics.json

References come from the records of a split (--reference_file_pattern) or
from an MSCOCO captions JSON file (--captions_file). Prints a table and,
with --output_file, writes the scores as JSON. See im2txt/caption_metrics.py.
"""

import json
import os
import sys

from absl import flags

from im2txt import caption_metrics
from im2txt import cli

FLAGS = flags.FLAGS


def define_flags():
  """Defines the command-line flags (only when run as a program)."""
  flags.DEFINE_string("results_file", "",
                      "MSCOCO results JSON: [{image_id, caption}]. Required.")
  flags.DEFINE_string("reference_file_pattern", "",
                      "TFRecord pattern of the split whose captions are the "
                      "references.")
  flags.DEFINE_string("captions_file", "",
                      "MSCOCO captions JSON with the reference captions.")
  flags.DEFINE_string("output_file", "", "Optional JSON file for the scores.")
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
    results = caption_metrics.load_results(FLAGS.results_file)
    if FLAGS.captions_file:
      references = caption_metrics.references_from_captions_json(
          FLAGS.captions_file)
    else:
      references = caption_metrics.references_from_records(
          FLAGS.reference_file_pattern)
    scores = caption_metrics.score(results, references, FLAGS.metrics)
  except (caption_metrics.MetricsError, ValueError) as e:
    sys.exit("score_captions: error: %s" % e)
  name = os.path.basename(FLAGS.results_file)
  print(caption_metrics.format_table({name: scores}))
  print("(%d images)" % len(results))
  if FLAGS.output_file:
    with open(FLAGS.output_file, "w", encoding="utf-8") as f:
      json.dump({"results_file": FLAGS.results_file, "num_images": len(results),
                 "scores": scores}, f, indent=2, sort_keys=True)


def run():
  """Console-script entry point."""
  cli.run_main(main, __name__, define_flags)


if __name__ == "__main__":
  run()
