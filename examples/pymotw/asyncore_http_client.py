"""asyncore_http_client.py from PyMOTW's asyncore article, ported to Python 3.

The program is the HTTP client shown in the Italian translation of the
article ("asyncore - Gestore di I/O Asincrono"); its English output is the
one documented in Doug Hellmann's "asyncore -- Asynchronous I/O handler".

Changes for Python 3: the request and the response are bytes (the request
is encoded as ASCII, the response is collected in an io.BytesIO instead of
cStringIO), data shown in a log line is decoded for display only,
urlparse became urllib.parse, print is a function, asyncore is imported
from asyncore_sim, and the messages come in English or Italian
(PYMOTW_LANG=en, the default, or PYMOTW_LANG=it). Otherwise it is the
documented program.
"""

import asyncore_sim as asyncore
import io
import logging
import os
import socket
import sys
import urllib.parse

MESSAGES = {
    'en': {
        'connecting': 'connecting to %s',
        'loop_starting': 'LOOP STARTING',
        'loop_done': 'LOOP DONE',
        'got': 'got',
        'bytes': 'bytes',
    },
    'it': {
        'connecting': 'connessione a %s',
        'loop_starting': 'STA INIZIANDO IL CICLO',
        'loop_done': 'CICLO TERMINATO',
        'got': 'ottenuti',
        'bytes': 'byte',
    },
}

LANG = os.environ.get('PYMOTW_LANG', 'en')
if LANG not in MESSAGES:
    sys.exit('PYMOTW_LANG must be "en" or "it", not %r' % LANG)
MSG = MESSAGES[LANG]


def _text(b):
    """Bytes as text, for display in a log line."""
    return b.decode('utf-8', 'backslashreplace')


class HttpClient(asyncore.dispatcher):

    def __init__(self, url):
        self.url = url
        self.logger = logging.getLogger(self.url)
        self.parsed_url = urllib.parse.urlparse(url)
        asyncore.dispatcher.__init__(self)
        self.write_buffer = ('GET %s HTTP/1.0\r\n\r\n' % self.url).encode('ascii')
        self.read_buffer = io.BytesIO()
        self.create_socket(socket.AF_INET, socket.SOCK_STREAM)
        address = (self.parsed_url.netloc, 80)
        self.logger.debug(MSG['connecting'], address)
        self.connect(address)

    def handle_connect(self):
        self.logger.debug('handle_connect()')

    def handle_close(self):
        self.logger.debug('handle_close()')
        self.close()

    def writable(self):
        is_writable = (len(self.write_buffer) > 0)
        if is_writable:
            self.logger.debug('writable() -> %s', is_writable)
        return is_writable

    def readable(self):
        self.logger.debug('readable() -> True')
        return True

    def handle_write(self):
        sent = self.send(self.write_buffer)
        self.logger.debug('handle_write() -> "%s"', _text(self.write_buffer[:sent]))
        self.write_buffer = self.write_buffer[sent:]

    def handle_read(self):
        data = self.recv(8192)
        self.logger.debug('handle_read() -> %d bytes', len(data))
        self.read_buffer.write(data)

if __name__ == '__main__':
    logging.basicConfig(level=logging.DEBUG,
                        format='%(name)s: %(message)s',
                        )

    clients = [
        HttpClient('http://www.python.org/'),
        HttpClient('http://www.doughellmann.com/PyMOTW/contents.html'),
        ]

    logging.debug(MSG['loop_starting'])

    asyncore.loop()

    logging.debug(MSG['loop_done'])

    for c in clients:
        response_body = c.read_buffer.getvalue()
        print(c.url, MSG['got'], len(response_body), MSG['bytes'])
