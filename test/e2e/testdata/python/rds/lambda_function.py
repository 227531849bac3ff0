"""The RDS tutorial's function, with PostgreSQL in place of MySQL.

No database driver is available to the function, so it speaks the
PostgreSQL frontend/backend protocol (version 3.0) itself: startup,
SCRAM-SHA-256 authentication, one simple query, the rows as text.
"""

import base64
import hashlib
import hmac
import os
import socket
import struct

PROTOCOL_3_0 = 196608
AUTH_OK, AUTH_SASL, AUTH_SASL_CONTINUE, AUTH_SASL_FINAL = 0, 10, 11, 12


class PGError(Exception):
    pass


class Conn:
    def __init__(self, host, port, user, password, database):
        # No timeout of its own: a dropped SYN must hang until Lambda's
        # timeout ends the invocation, as it would in AWS.
        self.sock = socket.create_connection((host, port))
        self.buf = b""
        params = b"user\0" + user.encode() + b"\0database\0" + database.encode() + b"\0\0"
        self.sock.sendall(struct.pack("!ii", 8 + len(params), PROTOCOL_3_0) + params)
        self._authenticate(password)
        self._until_ready()

    def _recv_exact(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise PGError("the server closed the connection")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _read(self):
        kind, length = struct.unpack("!ci", self._recv_exact(5))
        body = self._recv_exact(length - 4)
        if kind == b"E":
            raise PGError(_error_fields(body))
        return kind, body

    def _send(self, kind, body):
        self.sock.sendall(kind + struct.pack("!i", 4 + len(body)) + body)

    def _authenticate(self, password):
        kind, body = self._read()
        if kind != b"R":
            raise PGError("expected an authentication request, got %r" % kind)
        (code,) = struct.unpack("!i", body[:4])
        if code != AUTH_SASL or b"SCRAM-SHA-256\0" not in body[4:]:
            raise PGError("unsupported authentication request %d %r" % (code, body[4:]))

        nonce = base64.b64encode(os.urandom(18)).decode()
        client_first_bare = "n=,r=" + nonce
        first = ("n,," + client_first_bare).encode()
        self._send(b"p", b"SCRAM-SHA-256\0" + struct.pack("!i", len(first)) + first)

        server_first = self._sasl(AUTH_SASL_CONTINUE)
        attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
        if not attrs["r"].startswith(nonce):
            raise PGError("the server's nonce does not extend ours")
        salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(attrs["s"]), int(attrs["i"]))
        client_key = hmac.digest(salted, b"Client Key", "sha256")
        final_bare = "c=biws,r=" + attrs["r"]
        auth_message = ",".join([client_first_bare, server_first, final_bare]).encode()
        signature = hmac.digest(hashlib.sha256(client_key).digest(), auth_message, "sha256")
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        self._send(b"p", (final_bare + ",p=" + base64.b64encode(proof).decode()).encode())

        server_final = self._sasl(AUTH_SASL_FINAL)
        server_key = hmac.digest(salted, b"Server Key", "sha256")
        expected = base64.b64encode(hmac.digest(server_key, auth_message, "sha256")).decode()
        if server_final != "v=" + expected:
            raise PGError("the server did not prove it knows the password")
        kind, body = self._read()
        if kind != b"R" or struct.unpack("!i", body[:4])[0] != AUTH_OK:
            raise PGError("authentication did not end with AuthenticationOk")

    def _sasl(self, want):
        kind, body = self._read()
        (code,) = struct.unpack("!i", body[:4])
        if kind != b"R" or code != want:
            raise PGError("expected SASL step %d, got %r %d" % (want, kind, code))
        return body[4:].decode()

    def _until_ready(self):
        # ParameterStatus, BackendKeyData and notices come before ReadyForQuery.
        while self._read()[0] != b"Z":
            pass

    def query(self, sql):
        self._send(b"Q", sql.encode() + b"\0")
        columns, rows = [], []
        while True:
            kind, body = self._read()
            if kind == b"T":
                columns = _row_description(body)
            elif kind == b"D":
                rows.append(_data_row(body))
            elif kind == b"Z":
                return columns, rows

    def close(self):
        self._send(b"X", b"")
        self.sock.close()


def _error_fields(body):
    fields = {}
    for field in body.split(b"\0"):
        if field:
            fields[chr(field[0])] = field[1:].decode(errors="replace")
    return "%s %s: %s" % (fields.get("S", "ERROR"), fields.get("C", ""), fields.get("M", ""))


def _row_description(body):
    (count,) = struct.unpack("!h", body[:2])
    names, pos = [], 2
    for _ in range(count):
        end = body.index(b"\0", pos)
        names.append(body[pos:end].decode())
        pos = end + 1 + 18  # table oid, column, type oid, size, modifier, format
    return names


def _data_row(body):
    (count,) = struct.unpack("!h", body[:2])
    values, pos = [], 2
    for _ in range(count):
        (length,) = struct.unpack("!i", body[pos : pos + 4])
        pos += 4
        if length < 0:
            values.append(None)
        else:
            values.append(body[pos : pos + length].decode())
            pos += length
    return values


def lambda_handler(event, context):
    conn = Conn(os.environ["DB_HOST"], 5432, os.environ["DB_USER"], os.environ["DB_PASSWORD"], os.environ["DB_NAME"])
    try:
        columns, rows = conn.query("SELECT empid, name, host(inet_client_addr()) AS client FROM employee ORDER BY empid")
    finally:
        conn.close()
    return {"columns": columns, "rows": rows}
