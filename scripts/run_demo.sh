#!/bin/bash
# The quick-start main job on the built-in demo data, with nothing downloaded:
# demo images -> TFRecords -> phase 1 (images, then cached features) ->
# phase 2 -> perplexity and caption metrics -> captions of the test split,
# a gallery, and the model's BLEU-4 and CIDEr beside an image-blind baseline.
#
# Output under ${DEMO_DIR} (default ./demo_output). Shorter runs (tests):
# DEMO_TRAIN_IMAGES, DEMO_VAL_IMAGES, DEMO_IMAGE_STEPS, DEMO_FEATURE_STEPS,
# DEMO_PHASE2_STEPS, DEMO_NUM_CROPS.
set -e -o pipefail
source "$(dirname "$0")/common.sh"

DEMO_DIR="${DEMO_DIR:-${IM2TXT_ROOT}/demo_output}"
TRAIN_IMAGES="${DEMO_TRAIN_IMAGES:-1200}"
VAL_IMAGES="${DEMO_VAL_IMAGES:-300}"
IMAGE_STEPS="${DEMO_IMAGE_STEPS:-100}"
FEATURE_STEPS="${DEMO_FEATURE_STEPS:-6000}"
PHASE2_STEPS="${DEMO_PHASE2_STEPS:-30}"
NUM_CROPS="${DEMO_NUM_CROPS:-1}"
CONFIG="${IM2TXT_ROOT}/data/demo/model_config.json"
RAW="${DEMO_DIR}/raw-data"
DATA="${DEMO_DIR}/data"
MODEL="${DEMO_DIR}/model"
RESULTS="${DEMO_DIR}/results"
TRAIN_RECORDS="${DATA}/train-?????-of-00004"
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-3}"

LOG="${DEMO_DIR}/demo.log"

stage() { echo; echo "=== [$(date +%H:%M:%S)] $*"; echo "=== $*" >> "${LOG}"; }
start=$(date +%s)
mkdir -p "${DEMO_DIR}"
: > "${LOG}"
# Shows the lines of a TensorFlow log that matter here; all of it is kept
# in ${LOG}.
show() {
  tee -a "${LOG}" | grep -E "^(INFO:tensorflow:)?($1)|Error|error:|ERROR" \
    | sed -e 's/^INFO:tensorflow://' || true
}

stage "1/9 Drawing the demo data set (MSCOCO layout) in ${RAW}"
if [ ! -f "${RAW}/annotations/captions_val2014.json" ]; then
  im2txt_cmd make-demo-data --output_dir="${RAW}" \
    --num_train_images="${TRAIN_IMAGES}" --num_val_images="${VAL_IMAGES}" \
    >> "${LOG}" 2>&1
fi

stage "2/9 Building TFRecords and the vocabulary in ${DATA}"
im2txt_cmd build-mscoco-data \
  --train_image_dir="${RAW}/train2014" --val_image_dir="${RAW}/val2014" \
  --train_captions_file="${RAW}/annotations/captions_train2014.json" \
  --val_captions_file="${RAW}/annotations/captions_val2014.json" \
  --output_dir="${DATA}" --word_counts_output_file="${DATA}/word_counts.txt" \
  --train_shards=4 --val_shards=1 --test_shards=1 --num_threads=2 \
  --parallelism=threads \
  2>> "${LOG}" | grep -E "Finished processing all|skipped|Words in vocabulary"
mkdir -p "${MODEL}" "${RESULTS}"

stage "3/9 Phase 1 on images: ${IMAGE_STEPS} steps, Inception v3 frozen"
im2txt_cmd train --input_file_pattern="${TRAIN_RECORDS}" \
  --train_dir="${MODEL}/train" --model_config_file="${CONFIG}" \
  --train_inception=false --number_of_steps="${IMAGE_STEPS}" \
  --log_every_n_steps=50 2>&1 | show "global step [0-9]+:"

stage "4/9 Caching the frozen encoder's features of the train split"
im2txt_cmd cache-features --input_file_pattern="${TRAIN_RECORDS}" \
  --output_dir="${DATA}/features" --checkpoint_path="${MODEL}/train" \
  --num_crops="${NUM_CROPS}" 2>&1 | show "Feature shards"

