"""OMEMO key publication on PEP with slixmpp's xep_0060, xep_0163 and xep_0115 plugins, both
generations a client may speak (the payloads are built by hand: Debian's slixmpp has no OMEMO
plugin, and the keys need only be base64):

- XEP-0384 0.3 (eu.siacs.conversations.axolotl, what Conversations, Gajim and Dino deploy): the
  device list at the devicelist node, item 'current'; one node per device for its bundle
  (...bundles:<device id>, item 'current'); both published with publish-options
  access_model=open.
- XEP-0384 0.8+ (urn:xmpp:omemo:2): the device list at urn:xmpp:omemo:2:devices, item 'current';
  every bundle as an item of urn:xmpp:omemo:2:bundles whose id is the device id, published with
  max_items=max (and access_model=open), so that a second device's bundle keeps the first.

The user and the contact share presence both ways (the C++ test set that up) and are
interested in both device-list nodes through their caps; the stranger shares nothing and still
fetches a bundle of each generation, as a sender starting a session does."""

import base64

from slixmpp.xmlstream import ET

import parley_slix as px


def extra(p):
    p.add_argument("--user", required=True)
    p.add_argument("--contact", required=True)
    p.add_argument("--stranger", required=True)


args = px.arguments(extra)

AXOLOTL = "eu.siacs.conversations.axolotl"
DEVICELIST = AXOLOTL + ".devicelist"
BUNDLES = AXOLOTL + ".bundles"
OMEMO2 = "urn:xmpp:omemo:2"
DEVICES2 = OMEMO2 + ":devices"
BUNDLES2 = OMEMO2 + ":bundles"


def key(label):
    """Some base64 bytes standing in for a public key or signature."""
    return base64.b64encode(("%s-key-material" % label).encode()).decode()


def legacy_devicelist(ids):
    lst = ET.Element("{%s}list" % AXOLOTL)
    for i in ids:
        ET.SubElement(lst, "{%s}device" % AXOLOTL, id=str(i))
    return lst


def legacy_bundle(device):
    b = ET.Element("{%s}bundle" % AXOLOTL)
    spk = ET.SubElement(b, "{%s}signedPreKeyPublic" % AXOLOTL, signedPreKeyId="1")
    spk.text = key("spk%d" % device)
    ET.SubElement(b, "{%s}signedPreKeySignature" % AXOLOTL).text = key("spks%d" % device)
    ET.SubElement(b, "{%s}identityKey" % AXOLOTL).text = key("ik%d" % device)
    prekeys = ET.SubElement(b, "{%s}prekeys" % AXOLOTL)
    for n in range(1, 4):
        pk = ET.SubElement(prekeys, "{%s}preKeyPublic" % AXOLOTL, preKeyId=str(n))
        pk.text = key("pk%d-%d" % (device, n))
    return b


def devices2(ids):
    d = ET.Element("{%s}devices" % OMEMO2)
    for i in ids:
        ET.SubElement(d, "{%s}device" % OMEMO2, id=str(i))
    return d


def bundle2(device):
    b = ET.Element("{%s}bundle" % OMEMO2)
    ET.SubElement(b, "{%s}spk" % OMEMO2, id="1").text = key("spk%d" % device)
    ET.SubElement(b, "{%s}spks" % OMEMO2).text = key("spks%d" % device)
    ET.SubElement(b, "{%s}ik" % OMEMO2).text = key("ik%d" % device)
    prekeys = ET.SubElement(b, "{%s}prekeys" % OMEMO2)
    for n in range(1, 4):
        ET.SubElement(prekeys, "{%s}pk" % OMEMO2, id=str(n)).text = key("pk%d-%d" % (device, n))
    return b


def options(client, **fields):
    """A publish-options form (XEP-0060 §7.1.5) with pubsub#<name> = value."""
    form = client["xep_0004"].make_form(ftype="submit")
    form.add_field(var="FORM_TYPE", ftype="hidden",
                   value="http://jabber.org/protocol/pubsub#publish-options")
    for name, value in fields.items():
        form.add_field(var="pubsub#" + name, value=value)
    return form


async def publish(client, node, item_id, payload, **fields):
    return await client["xep_0060"].publish(None, node, id=item_id, payload=payload,
                                            options=options(client, **fields),
                                            timeout=px.EVENT_BOUND)


async def publish_all(client, devices):
    """What a client does at start: its device lists with every device, its own bundle."""
    own = devices[-1]
    await publish(client, DEVICELIST, "current", legacy_devicelist(devices), access_model="open")
    await publish(client, "%s:%d" % (BUNDLES, own), "current", legacy_bundle(own),
                  access_model="open")
    await publish(client, DEVICES2, "current", devices2(devices), access_model="open")
    await publish(client, BUNDLES2, str(own), bundle2(own), max_items="max",
                  access_model="open")


