#!/usr/bin/env python3
"""Writes a tar to stdout from a JSON list of entries on stdin: the image tests' layer builder,
able to make the malicious tars a real tar tool refuses to (names with `..`, absolute names,
links out of the tree).

Entry: {"name": str, "type": "file"|"dir"|"symlink"|"hardlink"|"chr"|"blk"|"fifo",
        "data": str (file content), "target": str (links), "mode": int, "uid": int, "gid": int,
        "mtime": int, "major": int, "minor": int, "xattrs": {name: value}}
argv[1] (optional): pax (default) | gnu | ustar.
"""
import io
import json
import sys
import tarfile

TYPES = {
    "file": tarfile.REGTYPE,
    "dir": tarfile.DIRTYPE,
    "symlink": tarfile.SYMTYPE,
    "hardlink": tarfile.LNKTYPE,
    "chr": tarfile.CHRTYPE,
    "blk": tarfile.BLKTYPE,
    "fifo": tarfile.FIFOTYPE,
}
FORMATS = {"pax": tarfile.PAX_FORMAT, "gnu": tarfile.GNU_FORMAT, "ustar": tarfile.USTAR_FORMAT}


def main():
    entries = json.load(sys.stdin)
    fmt = FORMATS[sys.argv[1] if len(sys.argv) > 1 else "pax"]
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as tar:
        for e in entries:
            kind = e.get("type", "file")
            info = tarfile.TarInfo(e["name"])
            info.type = TYPES[kind]
            info.mode = e.get("mode", 0o755 if kind == "dir" else 0o644)
            info.uid = e.get("uid", 0)
            info.gid = e.get("gid", 0)
            info.mtime = e.get("mtime", 1000000000)
            info.linkname = e.get("target", "")
            info.devmajor = e.get("major", 0)
            info.devminor = e.get("minor", 0)
            if e.get("xattrs"):
                info.pax_headers = {"SCHILY.xattr." + k: v for k, v in e["xattrs"].items()}
            data = e.get("data", "").encode() if kind == "file" else b""
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data else None)
    sys.stdout.buffer.write(out.getvalue())


main()
