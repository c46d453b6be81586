"""XEP-0280 scenario with slixmpp's xep_0280 plugin: two devices of the user enable carbons; a
contact's message to one device reaches the other as a <received/> carbon, a message from one
device reaches the other as a <sent/> carbon, both from the user's bare JID with the original
inside; a <private/> message is not copied."""

import parley_slix as px


def extra(p):
    p.add_argument("--user", required=True)
    p.add_argument("--contact", required=True)


args = px.arguments(extra)



async def scenario():
    phone = px.Client(args.user, args.password, args.port, plugins=["xep_0280"], resource="phone")
    laptop = px.Client(args.user, args.password, args.port, plugins=["xep_0280"],
                       resource="laptop")
    contact = px.Client(args.contact, args.password, args.port, resource="slix")
    for c in (phone, laptop, contact):
        await c.start()
    await phone["xep_0280"].enable(timeout=px.EVENT_BOUND)
    await laptop["xep_0280"].enable(timeout=px.EVENT_BOUND)
    received = px.queue_of(laptop, "carbon_received")
    sent = px.queue_of(laptop, "carbon_sent")
    contact_msgs = px.queue_of(contact, "message")

    contact.send_message(mto=phone.boundjid.full, mbody="to the phone", mtype="chat")
    carbon = await px.wait_for(received)
    inner = carbon["carbon_received"]
    px.emit(received_carbon=True, wrapper_from=str(carbon["from"]), inner_from=str(inner["from"]))
    px.check(carbon["from"] == phone.boundjid.bare, f"carbon from {carbon['from']}")
    px.check(inner["from"] == contact.boundjid.full, f"original from {inner['from']}")
    px.check(inner["body"] == "to the phone", f"original body {inner['body']}")

    private = phone.make_message(mto=contact.boundjid.full, mbody="just us", mtype="chat")
    private.enable("carbon_private")
    private.send()
    got = await px.wait_for(contact_msgs)
    px.check(got["body"] == "just us", f"contact got {got['body']}")
    phone.send_message(mto=contact.boundjid.full, mbody="from the phone", mtype="chat")
    carbon = await px.wait_for(sent)
    inner = carbon["carbon_sent"]
    px.emit(sent_carbon=True, inner_to=str(inner["to"]), body=inner["body"])
    px.check(carbon["from"] == phone.boundjid.bare, f"carbon from {carbon['from']}")
    px.check(inner["to"] == contact.boundjid.full, f"original to {inner['to']}")
    px.check(inner["body"] == "from the phone", "the private message was copied")
    for c in (phone, laptop, contact):
        await c.stop()


px.run(scenario)
