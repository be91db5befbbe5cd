"""asyncore_loop.py from PyMOTW's asyncore article, ported to Python 3.

The program is the one shown in the Italian translation of the article
("asyncore - Gestore di I/O Asincrono"): it drives HttpClient from
asyncore_http_client.py one asyncore.loop(count=1) call at a time. Its
English output is the one documented in Doug Hellmann's "asyncore --
Asynchronous I/O handler".

Changes for Python 3: asyncore is imported from asyncore_sim, and the
messages come in English or Italian (PYMOTW_LANG=en, the default, or
PYMOTW_LANG=it). Otherwise it is the documented program.
"""

import asyncore_sim as asyncore
import logging
import os
import sys

from asyncore_http_client import HttpClient

MESSAGES = {
    'en': {
        'loop_counter': 'loop_counter=%s',
    },
    'it': {
        'loop_counter': 'loop_counter (contatore cicli)=%s',
    },
}

LANG = os.environ.get('PYMOTW_LANG', 'en')
if LANG not in MESSAGES:
    sys.exit('PYMOTW_LANG must be "en" or "it", not %r' % LANG)
MSG = MESSAGES[LANG]

logging.basicConfig(level=logging.DEBUG,
                    format='%(name)s: %(message)s',
                    )

clients = [
    HttpClient('http://www.doughellmann.com/PyMOTW/contents.html'),
    HttpClient('http://www.python.org/'),
    ]

loop_counter = 0
while asyncore.socket_map:
    loop_counter += 1
    logging.debug(MSG['loop_counter'], loop_counter)
    asyncore.loop(timeout=1, count=1)
