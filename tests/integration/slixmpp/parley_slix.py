"""Shared scaffolding for the slixmpp scenario scripts of the integration tests.

Each scenario script is run by the C++ integration tests (run_slixmpp in harness.h) with
/usr/bin/python3 (Debian's python3-slixmpp). It connects real slixmpp clients to the parleyd
under test on loopback, does one scenario and checks what it sees with check(); the script
exits 0 only if every check held, and the C++ test asserts that and shows the output
otherwise. Every wait is bounded; running past the bound is a failure, never the thing
asserted.
"""

import argparse
import asyncio
import json
import logging
import ssl
import sys

import slixmpp

# Upper bound for any single wait in a scenario (the suite also runs under ASan on 2 cores).
EVENT_BOUND = 10.0


def arguments(extra=None):
    """--port, --host and --password, plus whatever `extra(parser)` adds."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="localhost")
    parser.add_argument("--password", required=True)
    parser.add_argument("--debug", action="store_true")
    if extra:
        extra(parser)
    args = parser.parse_args()
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING,
                        stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    return args


def emit(**fields):
    """One line of what the scenario saw (shown by the C++ test when it fails)."""
    print(json.dumps(fields), flush=True)


class CheckFailed(Exception):
    pass


def check(condition, what):
    """Fails the scenario with `what` unless `condition` holds."""
    if not condition:
        raise CheckFailed(what)


class Client(slixmpp.ClientXMPP):
    """A slixmpp client for the server under test: STARTTLS on loopback, the test's
    self-signed certificate accepted, plugins loaded by name."""

    def __init__(self, jid, password, port, plugins=(), resource=None):
        if resource:
            jid = f"{jid}/{resource}"
        super().__init__(jid, password)
        self.port = port
        self.ssl_context.check_hostname = False
        self.ssl_context.verify_mode = ssl.CERT_NONE
        for p in plugins:
            self.register_plugin(p)
        self._bind_result = asyncio.get_event_loop().create_future()
        self.add_event_handler("session_bind", self._on_bind)
        # Sent once every mechanism failed (one failure alone makes slixmpp try the next).
        self.add_event_handler("no_auth", self._on_no_auth)

    def _on_bind(self, _):
        if not self._bind_result.done():
            self._bind_result.set_result(True)

    def _on_no_auth(self, _):
        if not self._bind_result.done():
            self._bind_result.set_exception(RuntimeError("authentication failed"))

    async def start(self, presence=True, roster=True):
        """Connects, waits until a resource is bound, then fetches the roster and sends
        initial presence unless told not to."""
        self.connect(address=("127.0.0.1", self.port), force_starttls=True,
                     disable_starttls=False)
        await asyncio.wait_for(self._bind_result, EVENT_BOUND)
        if roster:
            await self.get_roster(timeout=EVENT_BOUND)
        if presence:
            self.send_presence()
        return self

    async def stop(self):
        """Closes the stream cleanly and waits for the disconnect."""
        self.disconnect()
        try:
            await asyncio.wait_for(self.disconnected, EVENT_BOUND)
        except asyncio.TimeoutError:
            pass


def queue_of(client, event, pred=lambda _: True):
    """An asyncio.Queue that receives every `event` of `client` matching `pred`, for
    wait_for()."""
    q = asyncio.Queue()
    client.add_event_handler(event, lambda s: q.put_nowait(s) if pred(s) else None)
    return q


async def wait_for(queue, pred=lambda _: True, bound=EVENT_BOUND):
    """Returns the next item of an asyncio.Queue matching `pred`; raises on timeout."""
    async def find():
        while True:
            item = await queue.get()
            if pred(item):
                return item
    return await asyncio.wait_for(find(), bound)


def run(scenario):
    """Runs `scenario()` (a coroutine function) to completion on slixmpp's loop; exit status 1
    with the error on stderr if it raises or times out."""
    loop = asyncio.get_event_loop()
    try:
        loop.run_until_complete(scenario())
    except Exception as e:  # reported to the C++ test, which fails with the output
        emit(error=f"{type(e).__name__}: {e}")
        sys.exit(1)
