#!/usr/bin/env python3
"""Session 46, part C: every committed report of the real-image check since session 38
(the photograph-trained models), one row per model and setting, to see how far the
family of models the synthetic rules produce reaches against HOG's AP. Reads committed
JSON only; measures nothing.

    python docs/accuracy/real_world/s46/reachability.py [--json OUT.json] > OUT.md
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent  # docs/accuracy/real_world
SESSIONS = range(38, 47)


def reports() -> list[dict]:
    rows, seen = [], set()
    for s in SESSIONS:
        for path in sorted((ROOT / f"s{s}").rglob("*.json")):
            try:
                data = json.loads(path.read_text())
            except (OSError, json.JSONDecodeError):
                continue
            if not isinstance(data, dict) or "detectors" not in data or "cluenet" not in data["detectors"]:
                continue
            info = data.get("set", {})
            if info.get("people") != 75 or info.get("images") != 14:  # the check only
                continue
            c, hog = data["detectors"]["cluenet"], data["detectors"].get("hog")
            weights = str(data.get("weights", ""))
            model = re.sub(r"^.*/runs/", "runs/", weights)
            key = (model, c.get("note", ""), round(c["ap"], 6))
            if key in seen:
                continue
            seen.add(key)
            street = c.get("by_scene", {}).get("street", {}).get("ap")
            rows.append({"report": str(path.relative_to(ROOT)), "model": model, "settings": c.get("note", ""),
                         "ap": c["ap"], "max_recall": c.get("max_recall"), "street_ap": street,
                         "hog_ap": hog["ap"] if hog else None,
                         "hog_street_ap": (hog or {}).get("by_scene", {}).get("street", {}).get("ap")})
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    rows = reports()
    hog = statistics.median(r["hog_ap"] for r in rows if r["hog_ap"] is not None)
    aps = sorted(r["ap"] for r in rows)
    above = [r for r in rows if r["ap"] >= hog]
    plain = [r for r in rows if "perspective" not in r["settings"] and "rescor" not in r["settings"]]
    print(f"{len(rows)} distinct (model, setting) reads of the 14-image check in sessions 38-46; HOG's AP {100 * hog:.1f}%\n")
    print(f"- AP: median {100 * statistics.median(aps):.1f}%, quartiles {100 * aps[len(aps) // 4]:.1f} / "
          f"{100 * aps[3 * len(aps) // 4]:.1f}%, highest {100 * aps[-1]:.1f}%")
    print(f"- at or above HOG: {len(above)} ({', '.join(r['model'] + ' [' + r['settings'] + ']' for r in above) or 'none'})")
    print(f"- without perspective rescoring: highest {100 * max(r['ap'] for r in plain):.1f}% of {len(plain)}")
    hog_street = statistics.median(r["hog_street_ap"] for r in rows if r["hog_street_ap"] is not None)
    street = [r for r in plain if r["street_ap"] is not None]
    print(f"- the courtyard's 12 frames alone (73 people): HOG {100 * hog_street:.1f}%; reads without perspective "
          f"rescoring at or above it: {sum(r['street_ap'] >= hog_street for r in street)} of {len(street)}, "
          f"highest {100 * max(r['street_ap'] for r in street):.1f}%")
    gaps = [r["ap"] - r["street_ap"] for r in street]
    print(f"- pooled minus courtyard AP (the two stills' false boxes ranked among the courtyard's people): ClueNet "
          f"median {100 * statistics.median(gaps):+.1f} points, HOG {100 * (hog - hog_street):+.1f}\n")
    print("| AP | courtyard AP | max recall | model | settings | report |")
    print("|---|---|---|---|---|---|")
    for r in sorted(rows, key=lambda r: -r["ap"]):
        street = "" if r["street_ap"] is None else f"{100 * r['street_ap']:.1f}%"
        print(f"| {100 * r['ap']:.1f}% | {street} | {100 * (r['max_recall'] or 0):.1f}% | {r['model']} | "
              f"{r['settings']} | {r['report']} |")
    if args.json:
        Path(args.json).write_text(json.dumps({"hog_ap": hog, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
