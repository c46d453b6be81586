"""Smoke scenario: a slixmpp client logs in, gets its roster and pings the server."""

import parley_slix as px


def extra(p):
    p.add_argument("--jid", required=True)


args = px.arguments(extra)


async def scenario():
    c = px.Client(args.jid, args.password, args.port, plugins=["xep_0199"])
    await c.start()
    rtt = await c["xep_0199"].ping(jid=args.host, timeout=px.EVENT_BOUND)
    px.emit(bound=str(c.boundjid), pinged=rtt is not None)
    await c.stop()


px.run(scenario)
