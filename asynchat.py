"""``import asynchat`` on Python 3.12+: ``asyncore_sim.asynchat`` itself.

The twin of the top-level ``asyncore.py`` beside it (which says when each
is used); ``import asynchat; asynchat is asyncore_sim.asynchat``.
"""
# asyncore-sim top-level module (asyncore_sim.compat recognises this line)

import sys

import asyncore_sim.asynchat

sys.modules[__name__] = asyncore_sim.asynchat
