#pragma once
// Garbage collection (`skiff image prune`): everything not reachable from a name in the store is
// deleted — blobs, abandoned staging areas, layer snapshots no image or container uses, and
// writable layers whose rootfs is gone.

#include <cstddef>
#include <cstdint>

#include "oci/image/snapshots.hpp"
#include "oci/image/store.hpp"

namespace skiff::image {

struct PruneReport {
  size_t blobs_removed = 0;
  int64_t blob_bytes_removed = 0;
  size_t snapshots_removed = 0;
  size_t actives_removed = 0;
};

// Takes the store's exclusive lock, then the snapshotter's (when given): the same order as every
// user of both, so they cannot deadlock.
Result<PruneReport> prune(Store& store, Snapshotter* snapshots);

}  // namespace skiff::image
