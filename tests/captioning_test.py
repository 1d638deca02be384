"""The captioning library's pieces without a model: image sources, batching
with the one-by-one fallback, caption text and the results format."""

import io
import os
import tempfile
import threading

from PIL import Image

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import
import tensorflow.compat.v1 as tf

from im2txt.captioning import captioner
from im2txt.inference_utils import caption_generator
from tests import testing_utils


class FakeVocab(object):
  end_id = 1

  def id_to_word(self, i):
    return "w%d" % i


class FakeGenerator(object):
  """Captions b"<n>" as [0, n, 1]; b"bad" fails the batch it is in."""

  def __init__(self):
    self.calls = []

  def _captions(self, encoded):
    if encoded == b"bad":
      raise tf.errors.InvalidArgumentError(None, None, "cannot decode")
    n = int(encoded)
    return [caption_generator.Caption([0, n, 1], None, -0.5, -0.5),
            caption_generator.Caption([0, n + 1], None, -1.0, -1.0)]

  def beam_search(self, unused_sess, encoded):
    self.calls.append(("one", encoded))
    return self._captions(encoded)

  def beam_search_batch(self, unused_sess, encoded_images):
    self.calls.append(("batch", tuple(encoded_images)))
    return [self._captions(e) for e in encoded_images]


class FakeEncoder(object):
  """feed_images of FakeGenerator's images: their numbers as states;
  b"bad" fails the batch. Encoding the second batch sets `second`."""

  def __init__(self, calls):
    self.calls = calls
    self.second = threading.Event()

  def feed_images(self, unused_sess, encoded_images):
    self.calls.append(("encode", tuple(encoded_images)))
    if len(self.calls) > 1:
      self.second.set()
    if b"bad" in encoded_images:
      raise tf.errors.InvalidArgumentError(None, None, "cannot decode")
    return [int(e) for e in encoded_images]


class FakeEncodingGenerator(FakeGenerator):
  """FakeGenerator whose model encodes batches: batches are searched from
  their states (beam_search_states), as CaptionGenerator does."""

  def __init__(self):
    super().__init__()
    self.model = FakeEncoder(self.calls)
    self.overlapped = []

  def beam_search_states(self, unused_sess, states):
    # The next batch is encoded while this one is searched.
    self.overlapped.append(self.model.second.wait(timeout=30))
    self.calls.append(("states", tuple(states)))
    return [self._captions(b"%d" % n) for n in states]


