"""asyncore_file_dispatcher.py from PyMOTW's asyncore article, ported to Python 3.

The program is the one shown in the Italian translation of the article
("asyncore - Gestore di I/O Asincrono"), with its handle_expt() override;
both articles show runs of this one program. The English article, Doug
Hellmann's "asyncore -- Asynchronous I/O handler", shows a run under
Python 2.7 that stops after the first read: 2.7's asyncore asked the
file_wrapper for getsockopt(), which it lacked, before handle_expt() was
reached. The Italian article shows all four reads. The comment is the
Italian article's.

Changes for Python 3: the data read is bytes and is decoded for display
only, print is a function, asyncore is imported from asyncore_sim, and
PYMOTW_LANG is checked as in the other examples (en, the default, or it;
the one message, READ: ..., is the same in both languages). Otherwise it
is the documented program.
"""

import asyncore_sim as asyncore
import os
import sys

# The one message, 'READ: (%d) "%s"', is the same in both languages.
MESSAGES = {
    'en': {},
    'it': {},
}

LANG = os.environ.get('PYMOTW_LANG', 'en')
if LANG not in MESSAGES:
    sys.exit('PYMOTW_LANG must be "en" or "it", not %r' % LANG)


def _text(b):
    """Bytes as text, for display."""
    return b.decode('utf-8', 'backslashreplace')


class FileReader(asyncore.file_dispatcher):

    def writable(self):
        return False

    def handle_read(self):
        data = self.recv(256)
        print('READ: (%d) "%s"' % (len(data), _text(data)))

    def handle_expt(self):
        # Ignora eventi che sembrano dati fuori banda
        pass

    def handle_close(self):
        self.close()

lorem_fd = os.open('lorem.txt', os.O_RDONLY)
reader = FileReader(lorem_fd)
asyncore.loop()
