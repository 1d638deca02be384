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
"""What evaluate remembers in its eval_dir, and which checkpoints are next.

``evaluated_steps.json`` lists the global steps already evaluated (none is
evaluated twice, even across restarts); ``failed_checkpoints.json`` the
checkpoints that could not be read, with the reason (not retried).
``checkpoints_to_evaluate`` lists a train_dir's checkpoints still to do,
oldest first.
"""

import json

from im2txt.common import checkpoints
from im2txt.common import file_io
from im2txt.serving import legacy_checkpoints

EVALUATED_STEPS_FILENAME = "evaluated_steps.json"
# Checkpoints that could not be evaluated (corrupt), with the reason.
FAILED_FILENAME = "failed_checkpoints.json"


def checkpoints_to_evaluate(checkpoint_dir, evaluated_steps,
                            failed_paths=()):
  """Lists (global_step, path) of existing checkpoints not yet evaluated.

  A checkpoint that vanished since the index listed it (training keeps only
  the latest few) is left out; one whose step cannot be read is returned
  with step None, for the caller to record as failed. Paths in failed_paths
  are left out.

  Returns:
    The pending (step, path) pairs, oldest first.
  """
  pending = []
  for path in checkpoints.listed(checkpoint_dir):
    if path in failed_paths or not (
        file_io.exists(path + ".index") or
        legacy_checkpoints.is_v1_file(path)):  # refused with the converter
      continue
    try:
      step = checkpoints.global_step(path)
    except checkpoints.READ_ERRORS as e:
      if checkpoints.fault(path, e).vanished:
        continue
      pending.append((-1, path))  # Sorted first; recorded as failed.
      continue
    if step not in evaluated_steps:
      pending.append((step, path))
  return sorted(pending)


def load_failed(eval_dir):
  """{checkpoint path: reason} of checkpoints recorded as failed."""
  path = file_io.join(eval_dir, FAILED_FILENAME)
  if not file_io.exists(path):
    return {}
  return json.loads(file_io.read_text(path))


def save_failed(eval_dir, failed):
  """Records the failed checkpoints in eval_dir (atomically)."""
  file_io.write_atomically(file_io.join(eval_dir, FAILED_FILENAME),
                           json.dumps(failed, indent=2, sort_keys=True))


def load_evaluated_steps(eval_dir):
  """The global steps already evaluated into eval_dir (a set of ints)."""
  path = file_io.join(eval_dir, EVALUATED_STEPS_FILENAME)
  if not file_io.exists(path):
    return set()
  return set(json.loads(file_io.read_text(path)))


def save_evaluated_steps(eval_dir, steps):
  """Records the evaluated global steps in eval_dir (atomically)."""
  file_io.write_atomically(file_io.join(eval_dir, EVALUATED_STEPS_FILENAME),
                           json.dumps(sorted(steps)).encode("utf-8"))
