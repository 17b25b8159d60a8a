#include "common/resident.hpp"

#include <stdio.h>
#include <sys/mman.h>

#include <cstdint>

namespace skiff {

size_t drop_resident_code() {
  FILE* maps = fopen("/proc/self/maps", "re");
  if (!maps) return 0;
  size_t spanned = 0;
  char line[512];
  while (fgets(line, sizeof line, maps)) {
    uintptr_t start = 0, end = 0;
    char perms[5] = {};
    unsigned long long offset = 0, inode = 0;
    char dev[16] = {};
    if (sscanf(line, "%lx-%lx %4s %llx %15s %llu", &start, &end, perms, &offset, dev, &inode) != 6)
      continue;
    // Only private, read-execute, file-backed mappings: [vdso] and anonymous code have no file
    // to read a dropped page back from, and writable or read-only data may hold private changes
    // (relocations in RELRO) that dropping would lose.
    if (inode == 0 || perms[0] != 'r' || perms[1] != '-' || perms[2] != 'x' || perms[3] != 'p')
      continue;
    void* addr = reinterpret_cast<void*>(start);
    size_t len = end - start;
    madvise(addr, len, MADV_RANDOM);
    if (madvise(addr, len, MADV_DONTNEED) == 0) spanned += len;
  }
  fclose(maps);
  return spanned;
}

}  // namespace skiff
