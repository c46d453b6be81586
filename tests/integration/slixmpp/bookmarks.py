"""XEP-0402 compatibility scenario: one resource of the user keeps its bookmarks with slixmpp's
xep_0048 plugin in XEP-0049 private storage, another uses the xep_0060 plugin on the PEP node
urn:xmpp:bookmarks:1. A private set reaches the PEP resource as a notification and as items;
a PEP publication (with XEP-0402's publish-options) shows up in the next private get."""

import xml.etree.ElementTree as ET

import parley_slix as px
from slixmpp.plugins.xep_0048 import Bookmarks

NODE = "urn:xmpp:bookmarks:1"


def extra(p):
    p.add_argument("--user", required=True)


args = px.arguments(extra)


def publish_options(client):
    form = client["xep_0004"].make_form(ftype="submit")
    form.add_field(var="FORM_TYPE", ftype="hidden",
                   value="http://jabber.org/protocol/pubsub#publish-options")
    form.add_field(var="pubsub#persist_items", value="true")
    form.add_field(var="pubsub#max_items", value="max")
    form.add_field(var="pubsub#send_last_published_item", value="never")
    form.add_field(var="pubsub#access_model", value="whitelist")
    return form


async def scenario():
    legacy = px.Client(args.user, args.password, args.port, plugins=["xep_0048"],
                       resource="legacy")
    modern = px.Client(args.user, args.password, args.port, plugins=["xep_0004", "xep_0060"],
                       resource="modern")
    for c in (legacy, modern):
        await c.start()
    events = px.queue_of(modern, "pubsub_publish",
                         lambda m: m["pubsub_event"]["items"]["node"] == NODE)

    stored = Bookmarks()
    stored.add_conference("lobby@conference.example", "slix", name="Lobby", autojoin=True)
    stored.add_conference("quiet@conference.example", "slix", name="Quiet")
    await legacy["xep_0048"].set_bookmarks(stored, timeout=px.EVENT_BOUND)

    seen = set()
    while len(seen) < 2:
        note = await px.wait_for(events)
        seen.add(note["pubsub_event"]["items"]["item"]["id"])
    px.check(seen == {"lobby@conference.example", "quiet@conference.example"},
             f"notified of {seen}")
    result = await modern["xep_0060"].get_items(modern.boundjid.bare, NODE,
                                                timeout=px.EVENT_BOUND)
    items = {item["id"]: item for item in result["pubsub"]["items"]}
    px.emit(pep_items=sorted(items))
    px.check(set(items) == seen, f"PEP items {sorted(items)}")
    lobby = items["lobby@conference.example"].xml.find(f"{{{NODE}}}conference")
    px.check(lobby is not None, "no conference payload")
    px.check(lobby.get("name") == "Lobby", f"name {lobby.get('name')}")
    px.check(lobby.get("autojoin") in ("true", "1"), f"autojoin {lobby.get('autojoin')}")
    nick = lobby.find(f"{{{NODE}}}nick")
    px.check(nick is not None and nick.text == "slix", "nick lost")
    px.emit(pep_sees_private=True)

    payload = ET.Element(f"{{{NODE}}}conference", name="Garden", autojoin="true")
    ET.SubElement(payload, f"{{{NODE}}}nick").text = "Romeo"
    await modern["xep_0060"].publish(modern.boundjid.bare, NODE, id="garden@conference.example",
                                     payload=payload, options=publish_options(modern),
                                     timeout=px.EVENT_BOUND)
    await modern["xep_0060"].retract(modern.boundjid.bare, NODE, "quiet@conference.example",
                                     notify=True, timeout=px.EVENT_BOUND)
    got = await legacy["xep_0048"].get_bookmarks(timeout=px.EVENT_BOUND)
    confs = {str(c["jid"]): c for c in got["private"]["bookmarks"]["conferences"]}
    px.emit(private=sorted(confs))
    px.check(set(confs) == {"lobby@conference.example", "garden@conference.example"},
             f"private storage has {sorted(confs)}")
    garden = confs["garden@conference.example"]
    px.check(garden["name"] == "Garden" and garden["nick"] == "Romeo" and garden["autojoin"],
             f"garden is {garden}")
    px.emit(private_sees_pep=True)
    for c in (legacy, modern):
        await c.stop()


px.run(scenario)
