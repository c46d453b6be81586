"""XEP-0398 scenario: the user publishes an avatar with slixmpp's xep_0084 plugin and reads its
vCard with the xep_0054 plugin (the PHOTO is the avatar); then sets a vCard with another PHOTO
and retrieves the XEP-0084 avatar (metadata and data under the image's SHA-1)."""

import asyncio
import base64
import hashlib

import parley_slix as px

METADATA = "urn:xmpp:avatar:metadata"
DATA = "urn:xmpp:avatar:data"
VCARD = "vcard-temp"


def extra(p):
    p.add_argument("--user", required=True)


args = px.arguments(extra)


async def vcard_photo(client, want):
    """The vCard's (TYPE, bytes) once the conversion has written `want` (bounded)."""
    loop = asyncio.get_event_loop()
    until = loop.time() + px.EVENT_BOUND
    while True:
        iq = await client["xep_0054"].get_vcard(client.boundjid.bare, timeout=px.EVENT_BOUND)
        # Read from the XML: the plugin's BINVAL getter does not decode text on Python 3.
        photo = iq.xml.find(f"{{{VCARD}}}vCard/{{{VCARD}}}PHOTO")
        got = ("", b"")
        if photo is not None and photo.find(f"{{{VCARD}}}BINVAL") is not None:
            got = (photo.findtext(f"{{{VCARD}}}TYPE"),
                   base64.b64decode(photo.findtext(f"{{{VCARD}}}BINVAL")))
        if got[1] == want or loop.time() > until:
            return got
        await asyncio.sleep(0.1)


async def scenario():
    c = px.Client(args.user, args.password, args.port,
                  plugins=["xep_0054", "xep_0060", "xep_0084"], resource="slix")
    await c.start()

    first = b"\x89PNG\r\n\x1a\n" + b"slixmpp avatar one"
    first_id = hashlib.sha1(first).hexdigest()
    await c["xep_0084"].publish_avatar(first, timeout=px.EVENT_BOUND)
    await c["xep_0084"].publish_avatar_metadata(
        [{"id": first_id, "type": "image/png", "bytes": len(first)}], timeout=px.EVENT_BOUND)
    mime, data = await vcard_photo(c, first)
    px.emit(vcard_type=mime, vcard_bytes=len(data))
    px.check(data == first, "the vCard PHOTO is not the published avatar")
    px.check(mime == "image/png", f"vCard TYPE {mime}")
    px.emit(vcard_has_pep_avatar=True)

    second = b"\xff\xd8\xff" + b"slixmpp avatar two"
    second_id = hashlib.sha1(second).hexdigest()
    vcard = c["xep_0054"].make_vcard()
    vcard["FN"] = "Slix"
    vcard["PHOTO"]["TYPE"] = "image/jpeg"
    vcard["PHOTO"]["BINVAL"] = second
    await c["xep_0054"].publish_vcard(vcard, timeout=px.EVENT_BOUND)

    loop = asyncio.get_event_loop()
    until = loop.time() + px.EVENT_BOUND
    info = None
    while loop.time() < until:
        result = await c["xep_0060"].get_items(c.boundjid.bare, METADATA, max_items=1,
                                               timeout=px.EVENT_BOUND)
        items = list(result["pubsub"]["items"])
        if items:
            md = items[0].xml.find(f"{{{METADATA}}}metadata")
            found = md.find(f"{{{METADATA}}}info") if md is not None else None
            if found is not None and found.get("id") == second_id:
                info = found
                break
        await asyncio.sleep(0.1)
    px.check(info is not None, "no metadata for the vCard photo")
    px.check(info.get("type") == "image/jpeg", f"info type {info.get('type')}")
    px.check(info.get("bytes") == str(len(second)), f"info bytes {info.get('bytes')}")
    got = await c["xep_0084"].retrieve_avatar(c.boundjid.bare, second_id, timeout=px.EVENT_BOUND)
    item = got["pubsub"]["items"]["item"]
    px.check(item["id"] == second_id, f"data item {item['id']}")
    data = item.xml.find(f"{{{DATA}}}data")
    px.check(data is not None and base64.b64decode(data.text) == second,
             "the avatar data is not the vCard PHOTO")
    px.emit(pep_has_vcard_photo=True)
    await c.stop()


px.run(scenario)
