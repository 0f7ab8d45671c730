"""``cluenet cache``: what the backend cache holds (``list``) and removing what no
start will read again (``prune``). The work is in :mod:`.cache`."""
from __future__ import annotations

import json
import time
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("cache", help="list the exported graphs in the backend cache, or prune them")
    p.add_argument("--dir", type=Path, default=None,
                   help="the cache folder (default: $CLUENET_CACHE_DIR, else $XDG_CACHE_HOME/cluenet_ros/backends)")
    c = p.add_subparsers(dest="cache_command", metavar="WHAT", required=True)
    ls = c.add_parser("list", help="every entry: kind, size, last use, the checkpoint of standalone graphs, "
                                   "and whether a prune removes it")
    ls.add_argument("--json", action="store_true", help="one JSON object instead of the table")
    ls.set_defaults(func=_list)
    pr = c.add_parser("prune", help="remove standalone graphs of another format, compiled graphs of another "
                                    "torch version and interrupted exports; "
                                    "with --older-than also entries not used for that long (all are "
                                    "exported again when needed)")
    pr.add_argument("--older-than", type=float, default=None, metavar="DAYS",
                    help="also remove entries no start has read for DAYS days")
    pr.add_argument("--all", action="store_true", dest="everything",
                    help="remove every entry this package wrote (folders it does not know are kept)")
    pr.add_argument("--dry-run", action="store_true", help="say what would be removed; remove nothing")
    pr.set_defaults(func=_prune)


def _root(args) -> Path:
    from cluenet_ros.inference.runtimes import cache_root

    return args.dir if args.dir is not None else cache_root()


def _list(args) -> int:
    from cluenet_ros.inference import cache

    root = _root(args)
    entries = cache.scan(root)
    prunable = {e.path for e in cache.select(entries)}
    if args.json:
        print(json.dumps({"cache": str(root), "entries": [
            {"name": e.path.name, "kind": e.kind, "bytes": e.size, "last_used": e.last_used, "weights": e.weights,
             "format": e.format, "stale": e.stale, "pruned_by_default": e.path in prunable} for e in entries]},
            indent=2))
        return 0
    print(f"{root}: {len(entries)} entries, {_mb(sum(e.size for e in entries))}")
    for e in entries:
        what = e.kind + (f" (format {e.format})" if e.format is not None else "")
        note = f"  <- prune: {e.stale}" if e.path in prunable else ""
        weights = f"  {e.weights}" if e.weights else ""
        print(f"  {_mb(e.size):>9}  {time.strftime('%Y-%m-%d', time.localtime(e.last_used))}  "
              f"{e.path.name:<40}  {what}{weights}{note}")
    n, size = len(prunable), sum(e.size for e in entries if e.path in prunable)
    if n:
        print(f"`cluenet cache prune` removes {n} of them ({_mb(size)})")
    return 0


def _prune(args) -> int:
    from cluenet_ros.inference import cache

    root = _root(args)
    chosen = cache.select(cache.scan(root), args.older_than, args.everything)
    for e in chosen:
        why = e.stale or ("--all" if args.everything else f"not used for {args.older_than:g} days")
        print(f"{'would remove' if args.dry_run else 'removing'} {e.path.name} ({e.kind}, {_mb(e.size)}): {why}")
    if args.dry_run:
        print(f"{len(chosen)} entries, {_mb(sum(e.size for e in chosen))} (dry run: nothing removed)")
        return 0
    freed = cache.remove(chosen)
    print(f"removed {len(chosen)} entries from {root}, {_mb(freed)} freed")
    return 0


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"
