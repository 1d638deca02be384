"""A model trained on Chinese captions cut into characters: it learns (beats
the image-blind baseline on CIDEr of its words), and its words reach
run_inference, caption_images' results and gallery, and the SavedModel's
vocabulary unchanged."""

import glob
import io
import json
import os
import random
import re
import sys

import numpy as np
import pytest
from PIL import Image

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import
import tensorflow.compat.v1 as tf

from im2txt.data import mscoco_builder
from im2txt.data import tokenizers
from im2txt.evaluation import caption_metrics
from im2txt.serving import saved_model_export
from im2txt.serving import servable as servable_lib
from im2txt import blind_baseline
from tests import testing_utils

# One caption pair per colour (and pattern): the image decides the caption.
CAPTIONS = {
    (220, 30, 30): ("一只红色的球在草地上", "红色的球"),
    (30, 180, 30): ("一只绿色的方块在桌子上", "绿色的方块"),
    (40, 40, 220): ("两只蓝色的鸟在天空中", "蓝色的鸟"),
}
TRAIN_PER_COLOUR, TEST_PER_COLOUR = 20, 4


def _image(rng, colour, pattern):
  """A 64x48 image of `colour`: plain with a darker square (pattern 0),
  striped (1) or checkered (2), shifted at random."""
  image = Image.new("RGB", (64, 48), colour)
  dark = tuple(c // 3 for c in colour)
  shift = rng.randrange(0, 8)
  for x in range(64):
    for y in range(48):
      if ((pattern == 1 and (y + shift) // 4 % 2) or
          (pattern == 2 and ((x + shift) // 6 + y // 6) % 2)):
        image.putpixel((x, y), dark)
  if pattern == 0:
    x, y = rng.randrange(0, 44), rng.randrange(0, 28)
    image.paste(dark, (x, y, x + 20, y + 20))
  buffer = io.BytesIO()
  image.save(buffer, "JPEG", quality=90)
  return buffer.getvalue()


@pytest.mark.slow
class ChineseCaptionsTest(testing_utils.TinyDataTestCase):

  TRAIN_STEPS = testing_utils.SHARED_TRAIN_STEPS  # Its encoder only.

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    rng = random.Random(7)
    cls.image_dir = os.path.join(cls.root, "images")
    os.makedirs(cls.image_dir)
    lines = []
    cls.test_files = []
    for c, (colour, captions) in enumerate(sorted(CAPTIONS.items())):
      for k in range(TRAIN_PER_COLOUR + TEST_PER_COLOUR):
        name = "%d-%02d.jpg" % (c, k)
        with open(os.path.join(cls.image_dir, name), "wb") as f:
          f.write(_image(rng, colour, c))
        split = "train" if k < TRAIN_PER_COLOUR else "test"
        if split == "test":
          cls.test_files.append(os.path.join(cls.image_dir, name))
        for caption in captions:
          lines.append(json.dumps({"image": name, "caption": caption,
                                   "split": split}, ensure_ascii=False))
    captions_file = os.path.join(cls.root, "zh.jsonl")
    with open(captions_file, "w", encoding="utf-8") as f:
      f.write("\n".join(lines) + "\n")
    cls.data_dir = os.path.join(cls.root, "zh")
    mscoco_builder.build(
        "", "", "", "", cls.data_dir,
        os.path.join(cls.data_dir, "word_counts.txt"), train_shards=1,
        val_shards=1, test_shards=1, num_threads=1, min_word_count=1,
        input_format="jsonl", captions_file=captions_file,
        image_dir=cls.image_dir, tokenizer=tokenizers.Tokenizer("character"))
    cls.vocab_file = os.path.join(cls.data_dir, "word_counts.txt")
    cls.train_pattern = os.path.join(cls.data_dir, "train-00000-of-00001")
    cls.test_pattern = os.path.join(cls.data_dir, "test-00000-of-00001")
    # The tiny model, wider and without dropout (as the demo's), so that
    # it learns the images in a few thousand steps from features.
    cls.zh_config = testing_utils.write_config(
        testing_utils.tiny_model_config(
            embedding_size=64, num_lstm_units=64, batch_size=16,
            lstm_dropout_keep_prob=1.0),
        os.path.join(cls.root, "zh_model.json"))

  def testTrainedOnCharactersItBeatsTheBlindBaselineInItsOwnWords(self):
    train_dir = os.path.join(self.root, "train")
    # Features by the shared tiny model's encoder (a calibrated random
    # Inception v3 at this image size), then phase 1 from them.
    encoder = tf.train.latest_checkpoint(self.train_dir)
    features = os.path.join(self.root, "features")
    testing_utils.run_module("im2txt.cache_features", [
        "--input_file_pattern=" + self.train_pattern, "--output_dir=" +
        features, "--checkpoint_path=" + encoder])
    testing_utils.run_module("im2txt.train", [
        "--features_file_pattern=" + os.path.join(features, "features-*"),
        "--inception_checkpoint_file=" + encoder,
        "--train_dir=" + train_dir, "--model_config_file=" + self.zh_config,
        "--number_of_steps=5000", "--log_every_n_steps=500"])
    # The tokenizer travelled from the builder's manifest through the
    # features' descriptions into model_config.json.
    with open(os.path.join(train_dir, "model_config.json")) as f:
      self.assertEqual(json.load(f)["caption_tokenizer"], "character")

    # run_inference prints the characters as the vocabulary has them.
    result = testing_utils.run_module("im2txt.run_inference", [
        "--checkpoint_path=" + train_dir, "--vocab_file=" + self.vocab_file,
        "--input_files=" + ",".join(self.test_files)])
    best = {os.path.basename(name): caption for name, caption in re.findall(
        r"Captions for image (\S+):\n\s+0\) (.*?) \(p=", result.stdout)}
    self.assertEqual(len(best), len(self.test_files), result.stdout)
    vocabulary = set(self.vocab_words())
    for caption in best.values():
      self.assertTrue(set(caption.split()) <= vocabulary, caption)

    # caption_images: results and gallery in UTF-8.
    results_file = os.path.join(self.root, "results.json")
    gallery = os.path.join(self.root, "gallery")
    testing_utils.run_module("im2txt.caption_images", [
        "--checkpoint_path=" + train_dir, "--vocab_file=" + self.vocab_file,
        "--input_file_pattern=" + self.test_pattern,
        "--output_file=" + results_file, "--gallery_dir=" + gallery])
    with open(results_file, encoding="utf-8") as f:
      results = {r["image_id"]: r["caption"] for r in json.load(f)}
    self.assertEqual(sorted(results.values()), sorted(best.values()))
    pages = "".join(open(p, encoding="utf-8").read()
                    for p in glob.glob(os.path.join(gallery, "*.html")))
    self.assertIn(next(iter(results.values())), pages)

    # The SavedModel's caption signature gives the same words.
    export_dir = os.path.join(self.root, "export")
    saved_model_export.export_saved_model(
        tf.train.latest_checkpoint(train_dir), self.vocab_file, export_dir,
        images_per_batch=4)
    servable = servable_lib.Servable("zh", 1, export_dir)
    self.addCleanup(servable.close)
    images = [open(p, "rb").read() for p in self.test_files[:4]]
    outputs = servable.run("caption", servable.check_inputs(
        "caption", {"images": np.array(images, dtype=object)}))
    self.assertEqual(
        [c.decode("utf-8") for c in outputs["captions"][:, 0]],
        [best[os.path.basename(p)] for p in self.test_files[:4]])

    # Scored on the characters, the model beats the image-blind baseline.
    references = caption_metrics.references_from_records(self.test_pattern)
    tokenizer = caption_metrics.scoring_tokenizer(self.test_pattern)
    self.assertTrue(tokenizer.scored_on_tokens)
    baseline, _, _ = blind_baseline.most_frequent_caption(
        caption_metrics.references_from_records(self.train_pattern))
    metrics = ("Bleu_4", "CIDEr")
    model = caption_metrics.score(results, references, metrics, True)
    blind = caption_metrics.score({i: baseline for i in references},
                                  references, metrics, True)
    print("Chinese, on characters: model %s, image-blind baseline %s; %s"
          % (model, blind, sorted(best.items())))
    self.assertGreater(model["CIDEr"], 2 * blind["CIDEr"])
    self.assertGreater(model["Bleu_4"], blind["Bleu_4"])

  def vocab_words(self):
    with open(self.vocab_file, encoding="utf-8") as f:
      return [line.split()[0] for line in f]


if __name__ == "__main__":
  sys.exit(pytest.main([__file__, "-v"]))
