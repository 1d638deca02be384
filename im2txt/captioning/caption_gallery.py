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
"""A caption gallery: an HTML page and a PNG contact sheet of captioned images.

For each image the gallery shows the picture, the beam's captions with their
probabilities (best first) and, where known, the reference captions.
write_gallery(output_dir, entries) writes

  output_dir/index.html          the page (open it in any browser)
  output_dir/images/<id>.jpg     the images the page shows
  output_dir/contact_sheet.png   the same content as one picture, for people
                                 without a browser (first MAX_SHEET_IMAGES)

The page has no scripts and loads nothing from the network. Captions and
file names are HTML-escaped.
"""

import collections
import html
import io
import os
import textwrap

from PIL import Image
from PIL import ImageDraw
from PIL import ImageFont

from im2txt.common import file_io

# One image of the gallery: `captions` is a list of (caption, probability),
# best first; `references` a possibly empty list of reference captions;
# `encoded_image` the image file's bytes; `name` where it came from.
GalleryEntry = collections.namedtuple(
    "GalleryEntry", ["image_id", "name", "encoded_image", "captions",
                     "references"])

MAX_SHEET_IMAGES = 48
_SHEET_COLUMNS = 4
_THUMB = 224
_CELL_WIDTH = 300
_WRAP = 42

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: sans-serif; margin: 24px; background: #fafafa;
       color: #222; }}
.grid {{ display: flex; flex-wrap: wrap; gap: 16px; }}
.card {{ width: 300px; background: #fff; border: 1px solid #ddd;
        border-radius: 6px; padding: 10px; }}
.card img {{ max-width: 280px; max-height: 224px; display: block;
            margin: 0 auto 8px; }}
.id {{ color: #777; font-size: 12px; }}
ol {{ padding-left: 20px; margin: 6px 0; }}
.p {{ color: #777; font-size: 12px; }}
.refs {{ color: #555; font-size: 13px; padding-left: 18px; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p>{summary}</p>
<div class="grid">
{cards}
</div>
</body>
</html>
"""


def _image_filename(entry):
  return "%d.jpg" % entry.image_id


def _card(entry):
  esc = html.escape
  lines = ['<div class="card" id="image-%d">' % entry.image_id,
           '<img src="images/%s" alt="image %d">' % (
               esc(_image_filename(entry)), entry.image_id),
           '<div class="id">image %d &middot; %s</div>' % (
               entry.image_id, esc(entry.name)),
           '<ol class="captions">']
  for caption, p in entry.captions:
    lines.append('<li>%s <span class="p">(p=%.4f)</span></li>'
                 % (esc(caption), p))
  lines.append("</ol>")
  if entry.references:
    lines.append('<div>References:</div><ul class="refs">')
    lines.extend("<li>%s</li>" % esc(r) for r in entry.references)
    lines.append("</ul>")
  lines.append("</div>")
  return "\n".join(lines)


def render_html(entries, title="Captions"):
  """Returns the gallery page as a string."""
  with_refs = sum(1 for e in entries if e.references)
  summary = "%d images, %d with reference captions." % (len(entries),
                                                         with_refs)
  return _PAGE.format(title=html.escape(title), summary=summary,
                      cards="\n".join(_card(e) for e in entries))


def _thumbnail(encoded_image):
  """Returns an RGB thumbnail, or None if the bytes are not an image."""
  try:
    image = Image.open(io.BytesIO(encoded_image))
    image = image.convert("RGB")
  except (OSError, ValueError):
    return None
  scale = float(_THUMB) / max(image.size)  # Small images are enlarged too.
  return image.resize((max(1, round(image.size[0] * scale)),
                       max(1, round(image.size[1] * scale))), Image.BICUBIC)


def _font(size):
  try:
    return ImageFont.load_default(size=size)
  except TypeError:  # Pillow < 10.1: one bitmap size only.
    return ImageFont.load_default()


def render_contact_sheet(entries):
  """A PIL image with a cell per entry: picture, captions, references."""
  entries = entries[:MAX_SHEET_IMAGES]
  font = _font(13)
  line_height = 16
  cells = []
  for entry in entries:
    text = []
    for i, (caption, p) in enumerate(entry.captions):
      wrapped = textwrap.wrap("%d) %s (p=%.3f)" % (i + 1, caption, p), _WRAP)
      text.extend(("black", w) for w in wrapped)
    for ref in entry.references[:2]:
      text.extend(("#666666", w) for w in textwrap.wrap("ref: " + ref, _WRAP))
    cells.append((entry, text))
  max_lines = max([len(t) for _, t in cells] + [1])
  cell_height = _THUMB + 28 + max_lines * line_height
  rows = max(1, (len(cells) + _SHEET_COLUMNS - 1) // _SHEET_COLUMNS)
  columns = min(_SHEET_COLUMNS, max(1, len(cells)))
  sheet = Image.new("RGB", (columns * _CELL_WIDTH, rows * cell_height),
                    "white")
  draw = ImageDraw.Draw(sheet)
  for index, (entry, text) in enumerate(cells):
    x = (index % _SHEET_COLUMNS) * _CELL_WIDTH + 8
    y = (index // _SHEET_COLUMNS) * cell_height + 8
    thumb = _thumbnail(entry.encoded_image)
    if thumb is None:
      draw.rectangle((x, y, x + _THUMB, y + _THUMB), outline="red")
      draw.text((x + 8, y + 8), "not an image", fill="red", font=font)
    else:
      sheet.paste(thumb, (x, y))
    draw.text((x, y + _THUMB + 4), "image %d" % entry.image_id,
              fill="#777777", font=font)
    for i, (color, line) in enumerate(text):
      draw.text((x, y + _THUMB + 4 + (i + 1) * line_height), line,
                fill=color, font=font)
  return sheet


def write_gallery(output_dir, entries, title="Captions"):
  """Writes index.html, images/ and contact_sheet.png under output_dir.

  Returns:
    The path of index.html.
  """
  image_dir = os.path.join(output_dir, "images")
  file_io.makedirs(image_dir)
  for entry in entries:
    file_io.write_atomically(os.path.join(image_dir, _image_filename(entry)),
                             entry.encoded_image)
  buf = io.BytesIO()
  render_contact_sheet(entries).save(buf, "PNG")
  file_io.write_atomically(os.path.join(output_dir, "contact_sheet.png"),
                           buf.getvalue())
  index = os.path.join(output_dir, "index.html")
  file_io.write_atomically(index,
                           render_html(entries, title).encode("utf-8"))
  return index
