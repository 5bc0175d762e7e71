"""``mr-cds``: the command line, the top layer.

``main`` is the console script's entry point (``mr-cds = "cds_service.cli:main"``); it lives
in ``cli/mr_cds.py``.
"""

from cds_service.cli.mr_cds import main

__all__ = ["main"]
