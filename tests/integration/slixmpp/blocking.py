"""XEP-0191 scenario with slixmpp's xep_0191 plugin: the user lists and blocks a contact, gets
the block push, the contact's message bounces service-unavailable and the user's own message
is refused not-acceptable with <blocked/>; after unblocking (and its push) messages flow."""

import parley_slix as px

BLOCKED_ERR = "{jabber:client}error/{urn:xmpp:blocking:errors}blocked"


def extra(p):
    p.add_argument("--user", required=True)
    p.add_argument("--contact", required=True)


args = px.arguments(extra)



async def scenario():
    user = px.Client(args.user, args.password, args.port, plugins=["xep_0191"], resource="slix")
    contact = px.Client(args.contact, args.password, args.port, resource="slix")
    await user.start()
    await contact.start()
    blocking = user["xep_0191"]
    pushes = px.queue_of(user, "blocked")
    unpushes = px.queue_of(user, "unblocked")
    is_chat = lambda m: m["type"] != "error"
    user_msgs = px.queue_of(user, "message", is_chat)
    contact_msgs = px.queue_of(contact, "message", is_chat)
    user_errors = px.queue_of(user, "message_error")
    contact_errors = px.queue_of(contact, "message_error")

    listed = await blocking.get_blocked(timeout=px.EVENT_BOUND)
    px.check(listed["blocklist"]["items"] == set(), f"fresh list not empty: {listed}")
    await blocking.block(args.contact, timeout=px.EVENT_BOUND)
    push = await px.wait_for(pushes)
    pushed = {str(j) for j in push["block"]["items"]}
    px.emit(block_push=sorted(pushed))
    px.check(pushed == {args.contact}, f"block push: {pushed}")
    listed = await blocking.get_blocked(timeout=px.EVENT_BOUND)
    px.check({str(j) for j in listed["blocklist"]["items"]} == {args.contact}, f"list: {listed}")

    contact.send_message(mto=user.boundjid.full, mbody="let me in", mtype="chat")
    err = await px.wait_for(contact_errors)
    px.emit(inbound_error=err["error"]["condition"])
    px.check(err["error"]["condition"] == "service-unavailable", f"inbound: {err}")
    px.check(err.xml.find(BLOCKED_ERR) is None, "the blocked contact learned it is blocked")

    user.send_message(mto=args.contact, mbody="you there?", mtype="chat")
    err = await px.wait_for(user_errors)
    px.emit(outbound_error=err["error"]["condition"],
            blocked_element=err.xml.find(BLOCKED_ERR) is not None)
    px.check(err["error"]["condition"] == "not-acceptable", f"outbound: {err}")
    px.check(err.xml.find(BLOCKED_ERR) is not None, "no <blocked/> in the refusal")

    await blocking.unblock(args.contact, timeout=px.EVENT_BOUND)
    push = await px.wait_for(unpushes)
    px.check({str(j) for j in push["unblock"]["items"]} == {args.contact}, f"unblock push: {push}")
    contact.send_message(mto=user.boundjid.full, mbody="hello again", mtype="chat")
    got = await px.wait_for(user_msgs)
    px.check(got["body"] == "hello again", f"after unblock, the user got {got}")
    px.check(user_msgs.empty(), "the message sent while blocked was delivered")
    user.send_message(mto=contact.boundjid.full, mbody="welcome back", mtype="chat")
    got = await px.wait_for(contact_msgs)
    px.check(got["body"] == "welcome back", f"after unblock, the contact got {got}")
    px.emit(unblocked=True)
    await user.stop()
    await contact.stop()


px.run(scenario)
