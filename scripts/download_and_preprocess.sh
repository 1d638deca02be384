#!/bin/bash
# Downloads MSCOCO 2014 into ${MSCOCO_DIR}/raw-data and writes the TFRecord
# shards and word_counts.txt into ${MSCOCO_DIR} (several hours, 150 GB).
set -e -o pipefail
source "$(dirname "$0")/common.sh"
exec bash "${IM2TXT_ROOT}/data/download_and_preprocess_mscoco.sh" \
  "${MSCOCO_DIR}" "$@"
