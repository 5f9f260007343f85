"""The product's settings, with ``bench/api_floor.py``'s routes (``bench.floor_urls``)."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.floor_urls"
