"""Discovery's cost: reading the index at the first search (time and memory), then a search over every tool.

    python bench/discovery.py [--sets DIR]

Each task of the task sets (tests/tools/discovery_sets/) is searched once to warm up, then five more times; the
figure is the best of the five p50s, with the worst single search of that pass. Run it from a fresh venv
(`pip install -e .`) of each tree to compare, one after the other: it reads the sets of `--sets` so both trees
search the same tasks.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from pathlib import Path

import yaml

from stripe_mcp.tools.query.tool import NAME as QUERY_STRIPE
from stripe_mcp.tools.ranking import SearchIndex
from stripe_mcp.tools.registry import Registry

SETS = Path(__file__).resolve().parent.parent / "tests" / "tools" / "discovery_sets"
PASSES = 5


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096 / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=Path, default=SETS)
    sets = parser.parse_args().sets
    queries = [task["query"] for path in sorted(sets.glob("*.yaml")) for task in yaml.safe_load(path.read_text())]
    registry = Registry()
    index = SearchIndex(registry)
    every_tool = (*registry.tools, QUERY_STRIPE)
    gc.collect()
    before = rss_mb()
    started = time.perf_counter()
    index.search("refund a charge", every_tool, 3)
    first = time.perf_counter() - started
    gc.collect()
    loaded = rss_mb()
    for query in queries:
        index.search(query, every_tool, 3)
    best: tuple[float, float] | None = None
    for _ in range(PASSES):
        times = []
        for query in queries:
            started = time.perf_counter()
            index.search(query, every_tool, 3)
            times.append(time.perf_counter() - started)
        p50 = statistics.median(times)
        if best is None or p50 < best[0]:
            best = (p50, max(times))
    assert best is not None
    size = (registry.root / "search_index.json").stat().st_size
    print(
        f"index {size / 1e6:.2f} MB; first search {first * 1000:.0f} ms, +{loaded - before:.1f} MB RSS "
        f"(+{rss_mb() - before:.1f} MB after every task); {len(queries)} tasks: p50 {best[0] * 1000:.3f} ms, "
        f"worst {best[1] * 1000:.2f} ms"
    )


if __name__ == "__main__":
    main()
