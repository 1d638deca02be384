#!/bin/bash
# Evaluates each new checkpoint in ${MODEL_DIR}/train on the val split, in a
# loop beside training; add --eval_on_cpu to leave the GPU to training,
# --run_once to evaluate what is there and exit.
set -e -o pipefail
source "$(dirname "$0")/common.sh"
im2txt_cmd evaluate \
  --input_file_pattern="${MSCOCO_DIR}/val-?????-of-00004" \
  --checkpoint_dir="${MODEL_DIR}/train" \
  --eval_dir="${MODEL_DIR}/eval" \
  "$@"