def device_ids(payload, ns):
    return sorted(int(d.get("id")) for d in payload.findall("{%s}device" % ns))


def list_events(client, node, owner):
    return px.queue_of(client, "pubsub_publish",
                       lambda m: m["pubsub_event"]["items"]["node"] == node and
                       m["from"] == owner)


async def wait_list(queue, ns, ids):
    """The next device-list notification (or last item) listing exactly `ids`."""
    def lists(m):
        p = m["pubsub_event"]["items"]["item"]["payload"]
        return p is not None and device_ids(p, ns) == sorted(ids)
    return await px.wait_for(queue, lists)


def single_item(iq):
    items = list(iq["pubsub"]["items"])
    px.check(len(items) == 1, f"{len(items)} items: {[i['id'] for i in items]}")
    return items[0]


async def scenario():
    plugins = ["xep_0004", "xep_0030", "xep_0060", "xep_0115", "xep_0163"]
    user = px.Client(args.user, args.password, args.port, plugins=plugins, resource="phone")
    contact = px.Client(args.contact, args.password, args.port, plugins=plugins,
                        resource="laptop")
    stranger = px.Client(args.stranger, args.password, args.port, plugins=plugins,
                         resource="desk")
    owner_jid = args.user
    at_contact = list_events(contact, DEVICELIST, owner_jid)
    at_contact2 = list_events(contact, DEVICES2, owner_jid)
    at_user = list_events(user, DEVICELIST, args.contact)
    for c in (user, contact, stranger):
        await c.start(presence=False)
        # Interest in the device lists (XEP-0384 §5.3.1), in the caps of the first presence.
        c["xep_0163"].add_interest([DEVICELIST, DEVICES2])
        await c["xep_0115"].update_caps(broadcast=False)
        c.send_presence()

    # The user's first device: the contact learns the device lists, of either generation, by
    # notification or as the last items when the server has its caps.
    await publish_all(user, [1111])
    await wait_list(at_contact, AXOLOTL, [1111])
    await wait_list(at_contact2, OMEMO2, [1111])
    px.emit(contact_got_first_lists=True)

    # A second device: both lists updated, its bundles next to the first one's.
    await publish_all(user, [1111, 2222])
    await wait_list(at_contact, AXOLOTL, [1111, 2222])
    await wait_list(at_contact2, OMEMO2, [1111, 2222])
    px.emit(contact_got_second_lists=True)

    # The stranger starts a session: device lists and bundles are open.
    lst = single_item(await stranger["xep_0060"].get_items(owner_jid, DEVICELIST,
                                                           timeout=px.EVENT_BOUND))
    px.check(lst["id"] == "current", f"device list item {lst['id']}")
    px.check(device_ids(lst["payload"], AXOLOTL) == [1111, 2222], "legacy device list")
    for device in (1111, 2222):
        b = single_item(await stranger["xep_0060"].get_item(
            owner_jid, "%s:%d" % (BUNDLES, device), "current", timeout=px.EVENT_BOUND))
        spk = b["payload"].find("{%s}signedPreKeyPublic" % AXOLOTL)
        px.check(spk is not None and spk.text == key("spk%d" % device),
                 f"legacy bundle of {device}")
        px.check(len(b["payload"].findall("{%s}prekeys/{%s}preKeyPublic" % (AXOLOTL, AXOLOTL)))
                 == 3, "three prekeys")
    px.emit(stranger_got_legacy_bundles=True)

    got = await stranger["xep_0060"].get_items(owner_jid, BUNDLES2, timeout=px.EVENT_BOUND)
    ids = sorted(i["id"] for i in got["pubsub"]["items"])
    px.check(ids == ["1111", "2222"], f"omemo:2 bundles kept with max_items=max: {ids}")
    b = single_item(await stranger["xep_0060"].get_item(owner_jid, BUNDLES2, "1111",
                                                        timeout=px.EVENT_BOUND))
    spk = b["payload"].find("{%s}spk" % OMEMO2)
    px.check(spk is not None and spk.text == key("spk1111"), "omemo:2 bundle of 1111")
    d = single_item(await stranger["xep_0060"].get_items(owner_jid, DEVICES2,
                                                         timeout=px.EVENT_BOUND))
    px.check(device_ids(d["payload"], OMEMO2) == [1111, 2222], "omemo:2 device list")
    px.emit(stranger_got_omemo2_bundles=ids)

    # And the other way: the contact's device reaches the user.
    await publish_all(contact, [3333])
    await wait_list(at_user, AXOLOTL, [3333])
    px.emit(user_got_contact_list=True)

    for c in (user, contact, stranger):
        await c.stop()


px.run(scenario)
