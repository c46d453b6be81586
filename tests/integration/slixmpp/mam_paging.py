"""MAM scenario: slixmpp's XEP-0313 plugin pages through an archive with RSM (XEP-0059), forwards
page by page and then backwards from the last page, and checks it saw every archived message
once, in order, with the archive ids unique and the complete set of pages.
"""

import slixmpp.jid

import parley_slix as px


def extra(p):
    p.add_argument("--jid", required=True)
    p.add_argument("--with", dest="with_jid", required=True)
    p.add_argument("--expect", type=int, required=True)
    p.add_argument("--page", type=int, default=5)


args = px.arguments(extra)


def summary(message):
    result = message["mam_result"]
    inner = result["forwarded"]["stanza"]
    return result["id"], inner["body"]


async def scenario():
    c = px.Client(args.jid, args.password, args.port,
                  plugins=["xep_0030", "xep_0059", "xep_0297", "xep_0313"])
    await c.start(presence=False)
    info = await c["xep_0030"].get_info(jid=c.boundjid.bare, timeout=px.EVENT_BOUND)
    features = info["disco_info"]["features"]
    px.check("urn:xmpp:mam:2" in features, "urn:xmpp:mam:2 not advertised")

    with_jid = slixmpp.jid.JID(args.with_jid)
    pages = 0
    forward = []
    it = c["xep_0313"].retrieve(with_jid=with_jid, iterator=True, rsm={"max": args.page})
    async for page in it:
        results = page["mam"]["results"]
        px.check(len(results) <= args.page, f"page of {len(results)} > max {args.page}")
        forward.extend(summary(m) for m in results)
        pages += 1
        px.check(pages <= args.expect + 1, "paging does not end")
    # Backwards: the last page first (an empty RSM <before/>), then older pages before the
    # oldest message seen, until the server marks the result complete. (slixmpp's own reverse
    # iterator stops after one page when the server reports the first index, so the older
    # pages are asked for one by one.)
    backward = []
    async for message in c["xep_0313"].iterate(with_jid=with_jid, reverse=True,
                                               rsm={"max": args.page}, total=args.page):
        backward.append(summary(message))
    complete = False
    while not complete:
        px.check(len(backward) <= args.expect, "reverse paging does not end")
        r = await c["xep_0313"].retrieve(with_jid=with_jid, timeout=px.EVENT_BOUND,
                                         rsm={"max": args.page, "before": backward[-1][0]})
        older = [summary(m) for m in r["mam"]["results"]]
        backward.extend(reversed(older))
        complete = r["mam_fin"].xml.get("complete") == "true"

    ids = [i for i, _ in forward]
    bodies = [b for _, b in forward]
    px.emit(pages=pages, messages=len(forward), first=bodies[:1], last=bodies[-1:])
    px.check(len(forward) == args.expect, f"{len(forward)} messages, expected {args.expect}")
    px.check(len(set(ids)) == len(ids), "an archive id came twice")
    px.check(bodies == [f"m{i}" for i in range(1, args.expect + 1)], f"order: {bodies}")
    px.check(list(reversed(backward)) == forward, "backwards paging saw something else")
    await c.stop()


px.run(scenario)
