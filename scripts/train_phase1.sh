#!/bin/bash
# Phase 1: train the embedding and LSTM with Inception v3 frozen
# (1M steps: 1-2 weeks on one GPU). Extra flags are passed to train.
set -e -o pipefail
source "$(dirname "$0")/common.sh"
im2txt_cmd train \
  --input_file_pattern="${MSCOCO_DIR}/train-?????-of-00256" \
  --inception_checkpoint_file="${INCEPTION_CHECKPOINT}" \
  --train_dir="${MODEL_DIR}/train" \
  --train_inception=false \
  --number_of_steps=1000000 \
  "$@"
