"""Moved to :mod:`asyncore_sim.testing.segmentation`.

This name keeps working: it is the same module object.
"""

import sys

from asyncore_sim.testing import segmentation as _moved

sys.modules[__name__] = _moved
