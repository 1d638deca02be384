#!/bin/bash
# Installs the Debian packages the test suite needs, when missing:
# bazel-bootstrap and bazel-rules-java (offline Bazel build), unzip, wget,
# and a Java runtime (caption metrics).
set -e -o pipefail

missing=()
command -v bazel > /dev/null || missing+=(bazel-bootstrap)
[ -d /usr/share/bazel/rules/java ] || missing+=(bazel-rules-java)
command -v unzip > /dev/null || missing+=(unzip)
command -v wget > /dev/null || missing+=(wget)
# The caption metrics' PTB tokenizer and METEOR are Java programs.
command -v java > /dev/null || missing+=(default-jre-headless)
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
