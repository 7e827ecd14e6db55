"""The process `grep` matches in, so that no pattern can hang the agent or the gateway.

    python grep_worker.py PATTERN MAX_LINE_CHARS

Run as a script (standard library only, started in a few milliseconds). Reads one JSON
`[shown_path, text]` per line on stdin; writes one JSON `[shown_path, line_number, line]` per
matching line on stdout, flushed per file. A pattern that backtracks catastrophically
(`(a+)+$`) only keeps this process busy: the tool kills it at its time limit, on an abort
or on Ctrl-C.
"""

from __future__ import annotations

import json
import re
import sys


def main(pattern: str, max_line_chars: int) -> int:
    regex = re.compile(pattern)
    out = sys.stdout
    for record in sys.stdin:
        shown, text = json.loads(record)
        for number, line in enumerate(text.split("\n"), start=1):
            if regex.search(line) is None:
                continue
            line = line.rstrip("\r")
            if len(line) > max_line_chars:
                line = line[:max_line_chars] + " [... line cut]"
            out.write(json.dumps([shown, number, line], ensure_ascii=False) + "\n")
        out.write("null\n")  # this file is done
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2])))
