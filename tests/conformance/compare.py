#!/usr/bin/env python3
"""Compares the runners' observations with each other (run.sh calls it).

    compare.py LANG=FILE.jsonl ...

Every language must have observed the same thing for every scenario: the same JSON
observation apart from "lang". Error messages are compared too (they come from the library,
so every binding must pass them through unchanged); ephemeral ports are already masked by the
runners. A scenario a language did not run (crashed runner, missing line) is a disagreement; one it
declared not applicable ("notApplicable", e.g. C for a NUL inside a host string) is left out.
Prints one line per disagreement and a summary; exits 1 when there is any.
"""
from __future__ import annotations

import json
import sys
from typing import Any, Dict, List


def load(path: str) -> Dict[str, Dict[str, Any]]:
    out: Dict[str, Dict[str, Any]] = {}
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line:
                    obs = json.loads(line)
                    obs.pop("lang", None)
                    out[obs["name"]] = obs
    except FileNotFoundError:
        pass
    return out


def differences(values: Dict[str, Any], prefix: str = "") -> List[str]:
    """Where the languages' values differ: objects are compared key by key when every
    language has an object there, anything else as a whole."""
    if all(isinstance(v, dict) for v in values.values()):
        out: List[str] = []
        for k in sorted({k for v in values.values() for k in v}):
            out += differences({l: v.get(k, "<absent>") for l, v in values.items()}, f"{prefix}.{k}" if prefix else k)
        return out
    shown = {l: json.dumps(v, sort_keys=True, ensure_ascii=False) for l, v in values.items()}
    if len(set(shown.values())) == 1:
        return []
    groups: Dict[str, List[str]] = {}
    for l, v in shown.items():
        groups.setdefault(v, []).append(l)
    return [f"{prefix}: " + " | ".join(f"{'/'.join(ls)}={v}" for v, ls in groups.items())]


def main(argv: List[str]) -> int:
    langs: List[str] = []
    data: Dict[str, Dict[str, Dict[str, Any]]] = {}
    for arg in argv:
        lang, _, path = arg.partition("=")
        langs.append(lang)
        data[lang] = load(path)
    names: List[str] = []
    for lang in langs:
        for n in data[lang]:
            if n not in names:
                names.append(n)

    disagreements = 0
    for name in names:
        # A runner that cannot express a scenario (C and a NUL inside a string) says so.
        applicable = [l for l in langs if "notApplicable" not in data[l].get(name, {})]
        present = [l for l in applicable if name in data[l]]
        missing = [l for l in applicable if name not in data[l]]
        if missing:
            disagreements += 1
            print(f"DIFFER {name}: no observation from {', '.join(missing)}")
        if len(present) < 2:
            continue
        diffs = differences({l: data[l][name] for l in present})
        if diffs:
            disagreements += 1
            print(f"DIFFER {name}: " + "; ".join(diffs))
    print(f"languages agree on {len(names) - disagreements} of {len(names)} scenarios"
          + (f" ({disagreements} disagreements)" if disagreements else ""))
    return 1 if disagreements else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
