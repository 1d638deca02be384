#!/bin/bash
# Copyright 2026 The im2txt Authors. All Rights Reserved.
# Licensed under the Apache License, Version 2.0.
#
# Downloads MSCOCO 2014 (train and val images, caption annotations) and
# converts it into im2txt's sharded TFRecord files and vocabulary.
#
# usage:
#   download_and_preprocess_mscoco.sh DATA_DIR [builder flags...]
#
# DATA_DIR receives train-?????-of-00256, val-?????-of-00004,
# test-?????-of-00008, word_counts.txt and build_report.json; the downloads
# and extracted files go to DATA_DIR/raw-data (about 150 GB in all).
# Extra arguments are passed to the builder (e.g. --num_threads=16).
#
# Environment:
#   MSCOCO_BASE_URL   where zips/ and annotations/ live (default
#                     https://s3.amazonaws.com/images.cocodataset.org, the
#                     MSCOCO bucket over HTTPS; http://images.cocodataset.org
#                     serves the same files without TLS)
#   MSCOCO_CHECKSUMS_FILE   for a mirror with other archives: a file of lines
#                     "FILENAME SIZE MD5" replacing the built-in table of the
#                     MSCOCO 2014 archives; "none" skips the check (warned)
#   IM2TXT_BUILD_MSCOCO_DATA   command that runs the builder (default: the
#                     Bazel runfile, else im2txt-build-mscoco-data, else
#                     python3 -m im2txt.data.build_mscoco_data)
#
# Interrupted downloads resume where they stopped; complete downloads are
# not fetched again. Each archive is checked against its published size and
# MD5 before it is used. Archives are extracted member by member: a member
# that is a symbolic link, an absolute path or leads out of the extraction
# folder (..) stops the script, so no archive can write outside DATA_DIR. A
# failed download or check stops the script before the builder runs, so no
# output is built from partial or foreign data.

set -e -o pipefail

if [ -z "$1" ]; then
  echo "usage: download_and_preprocess_mscoco.sh DATA_DIR [builder flags...]" >&2
  exit 1
fi

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUTPUT_DIR="${1%/}"
shift
SCRATCH_DIR="${OUTPUT_DIR}/raw-data"
BASE_URL="${MSCOCO_BASE_URL:-https://s3.amazonaws.com/images.cocodataset.org}"
BASE_URL="${BASE_URL%/}"

# The MSCOCO 2014 archives: name, size in bytes, MD5.
DEFAULT_CHECKSUMS="train2014.zip 13510573713 0da8c0bd3d6becc4dcb32757491aca88
val2014.zip 6645013297 a3d79f5ed8d289b7a7554ce06a5782b3
annotations_trainval2014.zip 252872794 0a379cfc70b0e71301e0f377548639bd"
CHECKSUMS_FILE="${MSCOCO_CHECKSUMS_FILE:-}"

mkdir -p "${OUTPUT_DIR}" "${SCRATCH_DIR}"
OUTPUT_DIR="$(cd "${OUTPUT_DIR}" && pwd)"
SCRATCH_DIR="${OUTPUT_DIR}/raw-data"

fail() {
  echo "download_and_preprocess_mscoco: error: $*" >&2
  exit 1
}

# Prints "SIZE MD5" of FILENAME from the checksum table, or nothing.
expected_checksum() {
  local table="${DEFAULT_CHECKSUMS}"
  if [ -n "${CHECKSUMS_FILE}" ]; then
    table="$(cat "${CHECKSUMS_FILE}")" \
      || fail "cannot read MSCOCO_CHECKSUMS_FILE=${CHECKSUMS_FILE}"
  fi
  echo "${table}" | awk -v name="$1" '$1 == name {print $2, $3}'
}

# Checks PATH (the download of FILENAME from URL) against the table.
verify() {
  local path="$1" filename="$2" url="$3"
  if ! python3 -c 'import sys, zipfile; sys.exit(not zipfile.is_zipfile(sys.argv[1]))' "${path}"; then
    rm -f "${path}"
    fail "${url} did not give a valid zip archive (deleted the download;" \
      "check MSCOCO_BASE_URL=${BASE_URL} and run again)."
  fi
  if [ "${CHECKSUMS_FILE}" = none ]; then
    echo "Warning: MSCOCO_CHECKSUMS_FILE=none, ${filename} is not checked" >&2
    return 0
  fi
  local expected size md5
  expected="$(expected_checksum "${filename}")"
  [ -n "${expected}" ] || fail "no size and MD5 for ${filename} in the" \
    "checksum table${CHECKSUMS_FILE:+ ${CHECKSUMS_FILE}}"
  size="$(stat -c %s "${path}")"
  if [ "${size}" != "${expected%% *}" ]; then
    rm -f "${path}"
    fail "${url} gave ${size} bytes, not the ${expected%% *} of ${filename}" \
      "(deleted; run again, or set MSCOCO_CHECKSUMS_FILE for a mirror)."
  fi
  echo "Checking the MD5 of ${path}"
  md5="$(md5sum "${path}" | cut -d' ' -f1)"
  if [ "${md5}" != "${expected##* }" ]; then
    rm -f "${path}"
    fail "${url} has MD5 ${md5}, not ${expected##* } of ${filename}" \
      "(deleted; the download is damaged or not the MSCOCO archive)."
  fi
}

