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
#   MSCOCO_BASE_URL   where zips/ and annotations/ live
#                     (default http://images.cocodataset.org)
#   IM2TXT_BUILD_MSCOCO_DATA   command that runs the builder (default: the
#                     Bazel runfile, else im2txt-build-mscoco-data, else
#                     python3 -m im2txt.data.build_mscoco_data)
#
# Interrupted downloads resume where they stopped; complete downloads are
# not fetched again. A failed download stops the script before the builder
# runs, so no output is built from partial data.

set -e -o pipefail

if [ -z "$1" ]; then
  echo "usage: download_and_preprocess_mscoco.sh DATA_DIR [builder flags...]" >&2
  exit 1
fi

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUTPUT_DIR="${1%/}"
shift
SCRATCH_DIR="${OUTPUT_DIR}/raw-data"
BASE_URL="${MSCOCO_BASE_URL:-http://images.cocodataset.org}"
BASE_URL="${BASE_URL%/}"

mkdir -p "${OUTPUT_DIR}" "${SCRATCH_DIR}"
OUTPUT_DIR="$(cd "${OUTPUT_DIR}" && pwd)"
SCRATCH_DIR="${OUTPUT_DIR}/raw-data"

fail() {
  echo "download_and_preprocess_mscoco: error: $*" >&2
  exit 1
}

# Fetches URL into SCRATCH_DIR/FILENAME, resuming a partial file. A file
# whose archive test passed before (FILENAME.ok) is not fetched again.
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
  if ! unzip -tqq "${path}.part" > /dev/null 2>&1; then
    rm -f "${path}.part"
    fail "${url} did not give a valid zip archive (deleted the download;" \
      "check MSCOCO_BASE_URL=${BASE_URL} and run again)."
  fi
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
  unzip -oq "${SCRATCH_DIR}/${filename}" -d "${SCRATCH_DIR}" \
    || fail "could not unzip ${SCRATCH_DIR}/${filename}"
  touch "${marker}"
}

command -v unzip > /dev/null || fail "unzip is not installed (apt-get install unzip)"

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
