#!/usr/bin/env python3
"""Sets an EdgeModel's spec.model (uri, digest, version) in a manifest, editing only those lines.

`pipeline.sh gitops-update` runs it on the GitOps repository's EdgeModel. Comments, order, quoting
and every other line of the file stay as a person wrote them, so the commit's diff is the version
bump and nothing else (a YAML library would re-emit the whole file). Standard library only.

The EdgeModel is the document with `kind: EdgeModel` whose metadata.name is --name; its
spec.model must be a block mapping (`model:` then indented keys). A key that is not there is added
after the mapping's last key. Without --digest an existing digest line is removed: a new URI with the
old digest would be refused by the engine (DigestMismatch), while no digest is what oci:// and
mlflow:// sources want and what the CRD refuses for the others — `edgeml validate` says which.
Exit status 0 (changed or already as asked; `git diff` tells which), 2 when the file has no such
EdgeModel or its spec.model cannot be edited line by line.
"""
import argparse
import json
import re
import sys

KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z0-9_.-]+):(?P<rest>.*)$")
# A plain scalar that YAML reads back as the same string: no indicator at the start, no ": " or " #".
PLAIN = re.compile(r"^[A-Za-z0-9/][A-Za-z0-9_./:@%+=?&~,-]*$")


class EditError(Exception):
    pass


def scalar(value, force_quotes=False):
    """The value as a YAML scalar: plain when that reads back as this string, else double-quoted
    (a JSON string is a valid YAML double-quoted scalar)."""
    if force_quotes or not PLAIN.match(value) or value.endswith(":"):
        return json.dumps(value)
    return value


def documents(lines):
    """(start, end) line ranges of the YAML documents, split at `---` lines."""
    start = 0
    for i, line in enumerate(lines):
        if line.rstrip("\n") == "---" or line.startswith("--- "):
            yield start, i
            start = i + 1
    yield start, len(lines)


def block(lines, start, end, indent):
    """The keys directly inside a mapping whose entries are at `indent`, between start and end:
    {key: (line index, line)}, and the index after the mapping's last line."""
    keys, i, last = {}, start, start
    while i < end:
        line = lines[i].rstrip("\n")
        if not line.strip() or line.lstrip().startswith("#"):
            i += 1
            continue
        leading = len(line) - len(line.lstrip(" "))
        if leading < indent:
            break
        m = KEY.match(line)
        if leading == indent and m:
            keys[m.group("key")] = i
        last = i + 1
        i += 1
    return keys, last


def child(lines, parent_index, end):
    """The range and indentation of the block mapping under the key on `parent_index`."""
    parent = lines[parent_index].rstrip("\n")
    m = KEY.match(parent)
    rest = m.group("rest").split(" #", 1)[0].strip()
    if rest:
        raise EditError(f"line {parent_index + 1}: `{parent.strip()}` is not a block mapping (flow style or a value); edit it by hand")
    for i in range(parent_index + 1, end):
        line = lines[i].rstrip("\n")
        if line.strip() and not line.lstrip().startswith("#"):
            indent = len(line) - len(line.lstrip(" "))
            if indent <= len(m.group("indent")):
                break
            return block(lines, i, end, indent) + (indent,)
    raise EditError(f"line {parent_index + 1}: `{parent.strip()}` is empty")


def find_model(lines, name):
    for start, end in documents(lines):
        top, _ = block(lines, start, end, 0)
        kind = top.get("kind")
        if kind is None or KEY.match(lines[kind].rstrip("\n")).group("rest").split(" #")[0].strip() != "EdgeModel":
            continue
        if "metadata" not in top or "spec" not in top:
            continue
        meta, _, _ = child(lines, top["metadata"], end)
        if "name" not in meta:
            continue
        found = KEY.match(lines[meta["name"]].rstrip("\n")).group("rest").split(" #")[0].strip().strip("'\"")
        if found != name:
            continue
        spec, spec_end, _ = child(lines, top["spec"], end)
        if "model" not in spec:
            raise EditError(f"EdgeModel {name} has no spec.model")
        return child(lines, spec["model"], spec_end)
    raise EditError(f"no EdgeModel named {name} in the file")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("--name", required=True, help="the EdgeModel's metadata.name")
    parser.add_argument("--version", required=True)
    parser.add_argument("--uri", required=True)
    parser.add_argument("--digest", help="sha256:HEX; without it the digest line is removed")
    args = parser.parse_args()
    if args.digest is not None and not re.fullmatch(r"sha256:[0-9a-f]{64}", args.digest):
        print(f"bump-model: --digest must be sha256: and 64 lowercase hex digits, not {args.digest!r}", file=sys.stderr)
        return 2
    with open(args.file) as f:
        lines = f.readlines()
    try:
        keys, last, indent = find_model(lines, args.name)
    except EditError as error:
        print(f"bump-model: {args.file}: {error}", file=sys.stderr)
        return 2
    # The version is a string in the CRD: always quoted, or "4" would be read as a number.
    wanted = {"uri": scalar(args.uri), "version": scalar(args.version, force_quotes=True)}
    if args.digest is not None:
        wanted["digest"] = args.digest
    edits, removals, additions = {}, [], []
    for key, value in wanted.items():
        if key in keys:
            i = keys[key]
            m = KEY.match(lines[i].rstrip("\n"))
            comment = ""
            if " #" in m.group("rest"):
                comment = " #" + m.group("rest").split(" #", 1)[1]
            edits[i] = f"{m.group('indent')}{key}: {value}{comment}\n"
        else:
            additions.append(f"{' ' * indent}{key}: {value}\n")
    if args.digest is None and "digest" in keys:
        removals.append(keys["digest"])
    for i, line in edits.items():
        lines[i] = line
    if last > 0 and not lines[last - 1].endswith("\n"):
        lines[last - 1] += "\n"
    lines[last:last] = additions
    for i in sorted(removals, reverse=True):
        del lines[i]
    with open(args.file, "w") as f:
        f.writelines(lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
