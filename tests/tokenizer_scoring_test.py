"""The tokenizer recorded by the builder travels to training's
model_config.json and decides how captions are scored; mismatches are
refused by name."""

import json
import os
import shutil
import tempfile
import unittest

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import

from im2txt import configuration
from im2txt.data import mscoco_builder
from im2txt.data import tokenizers
from im2txt.evaluation import caption_metrics
from im2txt.training import builder
from im2txt.training import preflight
from tests.data import builder_testing


def _build_jsonl(root, name, tokenizer):
  """A two-image Chinese data set built with `tokenizer`; returns the
  train records' pattern."""
  image_dir = os.path.join(root, "images")
  os.makedirs(image_dir, exist_ok=True)
  for image in ("a.jpg", "b.jpg"):
    with open(os.path.join(image_dir, image), "wb") as f:
      f.write(builder_testing.jpeg_bytes())
  captions = os.path.join(root, name + ".jsonl")
  with open(captions, "w", encoding="utf-8") as f:
    for image, caption in (("a.jpg", "红色的猫"), ("b.jpg", "蓝色的狗")):
      f.write(json.dumps({"image": image, "caption": caption,
                          "split": "train"}, ensure_ascii=False) + "\n")
  output_dir = os.path.join(root, name)
  mscoco_builder.build(
      "", "", "", "", output_dir, os.path.join(output_dir, "word_counts.txt"),
      train_shards=1, val_shards=1, test_shards=1, num_threads=1,
      min_word_count=1, input_format="jsonl", captions_file=captions,
      image_dir=image_dir, tokenizer=tokenizer)
  return os.path.join(output_dir, "train-?????-of-00001")


class TokenizerScoringTest(unittest.TestCase):

  @classmethod
  def setUpClass(cls):
    cls.root = tempfile.mkdtemp()
    cls.character = _build_jsonl(cls.root, "character",
                                 tokenizers.Tokenizer("character"))
    cls.nltk = _build_jsonl(cls.root, "nltk", tokenizers.Tokenizer())

  @classmethod
  def tearDownClass(cls):
    shutil.rmtree(cls.root)

  def testTrainAdoptsTheRecordsTokenizerAndRefusesAnotherOne(self):
    config = configuration.ModelConfig()
    adopted = preflight.adopt_data_tokenizer(config, self.character)
    self.assertEqual(adopted, tokenizers.Tokenizer("character"))
    self.assertEqual((config.caption_tokenizer, config.caption_lowercase,
                      config.caption_normalization),
                     ("character", True, "NFC"))
    # model_config.json carries it.
    saved = json.loads(config.to_json_string())
    self.assertEqual(saved["caption_tokenizer"], "character")
    # A config that names another tokenizer than the records'.
    config = configuration.ModelConfig()
    config.caption_tokenizer = "whitespace"
    with self.assertRaisesRegex(
        tokenizers.TokenizerMismatchError,
        r"The model config was trained on captions cut by the whitespace "
        r"tokenizer \(lowercase: True\), but the records .*character/train"
        r"-\?\?\?\?\?-of-00001 were cut by the character tokenizer"):
      preflight.adopt_data_tokenizer(config, self.character)
    # Resuming a character model's train_dir with nltk records.
    train_dir = tempfile.mkdtemp(dir=self.root)
    character_config = configuration.ModelConfig()
    preflight.adopt_data_tokenizer(character_config, self.character)
    configuration.save_configs(train_dir, character_config)
    nltk_config = configuration.ModelConfig()
    preflight.adopt_data_tokenizer(nltk_config, self.nltk)
    with self.assertRaisesRegex(tokenizers.TokenizerMismatchError,
                                "The model in %s was trained on captions "
                                "cut by the character tokenizer" % train_dir):
      builder.check_train_dir(train_dir, nltk_config)
    # Training from feature shards without a recorded tokenizer keeps
    # train_dir's.
    shard = os.path.join(self.root, "features-train-00000-of-00001")
    open(shard, "w").close()
    features_config = configuration.ModelConfig()
    preflight.adopt_features_tokenizer(features_config, shard, train_dir)
    self.assertEqual(features_config.caption_tokenizer, "character")

  def testScoringUsesTheRecordsTokenizer(self):
    config = configuration.ModelConfig()
    with self.assertRaisesRegex(tokenizers.TokenizerMismatchError,
                                "The evaluated model was trained on captions "
                                "cut by the nltk tokenizer"):
      caption_metrics.scoring_tokenizer(self.character, config,
                                        "The evaluated model")
    preflight.adopt_data_tokenizer(config, self.character)
    tokenizer = caption_metrics.scoring_tokenizer(self.character, config,
                                                  "The evaluated model")
    self.assertTrue(tokenizer.scored_on_tokens)
    self.assertIn("words of the character tokenizer",
                  caption_metrics.describe_scoring(tokenizer))
    self.assertFalse(
        caption_metrics.scoring_tokenizer(self.nltk).scored_on_tokens)

  def testChineseIsScoredOnItsWords(self):
    references = caption_metrics.references_from_records(self.character)
    self.assertEqual(sorted(references.values()),
                     [["红 色 的 猫"], ["蓝 色 的 狗"]])
    right = {i: refs[0] for i, refs in references.items()}
    swapped = dict(zip(sorted(right), [right[i] for i in
                                       sorted(right, reverse=True)]))
    metrics = ("Bleu_1", "Bleu_4", "CIDEr")
    good = caption_metrics.score(right, references, metrics, on_tokens=True)
    bad = caption_metrics.score(swapped, references, metrics,
                                on_tokens=True)
    self.assertAlmostEqual(good["Bleu_4"], 1.0, places=5)
    self.assertAlmostEqual(bad["Bleu_1"], 0.5, places=5)
    self.assertGreater(good["CIDEr"], bad["CIDEr"])


if __name__ == "__main__":
  unittest.main()
