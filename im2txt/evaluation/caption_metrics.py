# Copyright 2026 The im2txt Authors. All Rights Reserved.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
# ==============================================================================
"""MSCOCO caption evaluation metrics: BLEU, METEOR, ROUGE-L, CIDEr.

Scores a results file in the MSCOCO results format,

  [{"image_id": 42, "caption": "a man riding a wave on a surfboard"}, ...]

against reference captions, with the scorers of ``pycocoevalcap`` (the
packaged coco-caption code) exactly as its ``COCOEvalCap`` runs them: both
sides go through its PTB tokenizer, then BLEU-1..4, METEOR, ROUGE-L and
CIDEr are computed over all images of the results file. The tokenizer and
METEOR run Java programs shipped in the package (``java`` must be on PATH).

References come from an MSCOCO captions JSON file or from the records of a
split (each record's ``image/caption`` tokens without the start and end
words). SPICE is not offered: it downloads Stanford CoreNLP models on first
use, which an offline machine cannot do; asking for it is a clear error.
"""

import collections
import contextlib
import io
import json
import re
import shutil
import threading

import im2txt  # noqa: F401  pylint: disable=unused-import

import tensorflow.compat.v1 as tf

from im2txt.data import build_manifest
from im2txt.data import records
from im2txt.data import schema
from im2txt.data import tokenizers

METRICS = ("Bleu_1", "Bleu_2", "Bleu_3", "Bleu_4", "METEOR", "ROUGE_L",
           "CIDEr")


class MetricsError(ValueError):
  """Results or references cannot be scored; the message says why."""


def load_results(results_file):
  """Reads an MSCOCO results file.

  Returns:
    A dict image_id -> caption.

  Raises:
    MetricsError: If the file is not a list of {"image_id", "caption"}
      objects with one caption per image.
  """
  try:
    with tf.gfile.GFile(results_file, "rb") as f:
      data = json.loads(f.read().decode("utf-8"))
  except tf.errors.NotFoundError:
    raise MetricsError("%s: results file not found" % results_file)
  except ValueError as e:
    raise MetricsError("%s: not valid JSON (%s)" % (results_file, e))
  if not isinstance(data, list):
    raise MetricsError("%s: expected a JSON list of {\"image_id\", "
                       "\"caption\"} objects" % results_file)
  results = {}
  for i, item in enumerate(data):
    if (not isinstance(item, dict) or not isinstance(item.get("image_id"), int)
        or not isinstance(item.get("caption"), str)):
      raise MetricsError("%s: item %d needs an integer image_id and a string "
                         "caption, got %.200r" % (results_file, i, item))
    if item["image_id"] in results:
      raise MetricsError("%s: image_id %d has more than one caption"
                         % (results_file, item["image_id"]))
    results[item["image_id"]] = item["caption"]
  return results


def references_from_captions_json(captions_file):
  """Returns image_id -> [captions] from an MSCOCO captions JSON file."""
  try:
    with tf.gfile.GFile(captions_file, "rb") as f:
      data = json.loads(f.read().decode("utf-8"))
    annotations = data["annotations"]
  except tf.errors.NotFoundError:
    raise MetricsError("%s: captions file not found" % captions_file)
  except (ValueError, KeyError, TypeError) as e:
    raise MetricsError("%s: not an MSCOCO captions file (%s)"
                       % (captions_file, e))
  references = collections.defaultdict(list)
  for annotation in annotations:
    references[annotation["image_id"]].append(annotation["caption"])
  return dict(references)


def references_from_records(file_pattern, start_word=schema.START_WORD,
                            end_word=schema.END_WORD):
  """Returns image_id -> [captions] from the records of a split.

  Raises:
    MetricsError: If a record file cannot be read (named, with the record).
  """
  from im2txt.ops import inputs  # pylint: disable=g-import-not-at-top
  references = collections.defaultdict(list)
  try:
    for path in inputs.match_input_files(file_pattern):
      for record in records.read_sequence_examples(path):
        words = [w for w in record["caption"]
                 if w not in (start_word, end_word)]
        references[record["image_id"]].append(" ".join(words))
  except records.RecordReadError as e:
    raise MetricsError(str(e))
  return dict(references)


