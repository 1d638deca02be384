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
r"""Runs a training cluster as separate processes on this machine.

  local_cluster --num_ps=1 --num_workers=2 --logs_dir=/tmp/cluster_logs -- \
    --input_file_pattern="${DEMO_DIR}/train-?????-of-00004" \
    --train_dir=/tmp/cluster_train --number_of_steps=200

Everything after "--" is passed to every task's train command; the
launcher adds the cluster flags (--ps_hosts, --worker_hosts, --job_name,
--task_index) with free ports on 127.0.0.1, or TF_CONFIG with
--tf_config. It returns when the workers have finished (the parameter
servers exit by themselves then), with exit code 1 if a worker failed.
Each task's output is in <log_dir>/<job>-<index>.log.
"""

import sys
import tempfile

from absl import flags

from im2txt.common import cli
from im2txt.training import launcher

FLAGS = flags.FLAGS


def define_flags():
  flags.DEFINE_integer("num_ps", 1, "Number of parameter servers.")
  flags.DEFINE_integer("num_workers", 2, "Number of workers (worker 0 is the "
                       "chief).")
  flags.DEFINE_string("logs_dir", "", "Folder of the tasks' logs (default: a "
                      "new temporary folder).")
  flags.DEFINE_boolean("tf_config", False,
                       "Give each task its place in TF_CONFIG instead of the "
                       "cluster flags.")
  flags.DEFINE_integer("timeout_secs", 0,
                       "Stop the cluster if the workers run longer (0: no "
                       "limit).")


def main(argv):
  train_args = argv[1:]
  if not train_args:
    sys.exit("local_cluster: error: give train's flags after \"--\", for "
             "example -- --input_file_pattern=... --train_dir=...")
  log_dir = FLAGS.logs_dir or tempfile.mkdtemp(prefix="im2txt_cluster_")
  try:
    local = launcher.LocalCluster(
        train_args, log_dir, num_ps=FLAGS.num_ps,
        num_workers=FLAGS.num_workers, use_tf_config=FLAGS.tf_config)
  except ValueError as e:
    sys.exit("local_cluster: error: %s" % e)
  return launcher.run(local, timeout=FLAGS.timeout_secs or None)


def run():
  """Console-script entry point."""
  cli.run_main(main, __name__, define_flags)


if __name__ == "__main__":
  run()
