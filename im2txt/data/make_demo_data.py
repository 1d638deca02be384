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
"""Writes the built-in demo data set (drawn shapes in the MSCOCO layout).

  im2txt-make-demo-data --output_dir=/tmp/demo_mscoco/raw-data
  python3 data/make_demo_data.py --output_dir=...      (from a checkout)

See im2txt/data/demo_data.py for what it draws.
"""

from absl import flags

from im2txt.common import cli

from im2txt.data import demo_data

FLAGS = flags.FLAGS
def define_flags():
  """Defines the command-line flags (only when run as a program)."""
  flags.DEFINE_string("output_dir", None, "Where to write the data set.")
  flags.DEFINE_integer("num_train_images", 400, "Images in train2014.")
  flags.DEFINE_integer("num_val_images", 200,
                       "Images in val2014 (split 85/5/10 by the builder).")
  flags.DEFINE_integer("image_width", 160, "Image width in pixels.")
  flags.DEFINE_integer("image_height", 120, "Image height in pixels.")
  flags.DEFINE_integer("seed", 0, "Random seed.")
  flags.mark_flag_as_required("output_dir")


def main(unused_argv):
  paths = demo_data.generate(FLAGS.output_dir, FLAGS.num_train_images,
                             FLAGS.num_val_images,
                             (FLAGS.image_width, FLAGS.image_height),
                             FLAGS.seed)
  for key, value in sorted(paths.items()):
    print("%s=%s" % (key, value))


def run():
  """Console-script entry point."""
  cli.run_main(main, __name__, define_flags)


if __name__ == "__main__":
  run()
