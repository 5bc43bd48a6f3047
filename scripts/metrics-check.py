#!/usr/bin/env python3
"""Check what `einv-load run --metrics-addr` served against the run's summary.json.

    python3 scripts/metrics-check.py METRICS.txt REPORT_DIR/summary.json [DURING.txt ...]

Each text file is a scrape of http://ADDR/metrics. Every one must parse with the official
Python client's OpenMetrics parser and with its classic Prometheus text parser; the first
must be the final one (einv_load_finished 1), and its counters must equal summary.json's:
per op, requests by class (ok and each error class), responses by status, skipped, check
failures, queued, and the latency histogram's count. Scrapes taken during the run (after
the first) must have counters no greater than the final ones and histogram buckets that
never decrease. Needs `pip install prometheus_client`. Exit 0 when all holds, 1 otherwise.
"""

import json
import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_classic


def samples(text):
    """{(sample name, sorted labels): value} from the OpenMetrics parser; the classic
    parser must read the same text (without the OpenMetrics-only `# EOF`)."""
    families = list(parse_openmetrics(text))
    classic = text.replace("# EOF\n", "")
    list(parse_classic(classic))
    out = {}
    for family in families:
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def expected(summary):
    """The counters summary.json implies, keyed as in `samples`."""
    want = {}
    for op, o in summary["ops"].items():
        r = o["requests"]
        want[("einv_load_requests_total", (("class", "ok"), ("op", op)))] = r["ok"]
        for cls, n in o["errors"].items():
            want[("einv_load_requests_total", (("class", cls), ("op", op)))] = n
        for code, n in o["status"].items():
            want[("einv_load_responses_total", (("op", op), ("status", code)))] = n
        for key, name in (("skipped", "skipped"), ("check_failed", "check_failed"), ("queued", "queued")):
            want[(f"einv_load_{name}_total", (("op", op),))] = r[key]
        want[("einv_load_latency_seconds_count", (("op", op),))] = o["latency_ms"]["count"]
    return want


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    final_text = open(argv[1], encoding="utf-8").read()
    summary = json.load(open(argv[2], encoding="utf-8"))
    final = samples(final_text)
    problems = []
    if final.get(("einv_load_finished", ())) != 1:
        problems.append("the final scrape is not marked einv_load_finished 1")
    want = expected(summary)
    for key, value in sorted(want.items()):
        got = final.get(key)
        if got != value:
            problems.append(f"{key[0]}{dict(key[1])}: scraped {got}, summary.json {value}")
    # Counters the summary leaves out (error classes that did not occur) must be 0.
    sent = {op: o["requests"]["sent"] for op, o in summary["ops"].items()}
    for op, n in sent.items():
        total = sum(v for (name, labels), v in final.items()
                    if name == "einv_load_requests_total" and dict(labels)["op"] == op)
        if total != n:
            problems.append(f"op {op}: requests by class add up to {total}, summary.json sent {n}")
    for path in argv[3:]:
        during = samples(open(path, encoding="utf-8").read())
        for (name, labels), v in during.items():
            if name.endswith("_total") and v > final.get((name, labels), 0):
                problems.append(f"{path}: {name}{dict(labels)} = {v} is above the final {final.get((name, labels))}")
        check_buckets(path, during, problems)
    check_buckets(argv[1], final, problems)
    for p in problems:
        print(f"metrics-check: {p}", file=sys.stderr)
    if problems:
        return 1
    print(f"metrics-check: {len(want)} counters equal summary.json; {len(argv) - 2} scrapes parse "
          "(OpenMetrics and classic parsers)")
    return 0


def check_buckets(path, scraped, problems):
    """Cumulative buckets never decrease, and +Inf equals the count."""
    series = {}
    for (name, labels), v in scraped.items():
        if name.endswith("_bucket"):
            d = dict(labels)
            le = float(d.pop("le"))
            series.setdefault((name, tuple(sorted(d.items()))), []).append((le, v))
    for (name, labels), buckets in series.items():
        counts = [v for _, v in sorted(buckets)]
        if counts != sorted(counts):
            problems.append(f"{path}: {name}{dict(labels)}: buckets decrease")
        count = scraped.get((name[: -len("_bucket")] + "_count", labels))
        if counts and counts[-1] != count:
            problems.append(f"{path}: {name}{dict(labels)}: +Inf {counts[-1]} != count {count}")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
