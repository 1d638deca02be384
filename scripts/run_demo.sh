#!/bin/bash
# The quick-start main job on the built-in demo data, with nothing downloaded:
# demo images -> TFRecords -> phase 1 -> phase 2 -> perplexity -> captions.
#
# Output under ${DEMO_DIR} (default ./demo_output). Step counts can be
# shortened for a smoke run: DEMO_PHASE1_STEPS, DEMO_PHASE2_STEPS.
set -e -o pipefail
source "$(dirname "$0")/common.sh"

DEMO_DIR="${DEMO_DIR:-${IM2TXT_ROOT}/demo_output}"
PHASE1_STEPS="${DEMO_PHASE1_STEPS:-3000}"
PHASE2_STEPS="${DEMO_PHASE2_STEPS:-200}"
CONFIG="${IM2TXT_ROOT}/data/demo/model_config.json"
RAW="${DEMO_DIR}/raw-data"
DATA="${DEMO_DIR}/data"
MODEL="${DEMO_DIR}/model"
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"

stage() { echo; echo "=== [$(date +%H:%M:%S)] $*"; }
start=$(date +%s)

stage "1/6 Drawing the demo data set (MSCOCO layout) in ${RAW}"
if [ ! -f "${RAW}/annotations/captions_val2014.json" ]; then
  im2txt_cmd make-demo-data --output_dir="${RAW}" \
    --num_train_images=400 --num_val_images=200
fi

stage "2/6 Building TFRecords and the vocabulary in ${DATA}"
im2txt_cmd build-mscoco-data \
  --train_image_dir="${RAW}/train2014" --val_image_dir="${RAW}/val2014" \
  --train_captions_file="${RAW}/annotations/captions_train2014.json" \
  --val_captions_file="${RAW}/annotations/captions_val2014.json" \
  --output_dir="${DATA}" --word_counts_output_file="${DATA}/word_counts.txt" \
  --train_shards=4 --val_shards=1 --test_shards=1 --num_threads=2 \
  | grep -E "Finished processing all|skipped|Words in vocabulary"

stage "3/6 Phase 1: training the LSTM with Inception v3 frozen (${PHASE1_STEPS} steps)"
im2txt_cmd train --input_file_pattern="${DATA}/train-?????-of-00004" \
  --train_dir="${MODEL}/train" --model_config_file="${CONFIG}" \
  --train_inception=false --number_of_steps="${PHASE1_STEPS}" \
  --log_every_n_steps=250 2>&1 | grep -E "global step [0-9]+:|error" || true

stage "4/6 Phase 2: fine-tuning Inception v3 too (to step $((PHASE1_STEPS + PHASE2_STEPS)))"
im2txt_cmd train --input_file_pattern="${DATA}/train-?????-of-00004" \
  --train_dir="${MODEL}/train" --model_config_file="${CONFIG}" \
  --train_inception=true --number_of_steps="$((PHASE1_STEPS + PHASE2_STEPS))" \
  --log_every_n_steps=50 2>&1 | grep -E "global step [0-9]+:|error" || true
[ -n "$(ls "${MODEL}"/train/*.index 2>/dev/null)" ] || {
  echo "training wrote no checkpoint" >&2; exit 1; }

stage "5/6 Perplexity on the val split"
im2txt_cmd evaluate --input_file_pattern="${DATA}/val-?????-of-00001" \
  --checkpoint_dir="${MODEL}/train" --eval_dir="${MODEL}/eval" \
  --num_eval_examples=50 --min_global_step=1 --run_once 2>&1 \
  | grep -E "Perplexity =" | tail -1

stage "6/6 Captions of three held-out test images (run_inference)"
images=$(python3 - "${RAW}" <<'PY'
import json, os, sys
raw = sys.argv[1]
data = json.load(open(os.path.join(raw, "annotations", "captions_val2014.json")))
test = data["images"][int(0.9 * len(data["images"])):][:3]
print(",".join(os.path.join(raw, "val2014", x["file_name"]) for x in test))
PY
)
im2txt_cmd run-inference --checkpoint_path="${MODEL}/train" \
  --vocab_file="${DATA}/word_counts.txt" --input_files="${images}" 2>/dev/null

echo
echo "Done in $(( $(date +%s) - start )) s. TensorBoard: tensorboard --logdir=${MODEL}"
