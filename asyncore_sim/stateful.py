"""Moved to :mod:`asyncore_sim.testing.stateful`.

This name keeps working: it is the same module object.
"""

import sys

from asyncore_sim.testing import stateful as _moved

sys.modules[__name__] = _moved
