"""A small IMAP4rev1 server on loopback (test helper): one folder, the
commands ``fetch_imap`` uses (CAPABILITY, LOGIN, SELECT, UID SEARCH UNSEEN,
UID FETCH BODY.PEEK[], UID STORE +FLAGS, LOGOUT), flags kept per message."""
from __future__ import annotations

import socketserver
import threading


class FakeImap:
    def __init__(self, messages: list[bytes], user="crm", password="secret"):
        self.messages = {uid: raw for uid, raw in enumerate(messages, start=1)}
        self.flags: dict[int, set] = {uid: set() for uid in self.messages}
        self.user, self.password = user, password
        imap = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                try:
                    imap.session(self.rfile, self.wfile)
                except (OSError, ValueError):
                    pass

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def session(self, rfile, wfile):
        def say(data: bytes):
            wfile.write(data)
            wfile.flush()

        say(b"* OK IMAP4rev1 fake ready\r\n")
        while True:
            line = rfile.readline(65536)
            if not line:
                return
            tag, _, rest = line.decode().rstrip("\r\n").partition(" ")
            words = rest.split(" ")
            verb = words[0].upper()
            if verb == "CAPABILITY":
                say(b"* CAPABILITY IMAP4rev1\r\n")
            elif verb == "LOGIN":
                if [w.strip("\"") for w in words[1:3]] != [self.user, self.password]:
                    say(f"{tag} NO wrong password\r\n".encode())
                    continue
            elif verb == "SELECT":
                say(f"* {len(self.messages)} EXISTS\r\n".encode())
            elif verb == "UID" and words[1].upper() == "SEARCH":
                unseen = [str(uid) for uid in self.messages if "\\Seen" not in self.flags[uid]]
                say(("* SEARCH " + " ".join(unseen)).rstrip().encode() + b"\r\n")
            elif verb == "UID" and words[1].upper() == "FETCH":
                uid = int(words[2])
                raw = self.messages[uid]
                say(f"* {uid} FETCH (UID {uid} BODY[] {{{len(raw)}}}\r\n".encode() + raw + b")\r\n")
            elif verb == "UID" and words[1].upper() == "STORE":
                uid = int(words[2])
                self.flags[uid] |= set(" ".join(words[4:]).strip("()").split())
                say(f"* {uid} FETCH (FLAGS ({' '.join(sorted(self.flags[uid]))}))\r\n".encode())
            elif verb == "LOGOUT":
                say(b"* BYE\r\n" + f"{tag} OK bye\r\n".encode())
                return
            else:
                say(f"{tag} BAD unknown\r\n".encode())
                continue
            say(f"{tag} OK done\r\n".encode())

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
