# Copyright 2026 The im2txt Authors. All Rights Reserved.
# Licensed under the Apache License, Version 2.0.
"""pip installation of im2txt (Show and Tell image captioning).

  pip install .            # TensorFlow as published (CPU, or GPU if CUDA
                           # libraries are present on the machine)
  pip install ".[gpu]"     # TensorFlow with its pip-installed CUDA libraries
  pip install ".[test]"    # plus the test tools

`tensorflow-cpu` cannot replace `tensorflow` here: tf-keras, which the LSTM
decoder needs, depends on the `tensorflow` package itself.
"""

import os

from setuptools import find_packages
from setuptools import setup

REQUIRED_PACKAGES = [
    "tensorflow>=2.21,<2.22",
    "tf-keras>=2.21,<2.22",
    "tf-slim==1.1.0",
    "nltk>=3.8,<4",
    "numpy>=1.26,<3",
    "absl-py>=2.1,<3",
    "pillow>=10,<14",
    "google-crc32c>=1.5,<2",
    "pycocoevalcap==1.2",
    "pycocotools>=2.0.8,<3",
    "grpcio>=1.60,<2",
    "tensorflow-serving-api>=2.21,<2.22",
    "prometheus-client>=0.20,<1",
]

EXTRAS = {
    "gpu": ["tensorflow[and-cuda]>=2.21,<2.22"],
    "test": [
        "pytest>=8,<10",
        "pytest-xdist>=3.6,<4",
        "pylint>=4.1,<5",
        "tensorboard>=2.21,<2.22",
    ],
}

CONSOLE_SCRIPTS = [
    "im2txt-train = im2txt.train:run",
    "im2txt-evaluate = im2txt.evaluate:console_main",
    "im2txt-run-inference = im2txt.run_inference:run",
    "im2txt-build-mscoco-data = im2txt.data.build_mscoco_data:run",
    "im2txt-make-demo-data = im2txt.data.make_demo_data:run",
    "im2txt-score-captions = im2txt.score_captions:run",
    "im2txt-caption-images = im2txt.caption_images:run",
    "im2txt-blind-baseline = im2txt.blind_baseline:run",
    "im2txt-cache-features = im2txt.cache_features:run",
    "im2txt-verify-records = im2txt.verify_records:run",
    "im2txt-local-cluster = im2txt.local_cluster:run",
    "im2txt-export-saved-model = im2txt.export_saved_model:run",
    "im2txt-model-server = im2txt.model_server:run",
    "im2txt-convert-legacy-checkpoint = im2txt.convert_legacy_checkpoint:run",
]

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "README.md"), encoding="utf-8") as f:
  long_description = f.read()

setup(
    name="im2txt",
    version="2.21.0",
    description="Show and Tell image captioning (im2txt) on TensorFlow 2.21 "
    "in TF1 graph mode",
    long_description=long_description,
    long_description_content_type="text/markdown",
    license="Apache 2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["im2txt", "im2txt.*"]),
    install_requires=REQUIRED_PACKAGES,
    extras_require=EXTRAS,
    entry_points={"console_scripts": CONSOLE_SCRIPTS},
    scripts=["data/download_and_preprocess_mscoco.sh"],
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
        "License :: OSI Approved :: Apache Software License",
    ],
)
