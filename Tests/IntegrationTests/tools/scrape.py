#!/usr/bin/python3
"""Fetches a plainmode metrics page and parses it with prometheus_client's text parser.

scrape.py URL            prints {"status": 200, "content_type": ..., "families": [{"name", "type",
                         "samples": [{"name", "labels", "value"}]}]} as one JSON line; exit 1 if
                         the text does not parse.
scrape.py --status URL   prints {"status": N} only (for a 404 or 405 check).
Run it with Debian's /usr/bin/python3, where python3-prometheus-client installs.
"""
import json
import sys
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families


def fetch(url, method="GET"):
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers.get("Content-Type"), response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type"), error.read().decode("utf-8", "replace")


def main():
    args = sys.argv[1:]
    if args and args[0] in ("--status", "--post-status"):
        status, _, _ = fetch(args[1], "POST" if args[0] == "--post-status" else "GET")
        print(json.dumps({"status": status}))
        return 0
    status, content_type, text = fetch(args[0])
    families = [
        {
            "name": family.name,
            "type": family.type,
            "help": family.documentation,
            "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for s in family.samples],
        }
        for family in text_string_to_metric_families(text)
    ]
    print(json.dumps({"status": status, "content_type": content_type, "families": families}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
