"""The import graph between agentrl's subpackages and the top-level packages rollout and envs, one edge a line
with its count of module imports (`-v`: one example each). The layers it must respect are pyproject.toml's
[tool.importlinter] contracts; `lint-imports` checks them.

    .venv/bin/python scripts/package_graph.py [-v]
"""

import sys

import grimp


def unit(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "agentrl" and len(parts) > 1 else parts[0]


def main() -> None:
    graph = grimp.build_graph("agentrl", "envs", "rollout")
    edges: dict[tuple[str, str], list[str]] = {}
    for m in graph.modules:
        for d in graph.find_modules_directly_imported_by(m):
            if unit(m) != unit(d):
                edges.setdefault((unit(m), unit(d)), []).append(f"{m} -> {d}")
    for (a, b), why in sorted(edges.items()):
        print(f"{a:22s} -> {b:22s} ({len(why)})" + (f"   e.g. {sorted(why)[0]}" if "-v" in sys.argv else ""))


if __name__ == "__main__":
    main()
