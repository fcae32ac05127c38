"""The frames' C reader, the one thing pyproject.toml cannot declare without experimental
settings. ``optional=True``: without a C compiler the install still succeeds and the frames
use their Python reader (``benchmarks/bench_frames.py`` prints which reader is in use)."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("rutter_nb.frames._reader", ["rutter_nb/frames/_reader.c"], optional=True)
    ]
)
