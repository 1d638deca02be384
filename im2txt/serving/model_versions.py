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
"""The layout TensorFlow Serving loads models from: numbered versions.

A model's base path holds one SavedModel per version, in a folder named by
the version number (a positive integer):

  BASE/40/saved_model.pb, BASE/40/variables/..., BASE/40/assets/...
  BASE/6130/...

export_saved_model writes a version beside (``BASE/40.tmp-<pid>``, not a
number) and renames it into place when complete, so a server polling BASE
never sees half a version; ``versions`` lists the complete ones.
"""

import re

from im2txt.common import file_io

# Names of version folders: a positive integer without leading zeros.
_VERSION = re.compile(r"^[1-9][0-9]*$")
SAVED_MODEL_FILE = "saved_model.pb"


class VersionError(ValueError):
  """A version number or a base path that cannot be used."""


def check_version(version):
  """The version as a positive int; VersionError otherwise."""
  if isinstance(version, bool) or not isinstance(version, int) or version < 1:
    raise VersionError("A model version is a positive integer (TensorFlow "
                       "Serving's folder names), got %r" % (version,))
  return version


def version_dir(base_path, version):
  """BASE/<version>."""
  return file_io.join(base_path, str(check_version(version)))


def versions(base_path):
  """{version: folder} of the complete versions under base_path (those with
  a saved_model.pb); {} when base_path does not exist."""
  if not file_io.isdir(base_path):
    return {}
  found = {}
  for name in file_io.listdir(base_path):
    folder = file_io.join(base_path, name)
    if _VERSION.match(name) and file_io.exists(
        file_io.join(folder, SAVED_MODEL_FILE)):
      found[int(name)] = folder
  return found