def scoring_tokenizer(file_pattern, model_config=None, model_source=""):
  """The tokenizers.Tokenizer that cut the captions being scored: the one
  the builder recorded beside the records of `file_pattern` (checked
  against model_config's when both are there), else model_config's, else
  the original's. Its `scored_on_tokens` is score()'s `on_tokens`.

  Raises:
    tokenizers.TokenizerMismatchError: If the model was trained on captions
      cut another way than the records'.
  """
  from im2txt.ops import inputs  # pylint: disable=g-import-not-at-top
  recorded = None
  if file_pattern:
    recorded = build_manifest.recorded_tokenizer(
        inputs.match_input_files(file_pattern)[0])
  if model_config is None:
    return recorded or tokenizers.Tokenizer()
  model_tokenizer = tokenizers.from_description(model_config.to_dict(),
                                                model_source)
  if recorded is not None:
    tokenizers.check_same(model_tokenizer, model_source, recorded,
                          "the records %s" % file_pattern)
  return model_tokenizer


def describe_scoring(tokenizer):
  """A line for reports: how the captions' words were compared."""
  if tokenizer.scored_on_tokens:
    return ("scored on the words of the %s tokenizer, not re-cut by "
            "coco-caption's PTB tokenizer" % tokenizer.name)
  return "scored after coco-caption's PTB tokenizer"


# One METEOR scorer per process: starting it (a Java program loading its
# paraphrase tables) takes seconds, which the evaluator would pay at every
# checkpoint; its scores are stateless (each EVAL line carries its own
# statistics), so it is reused, and replaced if its process ended or a call
# failed halfway.
_meteor = None
_meteor_lock = threading.Lock()


def _shared_meteor(meteor_class):
  global _meteor  # pylint: disable=global-statement
  with _meteor_lock:
    if _meteor is None or _meteor.meteor_p.poll() is not None:
      _meteor = meteor_class()
    return _meteor


def start_meteor():
  """Starts the shared METEOR scorer now (a process that scores many
  times, such as the evaluator, pays its start-up once, before the first
  checkpoint)."""
  from pycocoevalcap.meteor.meteor import Meteor  # pylint: disable=g-import-not-at-top
  _shared_meteor(Meteor)


def _forget_meteor():
  global _meteor  # pylint: disable=global-statement
  with _meteor_lock:
    _meteor = None


def _scorers(metrics):
  # Imported here: pycocoevalcap is only needed when scoring.
  from pycocoevalcap.bleu.bleu import Bleu  # pylint: disable=g-import-not-at-top
  from pycocoevalcap.cider.cider import Cider  # pylint: disable=g-import-not-at-top
  from pycocoevalcap.meteor.meteor import Meteor  # pylint: disable=g-import-not-at-top
  from pycocoevalcap.rouge.rouge import Rouge  # pylint: disable=g-import-not-at-top
  scorers = []
  if any(m.startswith("Bleu_") for m in metrics):
    scorers.append((Bleu(4), ["Bleu_1", "Bleu_2", "Bleu_3", "Bleu_4"]))
  if "METEOR" in metrics:
    scorers.append((_shared_meteor(Meteor), ["METEOR"]))
  if "ROUGE_L" in metrics:
    scorers.append((Rouge(), ["ROUGE_L"]))
  if "CIDEr" in metrics:
    scorers.append((Cider(), ["CIDEr"]))
  return scorers


def check_metrics(metrics):
  """Validates metric names; returns them as a tuple."""
  metrics = tuple(metrics)
  if "SPICE" in metrics:
    raise MetricsError(
        "SPICE is not available: it downloads Stanford CoreNLP models the "
        "first time it runs, which is impossible offline. Available: %s"
        % ", ".join(METRICS))
  unknown = [m for m in metrics if m not in METRICS]
  if unknown:
    raise MetricsError("Unknown metrics %s; available: %s"
                       % (", ".join(unknown), ", ".join(METRICS)))
  if ("METEOR" in metrics) and shutil.which("java") is None:
    raise MetricsError("METEOR needs java on PATH (apt-get install "
                       "default-jre-headless)")
  return metrics


