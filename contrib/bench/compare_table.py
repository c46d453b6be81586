#!/usr/bin/env python3
"""The table of contrib/bench/compare: parley-bench JSON lines (one per server and scenario,
with "server" and "version" added) in, one table out, with the ratios Parley/<peer>.

  compare_table.py RESULTS.jsonl [--markdown FILE] [--servers parley,prosody,ejabberd]
                   [--cpu TEXT] [--note TEXT]

Known scenarios (idle, chat, fanout) get their headline rows, derived where needed (logins and messages
per server CPU-second are 1e6 / the CPU microseconds per login or message that parley-bench
reports); any other scenario gets one row per numeric JSON field, so new parley-bench commands
are tabulated without changes here.
"""
import argparse
import json
import sys

# (scenario, label, function of the JSON record, "higher" or "lower" is better, format)
def _per_cpu_second(field):
    return lambda r: 1e6 / r[field] if r.get(field) else None


ROWS = [
    ("idle", "sessions held", lambda r: r["ready"] - r["dropped"], "higher", "{:.0f}"),
    ("idle", "memory per idle session (KiB)", lambda r: r["rss_per_session_kib"], "lower", "{:.1f}"),
    ("idle", "server RSS with all sessions (MiB)", lambda r: r["rss_after_kib"] / 1024, "lower", "{:.1f}"),
    ("idle", "server RSS before logins (MiB)", lambda r: r["rss_before_kib"] / 1024, "lower", "{:.1f}"),
    ("idle", "logins per server CPU-second", _per_cpu_second("server_cpu_us_per_login"), "higher", "{:.0f}"),
    ("idle", "logins per second (wall clock)", lambda r: r["logins_per_second"], "higher", "{:.0f}"),
    ("idle", "login time p50 (ms)", lambda r: r["login_p50_ms"], "lower", "{:.1f}"),
    ("idle", "login time p99 (ms)", lambda r: r["login_p99_ms"], "lower", "{:.1f}"),
    ("idle", "generator busy during logins", lambda r: r["generator_cpu_busy"], "info", "{:.2f}"),
    ("idle", "machine load average at start", lambda r: r["load1"], "info", "{:.2f}"),
    ("chat", "messages delivered", lambda r: r["delivered"], "higher", "{:.0f}"),
    ("chat", "messages per server CPU-second", _per_cpu_second("server_cpu_us_per_message"), "higher", "{:.0f}"),
    ("chat", "messages per second (wall clock)", lambda r: r["messages_per_second"], "higher", "{:.0f}"),
    ("chat", "server busy (share of its core)", lambda r: r["server_cpu_busy"], "info", "{:.2f}"),
    ("chat", "delivery p50 (ms)", lambda r: r["p50_ms"], "lower", "{:.2f}"),
    ("chat", "delivery p99 (ms)", lambda r: r["p99_ms"], "lower", "{:.2f}"),
    ("chat", "delivery p99.9 (ms)", lambda r: r["p999_ms"], "lower", "{:.2f}"),
    # With --sm on (SM=on): the server's XEP-0198 acknowledgements (rows left out otherwise).
    ("chat", "acknowledged per second (wall clock)", lambda r: r["acked_per_second"] or None, "higher", "{:.0f}"),
    ("chat", "time to ack p50 (ms)", lambda r: r["ack_p50_ms"] if r["acked"] else None, "lower", "{:.2f}"),
    ("chat", "time to ack p99 (ms)", lambda r: r["ack_p99_ms"] if r["acked"] else None, "lower", "{:.2f}"),
    ("chat", "generator busy", lambda r: r["generator_cpu_busy"], "info", "{:.2f}"),
    ("chat", "machine load average at start", lambda r: r["load1"], "info", "{:.2f}"),
    ("fanout", "occupants", lambda r: r["occupants"], "info", "{:.0f}"),
    ("fanout", "occupant deliveries", lambda r: r["delivered"], "higher", "{:.0f}"),
    ("fanout", "deliveries per server CPU-second", lambda r: r["deliveries_per_server_cpu_second"] or None, "higher", "{:.0f}"),
    ("fanout", "deliveries per second (wall clock)", lambda r: r["deliveries_per_second"], "higher", "{:.0f}"),
    ("fanout", "server busy (share of its core)", lambda r: r["server_cpu_busy"], "info", "{:.2f}"),
    ("fanout", "delivery p50 (ms)", lambda r: r["p50_ms"], "lower", "{:.2f}"),
    ("fanout", "delivery p99 (ms)", lambda r: r["p99_ms"], "lower", "{:.2f}"),
    ("fanout", "delivery p99.9 (ms)", lambda r: r["p999_ms"], "lower", "{:.2f}"),
    ("fanout", "message at all occupants p99 (ms)", lambda r: r["complete_p99_ms"], "lower", "{:.2f}"),
    ("fanout", "join time, all occupants (s)", lambda r: r["join_seconds"], "lower", "{:.2f}"),
    ("fanout", "join p99 (ms)", lambda r: r["join_p99_ms"], "lower", "{:.1f}"),
    ("fanout", "server CPU for the joins (s)", lambda r: r["server_cpu_s_joins"], "lower", "{:.2f}"),
    ("fanout", "presences received in the joins", lambda r: r["join_presences"], "info", "{:.0f}"),
    ("fanout", "memory per occupant (KiB)", lambda r: r["rss_per_occupant_kib"], "lower", "{:.1f}"),
    ("fanout", "generator busy", lambda r: r["generator_cpu_busy"], "info", "{:.2f}"),
    ("fanout", "generator CPU per delivery (us)", lambda r: r["generator_cpu_us_per_delivery"], "info", "{:.2f}"),
    ("fanout", "machine load average at start", lambda r: r["load1"], "info", "{:.2f}"),
]
SKIP = {"server", "version", "scenario"}  # load1 is kept: compare adds it


