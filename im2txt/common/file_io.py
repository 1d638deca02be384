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
"""The file layer of the binaries: local paths and TensorFlow file systems.

Every file the binaries read or write beside the records and checkpoints
(configs, vocabularies, reports, results, feature-shard descriptions, lock
and state files) goes through these functions. A local path uses the
operating system directly; a path with a scheme (``gs://``, ``hdfs://``,
``ram://`` ...) goes through ``tf.io.gfile``, so that a ``train_dir`` or
``eval_dir`` on a bucket behaves like a local one. TensorFlow is imported
only when such a path is used, so that this module stays cheap to import.

Writes are atomic: a reader never sees a half-written file.
"""

import glob as _glob
import os
import threading


def is_local(path):
  """False for paths with a file-system scheme (gs://, ram://, hdfs://)."""
  return "://" not in path


def _gfile():
  import im2txt  # noqa: F401  pylint: disable=g-import-not-at-top,unused-import
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  return tf.io.gfile


def join(path, *paths):
  """os.path.join, which also suits scheme paths (gs://bucket/dir)."""
  return os.path.join(path, *paths)


def dirname(path):
  """The folder of a path ("" for a bare file name)."""
  return os.path.dirname(path)


def exists(path):
  """Whether a file or directory exists at `path`."""
  if is_local(path):
    return os.path.exists(path)
  return _gfile().exists(path)


def isdir(path):
  """Whether `path` is a directory."""
  if is_local(path):
    return os.path.isdir(path)
  return _gfile().isdir(path)


def makedirs(path):
  """Creates a directory and its parents; an existing one is fine."""
  if is_local(path):
    os.makedirs(path, exist_ok=True)
  else:
    _gfile().makedirs(path)


def glob(pattern):
  """The sorted paths matching a glob pattern."""
  if is_local(pattern):
    return sorted(_glob.glob(pattern))
  return sorted(_gfile().glob(pattern))


def listdir(path):
  """The names in a directory, sorted."""
  if is_local(path):
    return sorted(os.listdir(path))
  return sorted(name.rstrip("/") for name in _gfile().listdir(path))


def remove(path):
  """Deletes a file."""
  if is_local(path):
    os.remove(path)
  else:
    _gfile().remove(path)


def rename(src, dst):
  """Moves a file, replacing dst (atomic on local file systems)."""
  if is_local(src) and is_local(dst):
    os.replace(src, dst)
  else:
    _gfile().rename(src, dst, overwrite=True)


def getsize(path):
  """The size of a file in bytes, without reading it."""
  if is_local(path):
    return os.path.getsize(path)
  return _gfile().stat(path).length


def read_bytes(path):
  """The contents of a file as bytes.

  Raises:
    FileNotFoundError: If there is no file at `path` (for any scheme).
    OSError: If it cannot be read.
  """
  if is_local(path):
    with open(path, "rb") as f:
      return f.read()
  gfile = _gfile()
  if not gfile.exists(path):
    raise FileNotFoundError("No such file: %s" % path)
  with gfile.GFile(path, "rb") as f:
    return f.read()


def read_text(path):
  """The contents of a UTF-8 text file as str (see read_bytes)."""
  return read_bytes(path).decode("utf-8")


def write_atomically(path, data):
  """Writes bytes to a file via a temporary file and a rename.

  A process killed mid-write leaves at most a `<path>.tmp-*` file, never a
  partial file under `path`. The temporary name is unique per process and
  thread, so concurrent writers of different files do not collide. Local
  files are synced before the rename; paths with a scheme (gs://...) go
  through TensorFlow's file systems (tf.io.gfile).

  Args:
    path: Destination path.
    data: The bytes to write (str is written as UTF-8).
  """
  if isinstance(data, str):
    data = data.encode("utf-8")
  tmp_path = "%s.tmp-%d-%d" % (path, os.getpid(), threading.get_ident())
  if not is_local(path):
    gfile = _gfile()
    with gfile.GFile(tmp_path, "wb") as f:
      f.write(data)
    gfile.rename(tmp_path, path, overwrite=True)
    return
  with open(tmp_path, "wb") as f:
    f.write(data)
    f.flush()
    os.fsync(f.fileno())
  os.replace(tmp_path, path)


def file_above(path):
  """The nearest existing ancestor of `path` that is a file, not a folder
  (so nothing can be written at `path`), or "" if there is none."""
  parent = dirname(path)
  while parent and parent != dirname(parent):
    if exists(parent):
      return "" if isdir(parent) else parent
    parent = dirname(parent)
  return ""


def check_writable_location(path):
  """Raises OSError unless the folder that will hold `path` exists.

  Binaries call it before long work, so that an output file in a missing
  folder fails at once rather than after hours of computation.
  """
  folder = dirname(path) or "."
  if not isdir(folder):
    raise OSError("%s: the folder %s does not exist" % (path, folder))