class CaptioningTest(tf.test.TestCase):

  def testImageFilesWithIdsAndUnmatchedPatterns(self):
    folder = tempfile.mkdtemp()
    for name in ("COCO_val2014_000000224477.jpg", "img_5.jpg", "x.png"):
      with open(os.path.join(folder, name), "wb") as f:
        f.write(name.encode())
    items, unmatched = captioner.image_files_with_ids(
        os.path.join(folder, "*.jpg") + ",," + os.path.join(folder, "no*"))
    self.assertEqual(sorted(i for i, _ in items), [5, 224477])
    self.assertEqual(unmatched, [os.path.join(folder, "no*")])
    with self.assertRaisesRegex(ValueError, "x.png: no image id"):
      captioner.image_files_with_ids(os.path.join(folder, "x.png"))
    failures = []
    read = list(captioner.read_image_files(
        [os.path.join(folder, "img_5.jpg"), os.path.join(folder, "gone.jpg")],
        failures))
    self.assertEqual(read, [(os.path.join(folder, "img_5.jpg"), b"img_5.jpg")])
    self.assertEqual([f for f, _ in failures],
                     [os.path.join(folder, "gone.jpg")])
    self.assertIn("cannot read file", failures[0][1])

  def testIdCollisionsHugeImagesAndNonRegularFiles(self):
    folder = tempfile.mkdtemp()
    for name in ("img_5.jpg", "img_000005.jpg", "img_6.jpg"):
      with open(os.path.join(folder, name), "wb") as f:
        f.write(b"x")
    with self.assertRaisesRegex(ValueError, r"img_0*5.jpg and .*img_0*5.jpg "
                                r"both give image id 5"):
      captioner.image_files_with_ids(os.path.join(folder, "img_*.jpg"))
    one = os.path.join(folder, "img_6.jpg")
    items, _ = captioner.image_files_with_ids(one + "," + one)
    self.assertEqual(items, [(6, one)])
    # A JPEG whose header claims 20000 x 20000 pixels, and a directory.
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "JPEG")
    data = bytearray(buffer.getvalue())
    sof = data.find(b"\xff\xc0")
    data[sof + 5:sof + 9] = (20000).to_bytes(2, "big") * 2
    huge = os.path.join(folder, "huge.jpg")
    with open(huge, "wb") as f:
      f.write(bytes(data))
    os.makedirs(os.path.join(folder, "dir.jpg"))
    failures = []
    self.assertEqual(list(captioner.read_image_files(
        [huge, os.path.join(folder, "dir.jpg")], failures)), [])
    self.assertEqual(failures[0][0], huge)
    self.assertIn("image too large (400000000 pixels, more than the limit",
                  failures[0][1])
    self.assertEqual(failures[1][1],
                     "cannot read file (a directory, not an image file)")

  def testABadImageFailsAloneAndOrderIsKept(self):
    generator = FakeGenerator()
    items = [b"3", b"4", b"bad", b"6", b"7"]
    out = list(captioner.beam_search_in_batches(None, generator, items, 2,
                                                 lambda x: x))
    self.assertEqual([item for item, _ in out], items)
    self.assertIsNone(out[2][1])
    self.assertEqual([c[0].sentence for _, c in out if c],
                     [[0, 3, 1], [0, 4, 1], [0, 6, 1], [0, 7, 1]])
    # Batches of 2; the failed batch is redone one by one; the last image
    # alone goes the original one-image way.
    self.assertEqual(generator.calls, [
        ("batch", (b"3", b"4")), ("batch", (b"bad", b"6")), ("one", b"bad"),
        ("one", b"6"), ("one", b"7")])

  def testTheNextBatchIsEncodedWhileOneIsSearched(self):
    generator = FakeEncodingGenerator()
    items = [b"3", b"4", b"bad", b"6", b"7", b"8", b"9"]
    out = list(captioner.beam_search_in_batches(None, generator, items, 2,
                                                 lambda x: x))
    self.assertEqual([item for item, _ in out], items)
    self.assertIsNone(out[2][1])
    self.assertEqual([c[0].sentence for _, c in out if c],
                     [[0, n, 1] for n in (3, 4, 6, 7, 8, 9)])
    # The first batch was searched while the second was being encoded.
    self.assertTrue(generator.overlapped[0])
    calls = generator.calls
    self.assertLess(calls.index(("encode", (b"bad", b"6"))),
                    calls.index(("states", (3, 4))))
    # The failed batch is redone one image at a time; the others are
    # searched from their states, in order.
    self.assertEqual([c for c in calls if c[0] != "encode"], [
        ("states", (3, 4)), ("one", b"bad"), ("one", b"6"),
        ("states", (7, 8)), ("one", b"9")])
    self.assertEqual([c for c in calls if c[0] == "encode"], [
        ("encode", (b"3", b"4")), ("encode", (b"bad", b"6")),
        ("encode", (b"7", b"8"))])

  def testCaptionTextAndResultsFormat(self):
    vocab = FakeVocab()
    complete = caption_generator.Caption([0, 5, 6, 1], None, -1.0, -1.0)
    self.assertEqual(captioner.caption_words(complete, vocab), ["w5", "w6"])
    self.assertEqual(captioner.format_captions("x.jpg", [complete], vocab),
                     ["Captions for image x.jpg:", "  0) w5 w6 (p=0.367879)"])
    results, top_k, failures = captioner.caption_all(
        None, FakeGenerator(), vocab,
        [(10, b"3", "a.jpg"), (11, b"bad", "b.jpg")], batch_size=4)
    self.assertEqual(results, [{"image_id": 10, "caption": "w3"}])
    self.assertEqual(top_k[0]["image_id"], 10)
    self.assertEqual([c["caption"] for c in top_k[0]["captions"]],
                     ["w3", "w4"])
    self.assertAlmostEqual(top_k[0]["captions"][0]["p"], 0.60653066)
    self.assertEqual(failures,
                     [("b.jpg", "image 11 is not a decodable JPEG")])


class BatchSizeFlagTest(tf.test.TestCase):

  def testBatchSizeBelowOneIsRefusedByEveryBinaryThatTakesIt(self):
    # Refused while the flags are parsed, before any model or input is read
    # (none of these paths exists).
    for module in ("im2txt.run_inference", "im2txt.caption_images",
                   "im2txt.cache_features"):
      for value in ("0", "-3"):
        result = testing_utils.run_module(module, [
            "--batch_size=" + value, "--checkpoint_path=/no/such/ckpt",
            "--input_file_pattern=/no/such/records-*",
            "--input_files=/no/such/a.jpg", "--output_file=/no/such/out",
            "--output_dir=/no/such/dir", "--vocab_file=/no/such/vocab"],
                                          check=False)
        self.assertEqual(result.returncode, 1, (module, value))
        self.assertIn("--batch_size=%s" % value, result.stderr, module)
        self.assertIn("is not a positive integer", result.stderr, module)


if __name__ == "__main__":
  tf.test.main()
