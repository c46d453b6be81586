"""XEP-0352 scenario with slixmpp's xep_0352 plugin: the plugin finds <csi/> among the stream
features; while the user is inactive a contact's three presence updates and two chat states
arrive as its latest presence and latest chat state only, just before the contact's message;
after <active/> every update arrives."""

import asyncio

import parley_slix as px


def extra(p):
    p.add_argument("--user", required=True)
    p.add_argument("--contact", required=True)


args = px.arguments(extra)


async def scenario():
    user = px.Client(args.user, args.password, args.port, plugins=["xep_0352", "xep_0199", "xep_0085"],
                     resource="phone")
    contact = px.Client(args.contact, args.password, args.port,
                        plugins=["xep_0199", "xep_0085"], resource="slix")
    await user.start()
    await contact.start(presence=False)
    csi = user["xep_0352"]
    px.check(csi.enabled, "the server did not offer <csi/> after authentication")

    seen = asyncio.Queue()
    peer = contact.boundjid.full
    user.add_event_handler(
        "presence",
        lambda p: seen.put_nowait(f"presence {p['show'] or '-'}") if p["from"] == peer else None)
    user.add_event_handler(
        "chatstate",
        lambda m: seen.put_nowait(f"state {m['chat_state']}")
        if m["from"] == peer and not m["body"] else None)
    user.add_event_handler(
        "message", lambda m: seen.put_nowait(f"message {m['body']}") if m["from"] == peer else None)

    async def settle(c):
        await c["xep_0199"].ping(jid=args.host, timeout=px.EVENT_BOUND)

    csi.send_inactive()
    await settle(user)  # in force from here (XEP-0352 §5.1)
    to = user.boundjid.full
    for show in ("away", "xa", "dnd"):
        contact.send_presence(pto=to, pshow=show)
        await settle(contact)
    for state in ("composing", "paused"):
        m = contact.make_message(mto=to, mtype="chat")
        m["chat_state"] = state
        m.send()
        await settle(contact)
    contact.send_message(mto=to, mbody="wake up", mtype="chat")
    got = [await px.wait_for(seen) for _ in range(3)]
    px.emit(inactive=got)
    px.check(got == ["presence dnd", "state paused", "message wake up"], f"got {got}")

    csi.send_active()
    await settle(user)
    for show in ("away", "chat"):
        contact.send_presence(pto=to, pshow=show)
        await settle(contact)
    contact.send_message(mto=to, mbody="again", mtype="chat")
    got = [await px.wait_for(seen) for _ in range(3)]
    px.emit(active=got, coalesced=True)
    px.check(got == ["presence away", "presence chat", "message again"], f"got {got}")
    await user.stop()
    await contact.stop()


px.run(scenario)
