#!/bin/bash
# Downloads the Inception v3 checkpoint of the TF-Slim model zoo into
# ${INCEPTION_DIR} (yields inception_v3.ckpt). INCEPTION_URL overrides the
# source.
set -e -o pipefail
source "$(dirname "$0")/common.sh"
URL="${INCEPTION_URL:-http://download.tensorflow.org/models/inception_v3_2016_08_28.tar.gz}"
mkdir -p "${INCEPTION_DIR}"
if [ -f "${INCEPTION_DIR}/inception_v3.ckpt" ]; then
  echo "Already present: ${INCEPTION_DIR}/inception_v3.ckpt"
  exit 0
fi
archive="${INCEPTION_DIR}/inception_v3_2016_08_28.tar.gz"
wget --no-verbose --continue -O "${archive}" "${URL}" || {
  echo "error: failed to download ${URL}; run again to resume" >&2
  exit 1
}
tar -xzf "${archive}" -C "${INCEPTION_DIR}"
rm -f "${archive}"
echo "Wrote ${INCEPTION_DIR}/inception_v3.ckpt"
