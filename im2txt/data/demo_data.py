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
"""A small MSCOCO-layout data set of drawn scenes, for a download-free demo.

Each image shows one or two coloured shapes (circle, square, triangle) on a
plain background; each has five captions worded differently (synonyms,
word order, optional background and position phrases), so that a model has
to look at the image to caption it well and the most frequent caption alone
scores poorly. Generation is deterministic for a given seed.

Layout written under the output directory, as MSCOCO lays it out:

  train2014/COCO_train2014_000000000001.jpg ...
  val2014/COCO_val2014_000000100001.jpg ...
  annotations/captions_train2014.json
  annotations/captions_val2014.json

The JSON files have MSCOCO's structure ("info", "licenses", "images" with
id, file_name, width, height, and "annotations" with id, image_id, caption).
"""

import json
import os
import random

from PIL import Image
from PIL import ImageDraw

COLORS = {
    "red": (220, 30, 30),
    "green": (30, 170, 40),
    "blue": (30, 60, 220),
    "yellow": (235, 215, 20),
    "purple": (140, 40, 170),
    "orange": (245, 140, 20),
}
SHAPES = ("circle", "square", "triangle")
# Other words for a shape, used by some captions.
SHAPE_SYNONYMS = {
    "circle": ("circle", "disc", "round shape"),
    "square": ("square", "box", "block"),
    "triangle": ("triangle", "triangle", "pointed shape"),
}
BACKGROUNDS = {
    "white": (245, 245, 245),
    "black": (15, 15, 15),
    "gray": (128, 128, 128),
}
TRAIN_ID_OFFSET = 1
VAL_ID_OFFSET = 100001


def _draw_shape(draw, shape, color, box):
  x0, y0, x1, y1 = box
  if shape == "circle":
    draw.ellipse(box, fill=color)
  elif shape == "square":
    draw.rectangle(box, fill=color)
  else:
    draw.polygon([((x0 + x1) // 2, y0), (x1, y1), (x0, y1)], fill=color)


def _phrase(rng, color, shape):
  return "a %s %s" % (color, rng.choice(SHAPE_SYNONYMS[shape]))


def make_captions(rng, objects, background):
  """Returns five differently worded captions of a scene.

  Args:
    rng: A random.Random.
    objects: List of (color, shape) from left to right (one or two).
    background: Background colour name.
  """
  if len(objects) == 1:
    (color, shape), = objects
    templates = [
        "%s on a %s background" % (_phrase(rng, color, shape), background),
        "a single %s %s" % (color, shape),
        "there is %s in the middle of the picture"
        % _phrase(rng, color, shape),
        "a picture of one %s %s" % (color, rng.choice(SHAPE_SYNONYMS[shape])),
        "%s %s drawn on %s" % (color, shape,
                               "black" if background == "black" else
                               "a plain %s surface" % background),
        "an image showing %s" % _phrase(rng, color, shape),
    ]
  else:
    (c1, s1), (c2, s2) = objects
    templates = [
        "%s and %s" % (_phrase(rng, c1, s1), _phrase(rng, c2, s2)),
        "%s to the left of a %s %s" % (_phrase(rng, c1, s1), c2, s2),
        "%s to the right of a %s %s" % (_phrase(rng, c2, s2), c1, s1),
        "two shapes : %s and %s" % (_phrase(rng, c1, s1),
                                    _phrase(rng, c2, s2)),
        "there is %s next to %s on a %s background"
        % (_phrase(rng, c1, s1), _phrase(rng, c2, s2), background),
        "a picture of a %s %s and a %s %s" % (c1, s1, c2, s2),
    ]
  rng.shuffle(templates)
  return templates[:5]


def make_scene(rng, size):
  """Draws one scene.

  Args:
    rng: A random.Random.
    size: (width, height) of the image.

  Returns:
    (PIL.Image, captions)
  """
  width, height = size
  background = rng.choice(sorted(BACKGROUNDS))
  image = Image.new("RGB", size, BACKGROUNDS[background])
  draw = ImageDraw.Draw(image)
  num_objects = rng.choice((1, 2))
  colors = rng.sample(sorted(COLORS), num_objects)
  objects = [(c, rng.choice(SHAPES)) for c in colors]
  slot_width = width // num_objects
  for i, (color, shape) in enumerate(objects):
    side = int(min(slot_width, height) * rng.uniform(0.45, 0.7))
    cx = slot_width * i + slot_width // 2 + rng.randint(-slot_width // 10,
                                                        slot_width // 10)
    cy = height // 2 + rng.randint(-height // 10, height // 10)
    box = (cx - side // 2, cy - side // 2, cx + side // 2, cy + side // 2)
    _draw_shape(draw, shape, COLORS[color], box)
  return image, make_captions(rng, objects, background)


def _write_split(output_dir, split, num_images, id_offset, rng, size):
  image_dir = os.path.join(output_dir, split)
  os.makedirs(image_dir, exist_ok=True)
  images, annotations = [], []
  for i in range(num_images):
    image_id = id_offset + i
    file_name = "COCO_%s_%012d.jpg" % (split, image_id)
    image, captions = make_scene(rng, size)
    image.save(os.path.join(image_dir, file_name), "JPEG", quality=90)
    images.append({"id": image_id, "file_name": file_name,
                   "width": size[0], "height": size[1], "license": 0,
                   "date_captured": "2026-01-01 00:00:00"})
    for caption in captions:
      annotations.append({"id": len(annotations) + id_offset * 10,
                          "image_id": image_id, "caption": caption})
  return {
      "info": {"description": "im2txt demo data: drawn shapes",
               "version": "1.0", "year": 2026},
      "licenses": [{"id": 0, "name": "generated by im2txt"}],
      "images": images,
      "annotations": annotations,
  }


def generate(output_dir, num_train_images=400, num_val_images=200,
             image_size=(160, 120), seed=0):
  """Writes the demo data set.

  Args:
    output_dir: Root directory (created if missing).
    num_train_images: Images in train2014.
    num_val_images: Images in val2014 (the builder splits them 85/5/10 into
      train, val and test).
    image_size: (width, height) of every image.
    seed: Random seed.

  Returns:
    A dict of the paths the builder needs: train_image_dir, val_image_dir,
    train_captions_file, val_captions_file.
  """
  rng = random.Random(seed)
  annotations_dir = os.path.join(output_dir, "annotations")
  os.makedirs(annotations_dir, exist_ok=True)
  paths = {
      "train_image_dir": os.path.join(output_dir, "train2014"),
      "val_image_dir": os.path.join(output_dir, "val2014"),
      "train_captions_file": os.path.join(annotations_dir,
                                          "captions_train2014.json"),
      "val_captions_file": os.path.join(annotations_dir,
                                        "captions_val2014.json"),
  }
  for split, n, offset, key in (
      ("train2014", num_train_images, TRAIN_ID_OFFSET, "train_captions_file"),
      ("val2014", num_val_images, VAL_ID_OFFSET, "val_captions_file")):
    data = _write_split(output_dir, split, n, offset, rng, image_size)
    with open(paths[key], "w", encoding="utf-8") as f:
      json.dump(data, f)
  return paths
