#!/bin/bash
# Phase 1 on a local cluster: 1 parameter server and 2 workers as separate
# processes on 127.0.0.1 (free ports), all running the train command below.
# Extra flags are passed to every task's train, e.g. --sync_replicas.
# Logs: ${MODEL_DIR}/cluster_logs/<job>-<index>.log.
set -e -o pipefail
source "$(dirname "$0")/common.sh"
im2txt_cmd local-cluster \
  --num_ps="${NUM_PS:-1}" --num_workers="${NUM_WORKERS:-2}" \
  --logs_dir="${MODEL_DIR}/cluster_logs" -- \
  --input_file_pattern="${MSCOCO_DIR}/train-?????-of-00256" \
  --inception_checkpoint_file="${INCEPTION_CHECKPOINT}" \
  --train_dir="${MODEL_DIR}/train" \
  --train_inception=false \
  --number_of_steps=1000000 \
  "$@"
