"""``import asyncore`` on Python 3.12+, where the stdlib has none: asyncore-sim's.

Installed by the asyncore-sim distribution as a top-level module.  It *is*
``asyncore_sim.asyncore`` (``import asyncore; asyncore is
asyncore_sim.asyncore``), so unmodified code that imports asyncore runs on
asyncore-sim.  On Python 3.11 and older the stdlib's asyncore comes first on
``sys.path`` (site-packages is after the stdlib) and this file is not used;
``asyncore_sim.compat.install()`` is the way in there.  ``asynchat.py``
beside it does the same for asynchat.
"""
# asyncore-sim top-level module (asyncore_sim.compat recognises this line)

import sys

import asyncore_sim.asyncore

sys.modules[__name__] = asyncore_sim.asyncore
