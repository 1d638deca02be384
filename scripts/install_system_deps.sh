#!/bin/bash
# Installs the Debian packages a job needs, when missing.
#   install_system_deps.sh demo   a Java runtime (the caption metrics' PTB
#                                 tokenizer and METEOR are Java programs)
#   install_system_deps.sh test   (default) that, plus bazel-bootstrap and
#                                 bazel-rules-java (offline Bazel build),
#                                 unzip and wget (download script) and
#                                 chromium (caption gallery rendering test)
set -e -o pipefail
mode="${1:-test}"

missing=()
command -v java > /dev/null || missing+=(default-jre-headless)
if [ "${mode}" = test ]; then
  command -v bazel > /dev/null || missing+=(bazel-bootstrap)
  [ -d /usr/share/bazel/rules/java ] || missing+=(bazel-rules-java)
  command -v unzip > /dev/null || missing+=(unzip)
  command -v wget > /dev/null || missing+=(wget)
  command -v chromium > /dev/null || missing+=(chromium)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo > /dev/null || {
    echo "Please install these Debian packages as root: ${missing[*]}" >&2
    exit 1
  }
  SUDO=sudo
fi
echo "Installing Debian packages: ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" \
  > /dev/null
