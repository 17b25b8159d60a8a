#pragma once
// A long-lived daemon's resident set after its set-up: the code that ran once (argument parsing,
// the sandbox, container creation) stays mapped but need not stay resident.

#include <cstddef>

namespace skiff {

// Drops this process's executable file-backed pages (r-xp mappings: code, never written, so
// nothing is lost — a page needed again is read back from the page cache) from its resident set,
// and turns off fault-around on them (MADV_RANDOM), so what the process touches from now on
// comes back a page at a time instead of 16. Returns the bytes the mappings span; never fails
// (a mapping madvise refuses is left as it is).
size_t drop_resident_code();

}  // namespace skiff
