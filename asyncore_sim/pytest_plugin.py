"""Moved to :mod:`asyncore_sim.testing.pytest_plugin`.

This name keeps working: it is the same module object.
"""

import sys

from asyncore_sim.testing import pytest_plugin as _moved

sys.modules[__name__] = _moved
