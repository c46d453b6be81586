"""XEP-0198 with slixmpp: stream management with resumption; the connection is cut
(abort, no closing tag); messages sent meanwhile arrive after slixmpp resumes the session,
in order and once; the message it had already received does not come again."""

import asyncio

import parley_slix as px


def extra(p):
    p.add_argument("--a", required=True)
    p.add_argument("--b", required=True)


args = px.arguments(extra)


def once(loop, event_names, client):
    """A future resolved the first time one of `event_names` fires on `client`."""
    future = loop.create_future()

    def fire(_):
        if not future.done():
            future.set_result(True)

    for name in event_names:
        client.add_event_handler(name, fire)
    return future


async def scenario():
    loop = asyncio.get_event_loop()
    a = px.Client(args.a, args.password, args.port, plugins=["xep_0198", "xep_0199"],
                  resource="slix")
    enabled = once(loop, ["sm_enabled"], a)
    inbox = asyncio.Queue()
    a.add_event_handler("message", inbox.put_nowait)
    await a.start()
    await asyncio.wait_for(enabled, px.EVENT_BOUND)
    px.check(a["xep_0198"].sm_id, "the server gave no resumption id")

    b = px.Client(args.b, args.password, args.port, plugins=["xep_0199"])
    await b.start()
    full = str(a.boundjid)
    b.send_message(mto=full, mbody="before", mtype="chat")
    await px.wait_for(inbox, lambda m: m["body"] == "before")

    a.abort()  # a lost network: no </stream:stream>
    for i in range(3):
        b.send_message(mto=full, mbody=f"away {i}", mtype="chat")
    # Routed once the server answered a ping sent after them (one stream is in order).
    await b["xep_0199"].ping(jid=args.host, timeout=px.EVENT_BOUND)

    resumed = once(loop, ["session_resumed"], a)
    a.connect(address=("127.0.0.1", args.port), force_starttls=True, disable_starttls=False)
    await asyncio.wait_for(resumed, px.EVENT_BOUND)
    px.check(str(a.boundjid) == full, f"resumed as {a.boundjid}, not {full}")
    got = [(await px.wait_for(inbox))["body"] for _ in range(3)]
    px.emit(received=got)
    px.check(got == ["away 0", "away 1", "away 2"], f"after resuming: {got}")
    # A ping round trip later, nothing else arrived (in particular not "before" again).
    await a["xep_0199"].ping(jid=args.host, timeout=px.EVENT_BOUND)
    px.check(inbox.empty(), "a message arrived twice")
    await b.stop()
    await a.stop()


px.run(scenario)
