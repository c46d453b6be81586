"""XEP-0163 scenarios with slixmpp's xep_0060, xep_0163 and xep_0115 plugins and two PEP
payloads built on them. The user and the contact already share presence both ways (the C++ test
set that up); the stranger shares nothing with the user.

--scenario avatar (XEP-0084 with xep_0084): the user publishes avatar data, then its metadata;
the contact, whose caps carry urn:xmpp:avatar:metadata+notify (and not the data node's), is
notified of the metadata and fetches the data by the id the metadata names; a second avatar
goes the same way, and the contact never gets a notification of the data node.

--scenario nick (XEP-0172 with xep_0172): the user publishes a nickname; the contact, interested
through its caps, is notified of it and of a new one; the contact may read the node, the
stranger may not (the default presence access model)."""

import base64
import hashlib

from slixmpp import Iq
from slixmpp.exceptions import IqError

import parley_slix as px


def extra(p):
    p.add_argument("--scenario", choices=["avatar", "nick"], required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--contact", required=True)
    p.add_argument("--stranger")


args = px.arguments(extra)

AVATAR_DATA = "urn:xmpp:avatar:data"
AVATAR_METADATA = "urn:xmpp:avatar:metadata"
NICK = "http://jabber.org/protocol/nick"


async def online(client):
    """Connects, then announces caps that include the interests the plugins registered at
    bind time (the +notify features), computed before the initial presence goes out."""
    await client.start(presence=False)
    await client["xep_0115"].update_caps(broadcast=False)
    client.send_presence()
    return client


async def local_features(client):
    """The features the client announces in its caps."""
    info = await client["xep_0030"].get_info(local=True)
    if isinstance(info, Iq):
        info = info["disco_info"]
    return info["features"]


def events(client, node):
    """Every PEP item notification about `node` that `client` receives."""
    return px.queue_of(client, "pubsub_publish",
                       lambda m: m["pubsub_event"]["items"]["node"] == node)


def event_payload(msg):
    return msg["pubsub_event"]["items"]["item"]["payload"]


async def avatar():
    plugins = ["xep_0030", "xep_0060", "xep_0115", "xep_0163", "xep_0084"]
    owner = px.Client(args.user, args.password, args.port, plugins=plugins, resource="slix")
    contact = px.Client(args.contact, args.password, args.port, plugins=plugins, resource="slix")
    data_events = px.queue_of(contact, "pubsub_publish",
                              lambda m: m["pubsub_event"]["items"]["node"] == AVATAR_DATA)
    metadata = events(contact, AVATAR_METADATA)
    for c in (owner, contact):
        await online(c)
    features = await local_features(contact)
    px.check(AVATAR_METADATA + "+notify" in features, f"contact features {features}")
    px.check(AVATAR_DATA + "+notify" not in features, f"contact features {features}")

    for round_, image in enumerate((b"\x89PNG first avatar bytes", b"\x89PNG second, other bytes")):
        avatar_id = hashlib.sha1(image).hexdigest()
        await owner["xep_0084"].publish_avatar(image, timeout=px.EVENT_BOUND)
        await owner["xep_0084"].publish_avatar_metadata(
            {"id": avatar_id, "type": "image/png", "bytes": len(image), "height": "64",
             "width": "64"},
            timeout=px.EVENT_BOUND)

        def names(m, avatar_id=avatar_id):
            info = event_payload(m).find("{%s}info" % AVATAR_METADATA)
            return info is not None and info.get("id") == avatar_id

        note = await px.wait_for(metadata, names)
        px.check(note["from"] == owner.boundjid.bare, f"metadata from {note['from']}")
        px.check(note["type"] == "headline", f"notification type {note['type']}")
        got = await contact["xep_0084"].retrieve_avatar(owner.boundjid.bare, avatar_id,
                                                        timeout=px.EVENT_BOUND)
        items = list(got["pubsub"]["items"])
        px.check(len(items) == 1 and items[0]["id"] == avatar_id,
                 f"items {[i['id'] for i in items]}")
        data = items[0]["payload"]
        px.check(data is not None and data.tag == "{%s}data" % AVATAR_DATA,
                 f"payload {data.tag if data is not None else None}")
        px.check(base64.b64decode(data.text) == image, "the data is the published image")
        px.emit(round=round_, metadata_notified=True, data_fetched=avatar_id)

    # The second metadata notification came after the second data publication, so a data
    # notification (the contact has no +notify for it) would have come before it.
    px.check(data_events.empty(), "the contact was notified of the data node")
    px.emit(no_data_notification=True)
    for c in (owner, contact):
        await c.stop()


async def nick():
    plugins = ["xep_0030", "xep_0060", "xep_0115", "xep_0163", "xep_0172"]
    owner = px.Client(args.user, args.password, args.port, plugins=plugins, resource="slix")
    contact = px.Client(args.contact, args.password, args.port, plugins=plugins, resource="slix")
    stranger = px.Client(args.stranger, args.password, args.port, plugins=plugins,
                         resource="slix")
    notes = events(contact, NICK)
    for c in (owner, contact, stranger):
        await online(c)

    for name in ("Alice Liddell", "Alice L."):
        await owner["xep_0172"].publish_nick(name, timeout=px.EVENT_BOUND)
        note = await px.wait_for(
            notes, lambda m, name=name: event_payload(m) is not None and
            event_payload(m).text == name)
        px.check(note["from"] == owner.boundjid.bare, f"nick from {note['from']}")
        px.emit(nick_notified=name)

    got = await contact["xep_0060"].get_items(owner.boundjid.bare, NICK, timeout=px.EVENT_BOUND)
    items = list(got["pubsub"]["items"])
    px.check(len(items) == 1, f"{len(items)} items")
    px.check(items[0]["payload"].text == "Alice L.", "the contact reads the latest nick")
    px.emit(contact_read=True)

    try:
        await stranger["xep_0060"].get_items(owner.boundjid.bare, NICK, timeout=px.EVENT_BOUND)
        px.check(False, "a stranger read a presence-access node")
    except IqError as e:
        px.check(e.condition == "not-authorized", f"stranger refused with {e.condition}")
        px.emit(stranger_refused=e.condition)
    for c in (owner, contact, stranger):
        await c.stop()


px.run(avatar if args.scenario == "avatar" else nick)