stage "5/9 Phase 1 from cached features (to step $((IMAGE_STEPS + FEATURE_STEPS)))"
im2txt_cmd train \
  --features_file_pattern="${DATA}/features/features-train-?????-of-00004" \
  --train_dir="${MODEL}/train" --model_config_file="${CONFIG}" \
  --number_of_steps="$((IMAGE_STEPS + FEATURE_STEPS))" \
  --log_every_n_steps=1000 2>&1 | show "global step [0-9]+:"

TOTAL_STEPS=$((IMAGE_STEPS + FEATURE_STEPS + PHASE2_STEPS))
stage "6/9 Phase 2: fine-tuning Inception v3 too (to step ${TOTAL_STEPS})"
im2txt_cmd train --input_file_pattern="${TRAIN_RECORDS}" \
  --train_dir="${MODEL}/train" --model_config_file="${CONFIG}" \
  --train_inception=true --number_of_steps="${TOTAL_STEPS}" \
  --log_every_n_steps=10 2>&1 | show "global step [0-9]+:"
[ -n "$(ls "${MODEL}"/train/*.index 2>/dev/null)" ] || {
  echo "training wrote no checkpoint" >&2; exit 1; }

stage "7/9 Perplexity and caption metrics of each checkpoint on val"
# Afresh each time: --run_once fails when it evaluates nothing, which a
# re-run of the demo over the same checkpoints would.
rm -rf "${MODEL}/eval"
im2txt_cmd evaluate --input_file_pattern="${DATA}/val-?????-of-00001" \
  --checkpoint_dir="${MODEL}/train" --eval_dir="${MODEL}/eval" \
  --num_eval_examples=200 --min_global_step=1 --run_once \
  --num_caption_eval_images=50 --vocab_file="${DATA}/word_counts.txt" 2>&1 \
  | show "Perplexity =|Caption metrics at"

stage "8/9 Captions of the held-out test split, gallery, metrics vs baseline"
im2txt_cmd caption-images --checkpoint_path="${MODEL}/train" \
  --vocab_file="${DATA}/word_counts.txt" \
  --input_file_pattern="${DATA}/test-?????-of-00001" \
  --output_file="${RESULTS}/test_captions.json" \
  --top_k_file="${RESULTS}/test_top_k.json" \
  --gallery_dir="${RESULTS}/gallery" 2>&1 | show "Wrote|Captioned"
im2txt_cmd blind-baseline --train_file_pattern="${TRAIN_RECORDS}" \
  --input_file_pattern="${DATA}/test-?????-of-00001" \
  --output_file="${RESULTS}/baseline_captions.json" 2>> "${LOG}"
im2txt_cmd score-captions \
  --results_file="${RESULTS}/test_captions.json,${RESULTS}/baseline_captions.json" \
  --reference_file_pattern="${DATA}/test-?????-of-00001" \
  --output_file="${RESULTS}/test_metrics.json" 2>> "${LOG}"
python3 - "${RESULTS}/test_metrics.json" <<'PY'
import json, sys
model, baseline = json.load(open(sys.argv[1]))["models"]
print()
for name, label in (("Bleu_4", "BLEU-4"), ("CIDEr", "CIDEr")):
  print("%-7s model %.3f   image-blind baseline %.3f" % (
      label, model["scores"][name], baseline["scores"][name]))
PY

stage "9/9 Captions of three test images with run_inference"
images=$(python3 - "${RAW}" <<'PY'
import json, os, sys
raw = sys.argv[1]
data = json.load(open(os.path.join(raw, "annotations", "captions_val2014.json")))
test = data["images"][int(0.9 * len(data["images"])):][:3]
print(",".join(os.path.join(raw, "val2014", x["file_name"]) for x in test))
PY
)
im2txt_cmd run-inference --checkpoint_path="${MODEL}/train" \
  --vocab_file="${DATA}/word_counts.txt" --input_files="${images}" 2>> "${LOG}"

echo
echo "Done in $(( $(date +%s) - start )) s."
echo "Gallery: ${RESULTS}/gallery/index.html (and contact_sheet.png)"
echo "TensorBoard: tensorboard --logdir=${MODEL}"
echo "Full log: ${LOG}"
