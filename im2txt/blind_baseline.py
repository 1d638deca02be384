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
r"""The image-blind baseline: each image gets the commonest training caption.

  blind_baseline --train_file_pattern="${MSCOCO_DIR}/train-?????-of-00256" \
    --input_file_pattern="${MSCOCO_DIR}/test-?????-of-00008" \
    --output_file=baseline_results.json

A captioner that never looks at the image can still score well on BLEU by
saying something generic. This baseline is that captioner at its simplest:
the caption that occurs most often among the training split's captions
(their tokens as the builder stored them, lower-cased, without the start and
end words; ties go to the alphabetically first), given to every image of the
input split. Its results file scores with score_captions like a model's, so
a trained model can be put beside it.
"""

import collections
import json
import sys

from absl import flags

from im2txt.evaluation import caption_metrics
from im2txt.common import cli
from im2txt.common import file_io

FLAGS = flags.FLAGS


def define_flags():
  """Defines the command-line flags (only when run as a program)."""
  flags.DEFINE_string("train_file_pattern", "",
                      "TFRecord pattern of the training split whose most "
                      "frequent caption is the baseline. Required.")
  cli.define_shared_flag(
      "input_file_pattern",
      "TFRecord pattern of the split to caption. Required.",
      __name__)
  cli.define_shared_flag(
      "output_file",
      "MSCOCO results JSON to write.",
      __name__)
  for name in ("train_file_pattern", "input_file_pattern", "output_file"):
    flags.register_validator(name, bool, message="--%s is required." % name)


def most_frequent_caption(references):
  """Returns (caption, count, total) over image_id -> [captions].

  Raises:
    caption_metrics.MetricsError: If there are no captions.
  """
  counts = collections.Counter(
      " ".join(c.split()) for captions in references.values()
      for c in captions)
  if not counts:
    raise caption_metrics.MetricsError("No training captions to count.")
  caption, count = min(counts.items(), key=lambda kv: (-kv[1], kv[0]))
  return caption, count, sum(counts.values())


def baseline_results(caption, image_ids):
  """Returns the MSCOCO results list giving `caption` to every image."""
  return [{"image_id": i, "caption": caption} for i in sorted(image_ids)]


def main(unused_argv):
  try:
    train = caption_metrics.references_from_records(FLAGS.train_file_pattern)
    caption, count, total = most_frequent_caption(train)
    images = caption_metrics.references_from_records(FLAGS.input_file_pattern)
  except (caption_metrics.MetricsError, ValueError) as e:
    sys.exit("blind_baseline: error: %s" % e)
  results = baseline_results(caption, images)
  file_io.write_atomically(
      FLAGS.output_file,
      json.dumps(results, ensure_ascii=False).encode("utf-8"))
  print("Baseline caption \"%s\" (%d of %d training captions) for %d images "
        "-> %s" % (caption, count, total, len(results), FLAGS.output_file))


def run():
  """Console-script entry point."""
  cli.run_main(main, __name__, define_flags)


if __name__ == "__main__":
  run()
