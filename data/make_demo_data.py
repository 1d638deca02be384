#!/usr/bin/env python3
# Copyright 2026 The im2txt Authors. Licensed under the Apache License 2.0.
"""Checkout wrapper of im2txt/data/make_demo_data.py (see --help)."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                os.pardir))

from im2txt.data import make_demo_data  # noqa: E402

if __name__ == "__main__":
  make_demo_data.run()
