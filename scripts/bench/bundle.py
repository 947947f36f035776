"""make bench: the bundle's sizes (raw, gzip, brotli as precompressed by the build), and
what each page's wasm is: the main module plus the chunks wasm-split says the page needs
(`__wasm_split_manifest.<hash>.json`). Prints one JSON object.

    python3 scripts/bench/bundle.py <hash.txt> <pkg dir>
"""

import gzip
import json
import os
import sys


def sizes(path):
    raw = os.path.getsize(path)
    gz = os.path.getsize(path + ".gz") if os.path.exists(path + ".gz") else None
    if gz is None:
        with open(path, "rb") as f:
            gz = len(gzip.compress(f.read(), 9))
    br = os.path.getsize(path + ".br") if os.path.exists(path + ".br") else 0
    return {"name": os.path.basename(path), "raw": raw, "gz": gz, "br": br}


def total(items):
    return {k: sum(i[k] for i in items) for k in ("raw", "gz", "br")}


def main():
    hash_file, pkg = sys.argv[1], sys.argv[2]
    hashes = {}
    with open(hash_file) as f:
        for line in f:
            if ":" in line:
                k, v = line.split(":", 1)
                hashes[k.strip()] = v.strip()
    out = {ext: sizes(os.path.join(pkg, f"portal.{hashes[ext]}.{ext}")) for ext in ("wasm", "js", "css")}
    if "manifest" in hashes:
        with open(os.path.join(pkg, f"__wasm_split_manifest.{hashes['manifest']}.json")) as f:
            manifest = json.load(f)
        pages = {}
        for key, chunks in sorted(manifest.items()):
            # "__integracoes_route_view_<hash>" → "integracoes"
            name = key.strip("_").split("_route_view")[0]
            parts = [sizes(os.path.join(pkg, c + ".wasm")) for c in chunks]
            pages[name] = {"chunks": len(parts), **total(parts + [out["wasm"]])}
        every = sorted({c for chunks in manifest.values() for c in chunks})
        out["split"] = {
            "pages": pages,
            "all": total([sizes(os.path.join(pkg, c + ".wasm")) for c in every] + [out["wasm"]]),
        }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
