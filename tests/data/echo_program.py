"""A small echo program for record/replay tests (loopback only)."""

import asyncore_sim as asyncore


class Server(asyncore.dispatcher):
    def __init__(self):
        asyncore.dispatcher.__init__(self)
        self.create_socket()
        self.bind(("127.0.0.1", 0))
        self.listen(1)

    def handle_accepted(self, sock, addr):
        Handler(sock)
        self.close()


class Handler(asyncore.dispatcher_with_send):
    def handle_read(self):
        data = self.recv(64)
        if data:
            self.send(data.upper())


class Client(asyncore.dispatcher):
    def __init__(self, addr, message):
        asyncore.dispatcher.__init__(self)
        self.create_socket()
        self.connect(addr)
        self.out = message
        self.got = b""
        self.want = len(message)

    def writable(self):
        return bool(self.out)

    def handle_connect(self):
        pass

    def handle_write(self):
        self.out = self.out[self.send(self.out[:7]):]

    def handle_read(self):
        self.got += self.recv(5)
        if len(self.got) >= self.want:
            print("client got", self.got)
            self.close()


if __name__ == "__main__":
    server = Server()
    Client(server.socket.getsockname(), b"hello, traced world\n\x00\xff")
    asyncore.loop(timeout=5)