# Fetches URL into SCRATCH_DIR/FILENAME, resuming a partial file. A file
# whose checks passed before (FILENAME.ok) is not fetched again.
download() {
  local url="$1" filename="$2"
  local path="${SCRATCH_DIR}/${filename}"
  if [ -f "${path}" ] && [ -f "${path}.ok" ]; then
    echo "Already downloaded: ${path}"
    return 0
  fi
  rm -f "${path}.ok"
  echo "Downloading ${url} to ${path}"
  local status=0
  if command -v wget > /dev/null; then
    wget --no-verbose --tries=3 --continue -O "${path}.part" "${url}" \
      || status=$?
    # wget -c with -O appends; a server without range support restarts.
  elif command -v curl > /dev/null; then
    curl --fail --location --retry 3 --continue-at - -o "${path}.part" \
      "${url}" || status=$?
  else
    fail "neither wget nor curl is installed"
  fi
  if [ "${status}" -ne 0 ]; then
    fail "failed to download ${url} (exit status ${status}). The partial" \
      "file ${path}.part is kept; run the same command again to resume."
  fi
  verify "${path}.part" "${filename}" "${url}"
  mv "${path}.part" "${path}"
  touch "${path}.ok"
}

# Extracts SCRATCH_DIR/FILENAME into SCRATCH_DIR once (marker file).
extract() {
  local filename="$1"
  local marker="${SCRATCH_DIR}/.${filename}.extracted"
  if [ -f "${marker}" ]; then
    return 0
  fi
  echo "Unzipping ${SCRATCH_DIR}/${filename}"
  python3 - "${SCRATCH_DIR}/${filename}" "${SCRATCH_DIR}" <<'PY' \
    || fail "refused or could not unzip ${SCRATCH_DIR}/${filename}"
import os
import stat
import sys
import zipfile

archive, folder = sys.argv[1], os.path.realpath(sys.argv[2])
with zipfile.ZipFile(archive) as z:
  members = z.infolist()
  # Every member is checked before anything is written.
  for info in members:
    name = info.filename
    if stat.S_ISLNK(info.external_attr >> 16):
      sys.exit("%s: member %s is a symbolic link" % (archive, name))
    parts = name.replace("\\", "/").split("/")
    target = os.path.realpath(os.path.join(folder, name))
    if (os.path.isabs(name) or name.startswith(("/", "\\")) or ".." in parts
        or os.path.commonpath([folder, target]) != folder):
      sys.exit("%s: member %s would land outside %s" % (archive, name,
                                                         folder))
  z.extractall(folder, members)
PY
  touch "${marker}"
}

download "${BASE_URL}/zips/train2014.zip" "train2014.zip"
download "${BASE_URL}/zips/val2014.zip" "val2014.zip"
download "${BASE_URL}/annotations/annotations_trainval2014.zip" \
  "annotations_trainval2014.zip"
extract "train2014.zip"
extract "val2014.zip"
extract "annotations_trainval2014.zip"

TRAIN_IMAGE_DIR="${SCRATCH_DIR}/train2014"
VAL_IMAGE_DIR="${SCRATCH_DIR}/val2014"
TRAIN_CAPTIONS_FILE="${SCRATCH_DIR}/annotations/captions_train2014.json"
VAL_CAPTIONS_FILE="${SCRATCH_DIR}/annotations/captions_val2014.json"

# The builder: Bazel's runfile, an explicit command, the console command
# installed by pip, or the module of this checkout.
RUNFILE="${BASH_SOURCE[0]}.runfiles/im2txt/im2txt/build_mscoco_data"
if [ -n "${IM2TXT_BUILD_MSCOCO_DATA}" ]; then
  BUILDER=(${IM2TXT_BUILD_MSCOCO_DATA})
elif [ -x "${RUNFILE}" ]; then
  BUILDER=("${RUNFILE}")
elif command -v im2txt-build-mscoco-data > /dev/null; then
  BUILDER=(im2txt-build-mscoco-data)
else
  export PYTHONPATH="${SCRIPT_DIR}/..${PYTHONPATH:+:${PYTHONPATH}}"
  BUILDER=(python3 -m im2txt.data.build_mscoco_data)
fi

"${BUILDER[@]}" \
  --train_image_dir="${TRAIN_IMAGE_DIR}" \
  --val_image_dir="${VAL_IMAGE_DIR}" \
  --train_captions_file="${TRAIN_CAPTIONS_FILE}" \
  --val_captions_file="${VAL_CAPTIONS_FILE}" \
  --output_dir="${OUTPUT_DIR}" \
  --word_counts_output_file="${OUTPUT_DIR}/word_counts.txt" \
  "$@"
