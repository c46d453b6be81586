#!/usr/bin/python3
"""An XMPP client for federation tests (slixmpp, Debian's python3-slixmpp): logs in, runs a
list of actions in order, exits 0 when all succeeded, 1 when one failed or timed out.

  fed_client.py --jid JID --password PW --host ADDR [--port 5222] --cafile CA \\
                [--timeout SECONDS] [--ready-file PATH] ACTION [ARG...] [, ACTION ...]

The TLS certificate of the server (STARTTLS) must verify against CA and name the JID's domain.
Actions are separated by a "," argument:
  send JID BODY                 a chat message
  wait-message JID BODY         until a message from JID (bare or full; "*": anyone) with BODY
  subscribe JID                 presence subscription request
  approve JID                   until JID asked to subscribe (maybe before), then "subscribed"
  wait-presence JID             until JID (bare) is available
  join ROOM@SERVICE NICK        join a XEP-0045 room (an instant room if it is new)
  groupchat ROOM@SERVICE BODY   a message to a room joined before
  wait-groupchat ROOM@SERVICE BODY   until the room relays a message with BODY
  ready                         create the --ready-file now (instead of at session start),
                                e.g. after "join" made a room others may enter
  sleep SECONDS
Every wait is bounded by --timeout (default 20 s), the whole run by 3x that. --ready-file is
created once the session is up (a test starts the other client after that), or by the "ready"
action when there is one; a line per action goes to stderr.
"""
import argparse
import asyncio
import logging
import sys
import time

import slixmpp
import slixmpp.exceptions
from slixmpp import JID
from slixmpp.xmlstream import ET


def split_actions(words):
    actions, current = [], []
    for w in words:
        if w == ",":
            if current:
                actions.append(current)
            current = []
        else:
            current.append(w)
    if current:
        actions.append(current)
    return actions


ARITY = {"send": 2, "wait-message": 2, "subscribe": 1, "approve": 1, "wait-presence": 1,
         "join": 2, "groupchat": 2, "wait-groupchat": 2, "ready": 0, "sleep": 1}