# Every character that ends a line somewhere: Python's str.splitlines set
# (LF, VT, FF, CR, the file/group/record separators, NEL, LINE SEPARATOR,
# PARAGRAPH SEPARATOR), which covers Unicode's mandatory-break classes (BK,
# CR, LF, NL). pycocoevalcap hands the Java PTB tokenizer one caption per
# line and removes only "\n": any other break inside a caption splits it, and
# every later caption is scored against the previous image's references.
_LINE_BREAKS = re.compile("[\n\x0b\x0c\r\x1c\x1d\x1e\x85\u2028\u2029]")


def one_line(text):
  """`text` with every line or paragraph break replaced by a space."""
  return _LINE_BREAKS.sub(" ", text)


def score(results, references, metrics=METRICS, on_tokens=False):
  """Scores captions against references.

  Line breaks of any kind inside a caption or reference count as spaces
  (one_line).

  Args:
    results: A dict image_id -> caption (one candidate per image).
    references: A dict image_id -> list of reference captions.
    metrics: Names from METRICS.
    on_tokens: Score the space-separated words as they are instead of
      through coco-caption's PTB tokenizer: for captions of the builder's
      whitespace and character tokenizers (other languages). The PTB
      tokenizer would cut them by English rules: it does not split text
      without spaces (Chinese), drops the punctuation it knows, and under a
      Java whose default charset is not UTF-8 loses every character
      outside ASCII.

  Returns:
    A dict metric name -> corpus-level score, for the requested metrics.

  Raises:
    MetricsError: If a captioned image has no references, nothing is to be
      scored, or a metric is unavailable.
  """
  metrics = check_metrics(metrics)
  if not results:
    raise MetricsError("No captions to score.")
  missing = sorted(set(results) - set(references))
  if missing:
    raise MetricsError("%d captioned images have no reference captions (e.g. "
                       "image_id %s)" % (len(missing), missing[:5]))
  ids = sorted(results)
  if on_tokens:
    words = lambda text: " ".join(text.split())
    gts = {i: [words(c) for c in references[i]] for i in ids}
    res = {i: [words(results[i])] for i in ids}
  else:
    if shutil.which("java") is None:
      raise MetricsError("The PTB tokenizer of the caption evaluation needs "
                         "java on PATH (apt-get install "
                         "default-jre-headless)")
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer  # pylint: disable=g-import-not-at-top
    tokenizer = PTBTokenizer()
    gts = tokenizer.tokenize(
        {i: [{"caption": one_line(c)} for c in references[i]] for i in ids})
    res = tokenizer.tokenize({i: [{"caption": one_line(results[i])}]
                              for i in ids})
  scores = {}
  for scorer, names in _scorers(metrics):
    # BLEU prints its n-gram counts to stdout; keep a command's output clean.
    try:
      with contextlib.redirect_stdout(io.StringIO()):
        value, _ = scorer.compute_score(gts, res)
    except Exception:
      if names == ["METEOR"]:
        _forget_meteor()  # Its pipe may hold half an answer.
      raise
    if not isinstance(value, list):
      value = [value]
    for name, v in zip(names, value):
      if name in metrics:
        scores[name] = float(v)
  return scores


def format_table(scores_by_model):
  """Formats {model name: scores} as a Markdown table, one row per model."""
  metrics = [m for m in METRICS
             if any(m in s for s in scores_by_model.values())]
  lines = ["| model | " + " | ".join(metrics) + " |",
           "|---|" + "---|" * len(metrics)]
  for name, scores in scores_by_model.items():
    lines.append("| %s | %s |" % (name, " | ".join(
        "%.3f" % scores[m] if m in scores else "-" for m in metrics)))
  return "\n".join(lines)
