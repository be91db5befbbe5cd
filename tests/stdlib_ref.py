"""The interpreter's own asyncore/asynchat, loaded as a reference for tests.

Imported without leaving them in ``sys.modules`` (so that tests of
``asyncore_sim.compat`` see what they expect, whatever the test order), and
checked to come from the stdlib directory.  On interpreters without them
(Python 3.12+) both are None and comparison tests skip.
"""

from __future__ import annotations

import importlib
import os
import sys
import sysconfig
import warnings
from typing import Any, Optional, Tuple

_MISSING = object()
_NAMES = ("asyncore", "asynchat")
SKIP_REASON = "the interpreter has no stdlib asyncore/asynchat to compare with"


def load() -> Tuple[Optional[Any], Optional[Any]]:
    """``(asyncore, asynchat)`` of the stdlib, or ``(None, None)``."""
    saved = {name: sys.modules.pop(name, _MISSING) for name in _NAMES}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            std_chat = importlib.import_module("asynchat")
            std_core = sys.modules["asyncore"]
    except ImportError:
        return None, None
    finally:
        for name in _NAMES:
            sys.modules.pop(name, None)
        for name, module in saved.items():
            if module is not _MISSING:
                sys.modules[name] = module
    stdlib_dir = sysconfig.get_paths()["stdlib"]
    assert os.path.dirname(std_core.__file__) == stdlib_dir, std_core.__file__
    assert os.path.dirname(std_chat.__file__) == stdlib_dir, std_chat.__file__
    assert std_chat.asyncore is std_core
    return std_core, std_chat


STD_ASYNCORE, STD_ASYNCHAT = load()
