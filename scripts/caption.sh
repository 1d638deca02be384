#!/bin/bash
# Captions JPEG files with the latest checkpoint:
#   scripts/caption.sh path/to/image.jpg [more.jpg ...]
set -e -o pipefail
source "$(dirname "$0")/common.sh"
if [ $# -eq 0 ]; then
  echo "usage: scripts/caption.sh IMAGE.jpg [IMAGE.jpg ...]" >&2
  exit 1
fi
files="$(IFS=,; echo "$*")"
im2txt_cmd run-inference \
  --checkpoint_path="${MODEL_DIR}/train" \
  --vocab_file="${MSCOCO_DIR}/word_counts.txt" \
  --input_files="${files}"