class Client(slixmpp.ClientXMPP):
    def __init__(self, args, actions):
        super().__init__(args.jid, args.password)
        self.args, self.actions = args, actions
        self.ca_certs = args.cafile
        self.ok = False
        self.error = None
        self.messages = []        # (from JID, type, body)
        self.subscribe_from = set()
        self.available = set()    # bare JIDs
        self.changed = asyncio.Event()
        self.finished = asyncio.Event()  # set on success and on the first failure
        # Explicit "approve" only. None, not False: False makes slixmpp answer every request
        # with "unsubscribed" itself (a refusal); True would accept it.
        self.roster.auto_authorize = None
        self.roster.auto_subscribe = False
        # SCRAM-SHA-256 without channel binding, on every server. slixmpp 1.8 would pick a
        # -PLUS mechanism and bind to tls-unique, which TLS 1.3 does not have (RFC 9266), and
        # then retry without binding but with the "y" flag (RFC 5802: "I could bind, I think
        # you cannot"), which a server that offered -PLUS must refuse as a downgrade: Parley
        # does (server-does-support-channel-binding). Prosody and ejabberd store SHA-256
        # keys here (contrib/peers), Parley offers it always.
        mech = self.plugin["feature_mechanisms"]
        mech.use_mech = "SCRAM-SHA-256"
        default_credentials = mech.sasl_callback

        def credentials(required, optional):
            creds = default_credentials(required, optional)
            creds.pop("channel_binding", None)  # absent: gs2 flag "n"
            return creds
        mech.sasl_callback = credentials
        self.register_plugin("xep_0030")
        self.register_plugin("xep_0045")
        self.register_plugin("xep_0199")
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("message", self.on_message)
        self.add_event_handler("groupchat_message", self.on_message)
        self.add_event_handler("presence_subscribe", self.on_subscribe)
        self.add_event_handler("presence_available", self.on_available)
        self.add_event_handler("presence_unavailable", self.on_unavailable)
        # no_auth: every mechanism failed (failed_auth comes after each attempt, and slixmpp
        # then tries the next one).
        self.add_event_handler("no_auth", self.on_failed_auth)
        self.add_event_handler("connection_failed", self.on_connection_failed)
        self.add_event_handler("disconnected", self.on_disconnected)

    def log(self, text):
        sys.stderr.write("[%s %.2f] %s\n" % (self.args.jid, time.monotonic() - T0, text))
        sys.stderr.flush()

    def pulse(self):
        self.changed.set()

    def on_message(self, msg):
        if msg["body"]:
            self.messages.append((msg["from"], msg["type"], msg["body"]))
            self.pulse()

    def on_subscribe(self, pres):
        self.subscribe_from.add(pres["from"].bare)
        self.pulse()

    def on_available(self, pres):
        self.available.add(pres["from"].bare)
        self.pulse()

    def on_unavailable(self, pres):
        self.available.discard(pres["from"].bare)
        self.pulse()

    def on_failed_auth(self, _):
        self.fail("authentication failed")

    def on_connection_failed(self, err):
        self.fail("connection failed: %s" % err)

    def on_disconnected(self, reason):
        if not self.ok and self.error is None:
            self.fail("disconnected: %s" % reason)

    def fail(self, why):
        if self.error is None:
            self.error = why
            self.log("FAIL " + why)
        self.pulse()
        self.finished.set()

    async def until(self, predicate, what):
        deadline = time.monotonic() + self.args.timeout
        while not predicate():
            if self.error is not None:
                raise RuntimeError(self.error)
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("timed out (%g s) waiting for %s" % (self.args.timeout, what))
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), left)
            except asyncio.TimeoutError:
                pass

    @staticmethod
    def matches(who, pattern):
        if pattern == "*":
            return True
        p = JID(pattern)
        return who.bare == p.bare if not p.resource else who.full == p.full

    async def on_start(self, _):
        try:
            self.send_presence()
            await self.get_roster()
            self.log("session started")
            if self.args.ready_file and not any(a[0] == "ready" for a in self.actions):
                open(self.args.ready_file, "w").close()
            for action in self.actions:
                await self.run(action[0], action[1:])
            self.ok = True
            self.log("all actions done")
        except Exception as e:  # noqa: BLE001 - reported, then exit 1
            self.fail("%s: %s" % (" ".join(action), e))
        self.finished.set()

    async def run(self, verb, a):
        self.log(" ".join([verb] + a))
        if verb == "send":
            self.send_message(mto=a[0], mbody=a[1], mtype="chat")
        elif verb == "wait-message":
            await self.until(lambda: any(self.matches(f, a[0]) and b == a[1] and t != "groupchat"
                                         for f, t, b in self.messages),
                             "message %r from %s" % (a[1], a[0]))
        elif verb == "subscribe":
            self.send_presence(pto=JID(a[0]).bare, ptype="subscribe")
        elif verb == "approve":
            bare = JID(a[0]).bare
            await self.until(lambda: bare in self.subscribe_from, "subscription request from "
                             + bare)
            self.send_presence(pto=bare, ptype="subscribed")
        elif verb == "wait-presence":
            bare = JID(a[0]).bare
            await self.until(lambda: bare in self.available, "available presence from " + bare)
        elif verb == "join":
            room, nick = JID(a[0]).bare, a[1]
            muc = self.plugin["xep_0045"]
            try:
                # One bound for the whole join (slixmpp's timeout= applies to the self-presence
                # and to the subject in turn).
                pres = (await asyncio.wait_for(muc.join_muc_wait(room, nick, maxstanzas=0),
                                               self.args.timeout))[0]
            except asyncio.TimeoutError:
                raise TimeoutError("timed out (%g s) waiting for the room's self-presence and "
                                   "subject" % self.args.timeout) from None
            except slixmpp.exceptions.PresenceError as e:
                raise RuntimeError("join refused: %s %s" % (e.condition, e.text)) from None
            codes = pres["muc"]["status_codes"]
            self.log("joined %s as %s (status %s)" % (room, pres["from"].resource,
                                                      sorted(codes)))
            if 201 in codes:
                # A new room stays locked until its owner configures it: an empty submitted
                # form makes it an instant room (XEP-0045 §10.1.2).
                iq = self.make_iq_set(ito=room)
                iq.append(ET.fromstring(
                    "<query xmlns='http://jabber.org/protocol/muc#owner'>"
                    "<x xmlns='jabber:x:data' type='submit'/></query>"))
                await iq.send(timeout=self.args.timeout)
                self.log("instant room %s configured" % room)
        elif verb == "ready":
            if self.args.ready_file:
                open(self.args.ready_file, "w").close()
        elif verb == "groupchat":
            self.send_message(mto=JID(a[0]).bare, mbody=a[1], mtype="groupchat")
        elif verb == "wait-groupchat":
            bare = JID(a[0]).bare
            await self.until(lambda: any(f.bare == bare and t == "groupchat" and b == a[1]
                                         for f, t, b in self.messages),
                             "groupchat %r in %s" % (a[1], bare))
        elif verb == "sleep":
            await asyncio.sleep(float(a[0]))


T0 = time.monotonic()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__)
    p.add_argument("--jid", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, default=5222)
    p.add_argument("--cafile", required=True)
    p.add_argument("--timeout", type=float, default=20.0)
    p.add_argument("--ready-file")
    p.add_argument("--debug", action="store_true")
    p.add_argument("actions", nargs=argparse.REMAINDER)
    args = p.parse_args()
    actions = split_actions(args.actions)
    for act in actions:
        if act[0] not in ARITY or len(act) != ARITY[act[0]] + 1:
            p.error("bad action %r (see --help)" % " ".join(act))
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.ERROR,
                        format="%(levelname)s %(name)s %(message)s")
    if not args.debug:  # "Task was destroyed but it is pending" from slixmpp at exit: noise
        logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    client = Client(args, actions)
    client.connect((args.host, args.port), force_starttls=True)
    loop = asyncio.get_event_loop()
    try:
        loop.run_until_complete(asyncio.wait_for(client.finished.wait(), args.timeout * 3))
    except asyncio.TimeoutError:
        client.log("FAIL the whole run took longer than %g s" % (args.timeout * 3))
        return 1
    finally:
        # A clean close (</stream:stream>), at most 2 s; slixmpp would otherwise reconnect.
        try:
            loop.run_until_complete(asyncio.wait_for(client.disconnect(wait=1.0), 2))
        except (asyncio.TimeoutError, Exception):
            pass
    if not client.ok:
        if client.error is None:
            client.log("FAIL ended before the actions were done")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
