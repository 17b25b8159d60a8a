#!/usr/bin/env python3
"""Which functions of BINARY does WORKLOAD execute, in first-call order? uprobes on every function
entry through tracefs (root). Prints one symbol per line: lld's --symbol-ordering-file format.

Each pass probes only the functions not seen yet, so hot loops do not flood the trace buffer."""
import os
import re
import subprocess
import sys

binary, workload = sys.argv[1], sys.argv[2]
passes = int(sys.argv[3]) if len(sys.argv) > 3 else 2
T = "/sys/kernel/tracing"
if not os.path.exists(os.path.join(T, "uprobe_events")):
    subprocess.run(["mount", "-t", "tracefs", "none", T], check=False)
if not os.path.exists(os.path.join(T, "uprobe_events")):
    sys.exit(f"orderfile: no uprobes in {T} (tracefs with CONFIG_UPROBE_EVENTS is needed)")


def w(path, data):
    with open(os.path.join(T, path), "w") as f:
        f.write(data)


nm = subprocess.run(["nm", "--defined-only", "-S", binary], capture_output=True, text=True,
                    check=True).stdout
syms = {}
for line in nm.splitlines():
    p = line.split()
    if len(p) == 4 and p[2] in "tTwW" and int(p[1], 16) > 0:
        syms.setdefault(int(p[0], 16), p[3])
print(f"orderfile: {len(syms)} functions in {binary}", file=sys.stderr)

w("options/overwrite", "0")  # a full buffer drops new events; the next pass catches them
w("buffer_size_kb", "32768")
hit, seen, todo = [], set(), dict(syms)
try:
    for n in range(passes):
        w("uprobe_events", "")
        fd = os.open(os.path.join(T, "uprobe_events"), os.O_WRONLY | os.O_APPEND)
        names = {}
        for i, addr in enumerate(sorted(todo)):
            try:
                os.write(fd, f"p:skiffprof/f{i} {binary}:0x{addr:x}\n".encode())
                names[f"f{i}"] = addr
            except OSError:
                pass
        os.close(fd)
        w("trace", "")
        w("events/skiffprof/enable", "1")
        subprocess.run(["bash", workload], stdout=subprocess.DEVNULL, check=False)
        w("events/skiffprof/enable", "0")
        new = 0
        with open(os.path.join(T, "trace")) as f:
            for line in f:
                m = re.search(r" (f\d+): \(", line)
                if m and m.group(1) in names and names[m.group(1)] not in seen:
                    a = names[m.group(1)]
                    seen.add(a)
                    hit.append(syms[a])
                    todo.pop(a, None)
                    new += 1
        print(f"orderfile: pass {n}: {new} functions", file=sys.stderr)
        if new == 0:
            break
finally:
    w("events/skiffprof/enable", "0") if os.path.exists(os.path.join(T, "events/skiffprof")) else None
    w("uprobe_events", "")
    w("options/overwrite", "1")
print("\n".join(hit))
