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
"""Writing files so that a reader never sees a half-written one."""

import os
import threading


def is_local(path):
  """False for paths with a file-system scheme (gs://, ram://, hdfs://)."""
  return "://" not in path


def write_atomically(path, data):
  """Writes bytes to a file via a temporary file and a rename.

  A process killed mid-write leaves at most a `<path>.tmp-*` file, never a
  partial file under `path`. The temporary name is unique per process and
  thread, so concurrent writers of different files do not collide. Local
  files are synced before the rename; paths with a scheme (gs://...) go
  through TensorFlow's file systems (tf.io.gfile).

  Args:
    path: Destination path.
    data: The bytes to write.
  """
  tmp_path = "%s.tmp-%d-%d" % (path, os.getpid(), threading.get_ident())
  if not is_local(path):
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    with tf.io.gfile.GFile(tmp_path, "wb") as f:
      f.write(data)
    tf.io.gfile.rename(tmp_path, path, overwrite=True)
    return
  with open(tmp_path, "wb") as f:
    f.write(data)
    f.flush()
    os.fsync(f.fileno())
  os.replace(tmp_path, path)
