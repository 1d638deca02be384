# Shared settings of the pipeline scripts (sourced, not run).
#
#   MSCOCO_DIR             preprocessed data (default: ${HOME}/im2txt/data/mscoco)
#   INCEPTION_DIR          Inception v3 checkpoint folder (default: ${HOME}/im2txt/data)
#   INCEPTION_CHECKPOINT   the checkpoint (default: ${INCEPTION_DIR}/inception_v3.ckpt)
#   MODEL_DIR              checkpoints and event files (default: ${HOME}/im2txt/model)
#
# Commands are the pip-installed console scripts when present, else the
# modules of this checkout.

IM2TXT_ROOT="${IM2TXT_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
MSCOCO_DIR="${MSCOCO_DIR:-${HOME}/im2txt/data/mscoco}"
INCEPTION_DIR="${INCEPTION_DIR:-${HOME}/im2txt/data}"
INCEPTION_CHECKPOINT="${INCEPTION_CHECKPOINT:-${INCEPTION_DIR}/inception_v3.ckpt}"
MODEL_DIR="${MODEL_DIR:-${HOME}/im2txt/model}"

# im2txt_cmd NAME ARGS...: runs im2txt-NAME, or python -m for a checkout.
im2txt_cmd() {
  local name="$1"
  shift
  if command -v "im2txt-${name}" > /dev/null; then
    "im2txt-${name}" "$@"
  else
    local module
    case "${name}" in
      build-mscoco-data) module=im2txt.data.build_mscoco_data ;;
      make-demo-data) module=im2txt.data.make_demo_data ;;
      *) module="im2txt.${name//-/_}" ;;
    esac
    PYTHONPATH="${IM2TXT_ROOT}${PYTHONPATH:+:${PYTHONPATH}}" \
      python3 -m "${module}" "$@"
  fi
}
