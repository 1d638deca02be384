#!/bin/bash
# Phase 2: fine-tune Inception v3 and the LSTM together, continuing from the
# phase-1 checkpoints in ${MODEL_DIR}/train. --number_of_steps is absolute:
# 3000000 means 2M more steps after a 1M-step phase 1.
set -e -o pipefail
source "$(dirname "$0")/common.sh"
im2txt_cmd train \
  --input_file_pattern="${MSCOCO_DIR}/train-?????-of-00256" \
  --train_dir="${MODEL_DIR}/train" \
  --train_inception=true \
  --number_of_steps=3000000 \
  "$@"
