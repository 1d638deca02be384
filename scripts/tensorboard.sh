#!/bin/bash
# TensorBoard over ${MODEL_DIR}: training summaries (train/) and perplexity
# (eval/) side by side.
set -e -o pipefail
source "$(dirname "$0")/common.sh"
exec tensorboard --logdir="${MODEL_DIR}" "$@"
