"""Caption gallery: page content, escaping, contact sheet, Chromium render."""

import io
import os
import shutil
import subprocess
import tempfile
import unittest

import numpy as np
from PIL import Image

from im2txt.captioning import caption_gallery


def _jpeg(color, size=(160, 120)):
  buf = io.BytesIO()
  Image.new("RGB", size, color).save(buf, "JPEG", quality=95)
  return buf.getvalue()


def _entries():
  return [
      caption_gallery.GalleryEntry(
          image_id=11, name="COCO_val2014_000000000011.jpg",
          encoded_image=_jpeg((230, 20, 20)),
          captions=[("a red square", 0.61), ("a red box <b>", 0.2)],
          references=["a single red square", "a red block & more"]),
      caption_gallery.GalleryEntry(
          image_id=12, name="records", encoded_image=_jpeg((20, 40, 230)),
          captions=[("a blue square", 0.5)], references=[]),
      caption_gallery.GalleryEntry(
          image_id=13, name="broken.jpg", encoded_image=b"not a jpeg",
          captions=[("something", 0.1)], references=[]),
  ]


def _reddish(pixels):
  return np.sum((pixels[..., 0] > 180) & (pixels[..., 1] < 80) &
                (pixels[..., 2] < 80))


def _bluish(pixels):
  return np.sum((pixels[..., 2] > 180) & (pixels[..., 0] < 80) &
                (pixels[..., 1] < 100))


def _dark(pixels):
  return np.sum(pixels.max(axis=-1) < 90)


class CaptionGalleryTest(unittest.TestCase):

  def setUp(self):
    self.dir = tempfile.mkdtemp()
    self.addCleanup(shutil.rmtree, self.dir)

  def testPageShowsCaptionsProbabilitiesAndReferencesEscaped(self):
    index = caption_gallery.write_gallery(self.dir, _entries(), title="Demo")
    with open(index, encoding="utf-8") as f:
      page = f.read()
    self.assertIn("a red square <span class=\"p\">(p=0.6100)</span>", page)
    self.assertIn("a red box &lt;b&gt;", page)
    self.assertNotIn("<b>", page)
    self.assertIn("a red block &amp; more", page)
    self.assertIn("3 images, 1 with reference captions.", page)
    # Captions in beam order, image files beside the page.
    self.assertLess(page.index("a red square"), page.index("a red box"))
    for image_id in (11, 12, 13):
      self.assertIn('src="images/%d.jpg"' % image_id, page)
    with open(os.path.join(self.dir, "images", "11.jpg"), "rb") as f:
      self.assertEqual(f.read(), _entries()[0].encoded_image)
    self.assertNotIn("http", page)  # Nothing loaded from the network.

  def testContactSheetHasEveryImageAndText(self):
    caption_gallery.write_gallery(self.dir, _entries())
    sheet = np.asarray(Image.open(
        os.path.join(self.dir, "contact_sheet.png")).convert("RGB"))
    self.assertEqual(sheet.shape[1], 3 * 300)  # Three cells in one row.
    # The red and blue images are pasted (thumbnail 224 wide: 224 x 168).
    self.assertGreater(_reddish(sheet[:, :300]), 224 * 168 * 0.9)
    self.assertGreater(_bluish(sheet[:, 300:600]), 224 * 168 * 0.9)
    self.assertEqual(_bluish(sheet[:, :300]), 0)
    # Caption text under each image.
    self.assertGreater(_dark(sheet[200:, :300]), 100)
    # The broken image gets a red "not an image" frame, not a crash.
    self.assertGreater(_reddish(sheet[:, 600:]), 200)

  def testChromiumRendersThePage(self):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
      self.fail("chromium is not installed: run scripts/install_system_deps.sh")
    index = caption_gallery.write_gallery(self.dir, _entries())
    screenshot = os.path.join(self.dir, "screenshot.png")
    profile = tempfile.mkdtemp()
    self.addCleanup(shutil.rmtree, profile, True)
    subprocess.run([
        chromium, "--headless", "--no-sandbox", "--disable-gpu",
        "--disable-dev-shm-usage", "--disable-background-networking",
        "--no-first-run", "--hide-scrollbars", "--user-data-dir=" + profile,
        "--window-size=1200,900", "--screenshot=" + screenshot,
        "file://" + index], check=True, capture_output=True, timeout=120)
    pixels = np.asarray(Image.open(screenshot).convert("RGB"))
    self.assertEqual(pixels.shape[:2], (900, 1200))
    # Not blank: the two images were loaded and drawn, and text was laid out.
    self.assertGreater(_reddish(pixels), 160 * 120 * 0.8)
    self.assertGreater(_bluish(pixels), 160 * 120 * 0.8)
    self.assertGreater(_dark(pixels), 500)
    dom = subprocess.run([
        chromium, "--headless", "--no-sandbox", "--disable-gpu",
        "--disable-dev-shm-usage", "--disable-background-networking",
        "--no-first-run", "--user-data-dir=" + profile, "--dump-dom",
        "file://" + index], check=True, capture_output=True, text=True,
                         timeout=120).stdout
    self.assertEqual(dom.count('class="card"'), 3)
    self.assertIn("a blue square", dom)


if __name__ == "__main__":
  unittest.main()
