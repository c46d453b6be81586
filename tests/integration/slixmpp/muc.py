"""XEP-0045 scenario with slixmpp's xep_0045 plugin: one client creates a room (status 201) and
accepts the instant configuration with an empty submitted form; it speaks twice; a second
client joins with join_muc_wait, which insists on the XEP's order (occupants, self-presence,
history, subject), asking for at most five history messages; then they chat, and the second
one leaves."""

import parley_slix as px


def extra(p):
    p.add_argument("--user", required=True)
    p.add_argument("--other", required=True)
    p.add_argument("--room", required=True)


args = px.arguments(extra)



async def scenario():
    owner = px.Client(args.user, args.password, args.port, plugins=["xep_0045", "xep_0004"],
                      resource="slix")
    guest = px.Client(args.other, args.password, args.port, plugins=["xep_0045", "xep_0359"],
                      resource="slix")
    for c in (owner, guest):
        await c.start()
    muc_o, muc_g = owner["xep_0045"], guest["xep_0045"]

    pres, _subject, occupants, history = await muc_o.join_muc_wait(
        args.room, "Owner", maxstanzas=0, timeout=px.EVENT_BOUND)
    codes = {int(s) for s in pres["muc"]["status_codes"]}
    px.emit(created=sorted(codes), role=pres["muc"]["role"],
            affiliation=pres["muc"]["affiliation"])
    px.check(201 in codes and 110 in codes, f"self-presence of a new room says {codes}")
    px.check(pres["muc"]["affiliation"] == "owner", "the creator owns the room")
    await muc_o.set_room_config(args.room, owner["xep_0004"].make_form(ftype="submit"),
                                timeout=px.EVENT_BOUND)

    owner_msgs = px.queue_of(owner, "muc::%s::message" % args.room)
    for text in ("first", "second"):
        owner.send_message(mto=args.room, mbody=text, mtype="groupchat")
        got = await px.wait_for(owner_msgs, lambda m, t=text: m["body"] == t)
        px.check(got["from"].resource == "Owner", f"reflected from {got['from']}")

    pres, subject, occupants, history = await muc_g.join_muc_wait(
        args.room, "Guest", maxstanzas=5, timeout=px.EVENT_BOUND)
    px.emit(joined=str(pres["from"]), occupants=[str(o["from"]) for o in occupants],
            history=[m["body"] for m in history])
    px.check(pres["muc"]["role"] == "participant", f"guest role {pres['muc']['role']}")
    # slixmpp counts its own presence as an occupant coming online too: it must come last.
    px.check([str(o["from"].resource) for o in occupants] == ["Owner", "Guest"],
             "the guest saw the owner before itself")
    px.check([m["body"] for m in history] == ["first", "second"], "history on join")
    px.check(set(muc_g.get_roster(args.room)) == {"Owner", "Guest"},
             f"roster {muc_g.get_roster(args.room)}")

    guest_msgs = px.queue_of(guest, "muc::%s::message" % args.room)
    owner.send_message(mto=args.room, mbody="welcome", mtype="groupchat")
    got = await px.wait_for(guest_msgs, lambda m: m["body"] == "welcome")
    px.check(got["from"].resource == "Owner", f"welcome from {got['from']}")
    px.check(got["stanza_id"]["by"] == args.room, "the room's stanza-id")

    offline = px.queue_of(owner, "muc::%s::got_offline" % args.room)
    muc_g.leave_muc(args.room, "Guest")
    left = await px.wait_for(offline)
    px.check(left["from"].resource == "Guest", f"left: {left['from']}")
    for c in (owner, guest):
        await c.stop()


px.run(scenario)