def rows_for(scenario, records):
    known = [row for row in ROWS if row[0] == scenario]
    if known:
        return known
    fields = []
    for r in records:
        for k, v in r.items():
            if k not in SKIP and isinstance(v, (int, float)) and k not in fields:
                fields.append(k)
    return [(scenario, k, (lambda k: lambda r: r[k])(k), "info", "{:g}") for k in fields]


def value(fn, record):
    if record is None:
        return None
    try:
        return fn(record)
    except (KeyError, TypeError, ZeroDivisionError):
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--markdown")
    ap.add_argument("--servers", default="parley,prosody,ejabberd")
    ap.add_argument("--cpu", default="")
    ap.add_argument("--note", default="")
    args = ap.parse_args()

    records = {}
    versions = {}
    order = []
    with open(args.results) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            r = json.loads(line)
            records[(r["server"], r["scenario"])] = r
            versions[r["server"]] = r.get("version", "")
            if r["scenario"] not in order:
                order.append(r["scenario"])
    servers = args.servers.split(",")
    peers = [s for s in servers if s != "parley"]
    names = {"parley": "Parley", "prosody": "Prosody", "ejabberd": "ejabberd"}
    header = ["scenario", "figure"] + [
        names.get(s, s) + (" " + versions[s] if versions.get(s) else "") for s in servers
    ]
    if "parley" in servers:
        header += ["Parley/" + names.get(p, p) for p in peers]
    header.append("better")

    table = []
    notes = []
    for scenario in order:
        recs = {s: records.get((s, scenario)) for s in servers}
        for s, r in recs.items():
            if r is None:
                notes.append("%s: no %s result" % (s, scenario))
            elif any(r.get(k) for k in ("stopped", "error", "failed", "bounces", "missing",
                                        "duplicates", "out_of_order")):
                notes.append(
                    "%s %s: not clean (%s)"
                    % (s, scenario, ", ".join(
                        "%s=%s" % (k, r[k])
                        for k in ("stopped", "error", "failed", "dropped", "bounces", "missing",
                                  "duplicates", "out_of_order")
                        if r.get(k)))
                )
        for _, label, fn, better, fmt in rows_for(scenario, list(r for r in recs.values() if r)):
            vals = {s: value(fn, recs[s]) for s in servers}
            if all(v is None for v in vals.values()):
                continue
            row = [scenario, label] + ["n/a" if vals[s] is None else fmt.format(vals[s]) for s in servers]
            if "parley" in servers:
                for p in peers:
                    a, b = vals["parley"], vals[p]
                    row.append("n/a" if a is None or b is None or b == 0 else "%.2f" % (a / b))
            row.append(better)
            table.append(row)

    widths = [max(len(str(x)) for x in col) for col in zip(header, *table)] if table else []
    def line(cells):
        return "  ".join(
            (c.ljust(w) if i < 2 else c.rjust(w)) for i, (c, w) in enumerate(zip(cells, widths))
        )
    print(line(header))
    print(line(["-" * w for w in widths]))
    for row in table:
        print(line(row))
    if args.note or args.cpu:
        print("(%s%s)" % (args.cpu + "; " if args.cpu else "", args.note))
    for n in notes:
        print("!! " + n)

    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write("| " + " | ".join(header) + " |\n")
            f.write("|" + "|".join("---" if i < 2 else "---:" for i in range(len(header))) + "|\n")
            for row in table:
                f.write("| " + " | ".join(row) + " |\n")
            if args.note or args.cpu:
                f.write("\n%s%s\n" % (args.cpu + "; " if args.cpu else "", args.note))
            for n in notes:
                f.write("\n- %s\n" % n)
        print("markdown table written to %s" % args.markdown)
    return 1 if notes else 0


if __name__ == "__main__":
    sys.exit(main())
