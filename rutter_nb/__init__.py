"""rutter_nb: explore, demo and analyse Rutter's asynchronous-job API from a notebook.

Public names are re-exported here; everything else is private to its module.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
