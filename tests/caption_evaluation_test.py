"""CaptionEvaluator on a small real checkpoint and split: the first N images
are captioned as the captioning library captions them, scored as
caption_metrics scores them, and written to summaries and JSON files."""

import glob
import io
import os
import tempfile

from PIL import Image

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import
import tensorflow.compat.v1 as tf

from im2txt.evaluation import caption_evaluation
from im2txt.evaluation import caption_metrics
from im2txt.captioning import captioner
from im2txt import configuration
from im2txt.data import schema
from im2txt.inference_utils import caption_generator
from im2txt.inference_utils import vocabulary
from tests import testing_utils

WORDS = ["<S>", "</S>", "a", "red", "blue", "square", "circle"]


def _jpeg(color):
  out = io.BytesIO()
  Image.new("RGB", (40, 30), color).save(out, "JPEG")
  return out.getvalue()


class CaptionEvaluationTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.folder = tempfile.mkdtemp()
    cls.config = testing_utils.tiny_model_config(vocab_size=10)
    cls.vocab_file = os.path.join(cls.folder, "word_counts.txt")
    with open(cls.vocab_file, "w") as f:
      f.write("".join("%s 5\n" % w for w in WORDS))
    colors = {1: "red", 2: "blue", 3: "red", 4: "blue"}
    cls.pattern = os.path.join(cls.folder, "val-00000-of-00001")
    with tf.io.TFRecordWriter(cls.pattern) as writer:
      for caption in ("a {} square", "{} circle"):
        for image_id, color in colors.items():
          tokens = ["<S>"] + caption.format(color).split() + ["</S>"]
          writer.write(schema.make_sequence_example(
              image_id, _jpeg(color), tokens,
              [WORDS.index(t) for t in tokens]).SerializeToString())
    # A random model, saved as a checkpoint of step 42.
    graph, _, saver = captioner.build_inference_graph(cls.config)
    with graph.as_default():
      step = tf.Variable(42, name="global_step")
      saver = tf.train.Saver()
      with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        cls.checkpoint = saver.save(
            sess, os.path.join(cls.folder, "model.ckpt"), global_step=step)
    configuration.save_configs(cls.folder, cls.config)

  def testCaptionsScoresSummariesAndFiles(self):
    evaluator = caption_evaluation.CaptionEvaluator(
        self.config, self.vocab_file, self.pattern, num_images=3,
        beam_size=2, max_caption_length=5, metrics=["Bleu_4", "CIDEr"])
    self.assertEqual(evaluator.num_images, 3)
    self.assertEqual(sorted(evaluator.references), [1, 2, 3])
    self.assertEqual(evaluator.references[2], ["a blue square", "blue circle"])

    out = os.path.join(self.folder, "eval")
    os.makedirs(out)
    writer = tf.summary.FileWriter(out)
    scores = evaluator.evaluate(self.checkpoint, 42, writer, out)
    writer.close()

    results = testing_utils.read_json(os.path.join(out, "captions-42.json"))
    self.assertEqual([r["image_id"] for r in results], [1, 2, 3])
    captions = {r["image_id"]: r["caption"] for r in results}
    self.assertEqual(scores, caption_metrics.score(
        captions, evaluator.references, ["Bleu_4", "CIDEr"]))
    self.assertEqual(testing_utils.read_json(
        os.path.join(out, caption_evaluation.METRICS_FILENAME)),
                     {"42": scores})

    # The captions are the captioning library's for the same checkpoint.
    g, model, restore_fn, vocab, _ = captioner.load_model(
        self.checkpoint, self.vocab_file)
    generator = caption_generator.CaptionGenerator(
        model, vocab, beam_size=2, max_caption_length=5)
    with tf.Session(graph=g) as sess:
      restore_fn(sess)
      direct, _, failures = captioner.caption_all(
          sess, generator, vocab, captioner.images_from_records(
              self.pattern), batch_size=2)
    self.assertEqual(failures, [])
    self.assertEqual(direct[:3], results)

    tags = {}
    for path in glob.glob(os.path.join(out, "events.out.tfevents.*")):
      for event in tf.train.summary_iterator(path):
        for value in event.summary.value:
          tags[value.tag] = (event.step, value.simple_value)
    self.assertEqual(tags["caption_metrics/CIDEr"][0], 42)
    self.assertAlmostEqual(tags["caption_metrics/CIDEr"][1], scores["CIDEr"],
                           places=5)
    self.assertIn("caption_metrics/Bleu_4", tags)

  def testVocabularyLargerThanTheModelIsRefused(self):
    big = os.path.join(self.folder, "big_word_counts.txt")
    with open(big, "w") as f:
      f.write("".join("%s 5\n" % w for w in WORDS + ["w%d" % i
                                                      for i in range(70)]))
    with self.assertRaisesRegex(vocabulary.VocabularyMismatchError,
                                "has 78 words .* vocab_size 10"):
      caption_evaluation.CaptionEvaluator(self.config, big, self.pattern, 3)

  def testVocabularyMuchSmallerThanTheModelIsAWarning(self):
    small = testing_utils.tiny_model_config(vocab_size=60)
    with self.assertLogs("tensorflow", "WARNING") as logs:
      caption_evaluation.CaptionEvaluator(small, self.vocab_file,
                                          self.pattern, 3)
    self.assertRegex("\n".join(logs.output), "has 8 words .*, far fewer than "
                     "the model's vocab_size 60")

  def testEmptySplitAndUnknownMetric(self):
    with self.assertRaisesRegex(caption_metrics.MetricsError, "SPICE"):
      caption_evaluation.CaptionEvaluator(self.config, self.vocab_file,
                                          self.pattern, 3, metrics=["SPICE"])
    empty = os.path.join(self.folder, "empty-00000-of-00001")
    with tf.io.TFRecordWriter(empty):
      pass
    with self.assertRaisesRegex(ValueError, "No images in"):
      caption_evaluation.CaptionEvaluator(self.config, self.vocab_file,
                                          empty, 3)


if __name__ == "__main__":
  tf.test.main()
