#!/usr/bin/env python3
"""Writes benchmark accounts <prefix>0..<prefix>N-1 straight into a peer server's storage.

SCRAM credentials (RFC 5802 §3, RFC 7677) are derived once with PBKDF2 and stored for every
account, as `parley-bench setup` does for Parley: all accounts share one salt, so creating
20 000 accounts takes well under a second, the load generator runs PBKDF2 once, and the server
never runs it at login (it only reads the stored keys). Throwaway benchmark accounts only:
real accounts need a salt each (RFC 5802 §9).

  accounts.py prosody DATA_DIR HOST COUNT PASSWORD ITERATIONS [PREFIX]
      Prosody 0.12 internal storage, mod_auth_internal_hashed with password_hash = "SHA-256":
      DATA_DIR/<host>/accounts/<user>.dat (keys hex-encoded, salt used as given).
  accounts.py ejabberd SQLITE_DB HOST COUNT PASSWORD ITERATIONS [PREFIX]
      ejabberd 23.01 SQL auth (auth_password_format: scram, auth_scram_hash: sha256), the
      default (single host) SQLite schema: table users, keys base64 with the "sha256:" prefix
      ejabberd_auth_sql puts on StoredKey; the schema must already be loaded.
  accounts.py user prosody|ejabberd DATA_DIR|SQLITE_DB HOST USER PASSWORD ITERATIONS
      The one account USER@HOST (contrib/peers/federation.sh's fed_peer_adduser), with a salt
      of its own; an existing account of that name gets the new password. Both servers read
      these at login (no credential cache: federation.sh turns ejabberd's off), so this works
      while the server runs.
"""
import base64
import hashlib
import hmac
import os
import sqlite3
import sys
import time


def scram_sha256(password, salt, iterations):
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    return stored_key, server_key


def prosody_encode(s):
    # util.datamanager's path encoding: everything but [A-Za-z0-9] as %xx (lower-case hex)
    return "".join(c if c.isascii() and c.isalnum() else "%%%02x" % ord(c) for c in s)


def prosody(data_dir, host, names, password, iterations, overwrite=False):
    salt = "parley-bench-" + os.urandom(8).hex()  # Prosody stores the salt as a string
    stored, server = scram_sha256(password, salt.encode(), iterations)
    directory = os.path.join(data_dir, prosody_encode(host), "accounts")
    os.makedirs(directory, exist_ok=True)
    body = (
        'return {\n\t["iteration_count"] = %d;\n\t["salt"] = "%s";\n'
        '\t["server_key"] = "%s";\n\t["stored_key"] = "%s";\n};\n'
        % (iterations, salt, server.hex(), stored.hex())
    )
    created = 0
    for name in names:
        path = os.path.join(directory, prosody_encode(name) + ".dat")
        if os.path.exists(path) and not overwrite:
            continue
        with open(path, "w") as f:
            f.write(body)
        created += 1
    return created


def ejabberd(db, host, names, password, iterations, overwrite=False):
    salt = os.urandom(16)
    stored, server = scram_sha256(password, salt, iterations)
    row = (
        "sha256:" + base64.b64encode(stored).decode(),
        base64.b64encode(server).decode(),
        base64.b64encode(salt).decode(),
        iterations,
    )
    conn = sqlite3.connect(db)
    before = conn.total_changes
    with conn:
        conn.executemany(
            ("INSERT OR REPLACE" if overwrite else "INSERT OR IGNORE") + " INTO users (username, password, serverkey, salt, iterationcount) "
            "VALUES (?, ?, ?, ?, ?)",
            ((name,) + row for name in names),
        )
    created = conn.total_changes - before
    conn.close()
    return created


def main(argv):
    if len(argv) == 8 and argv[1] == "user" and argv[2] in ("prosody", "ejabberd"):
        kind, target, host, user, password = argv[2:7]
        (prosody if kind == "prosody" else ejabberd)(
            target, host, [user], password, int(argv[7]), overwrite=True
        )
        return 0
    if len(argv) not in (7, 8) or argv[1] not in ("prosody", "ejabberd"):
        sys.stderr.write(__doc__)
        return 2
    kind, target, host = argv[1], argv[2], argv[3]
    count, password, iterations = int(argv[4]), argv[5], int(argv[6])
    prefix = argv[7] if len(argv) == 8 else "bench"
    start = time.monotonic()
    created = (prosody if kind == "prosody" else ejabberd)(
        target, host, [prefix + str(i) for i in range(count)], password, iterations
    )
    print(
        "%s accounts: %d created, %d already there (%s0..%s%d@%s, SCRAM-SHA-256, %d iterations) "
        "in %.2f s" % (kind, created, count - created, prefix, prefix, count - 1, host, iterations,
                       time.monotonic() - start)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
