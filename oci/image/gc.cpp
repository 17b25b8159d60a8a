#include "oci/image/gc.hpp"

#include <set>

#include "oci/image/images.hpp"

namespace skiff::image {

Result<PruneReport> prune(Store& store, Snapshotter* snapshots) {
  PruneReport report;
  auto store_lock = TRY(store.lock(FileLock::Mode::kExclusive));
  std::set<Digest> blobs, chains;
  for (const auto& r : TRY(store.refs())) collect_reachable(store, r.target, blobs, chains);
  auto removed = TRY(store.remove_blobs_except_locked({blobs.begin(), blobs.end()}));
  report.blobs_removed = removed.first;
  report.blob_bytes_removed = removed.second;
  if (snapshots) {
    auto snapshot_lock = TRY(snapshots->lock(FileLock::Mode::kExclusive));
    auto r = TRY(snapshots->remove_unused_locked(chains));
    report.snapshots_removed = r.first;
    report.actives_removed = r.second;
  }
  return report;
}

}  // namespace skiff::image
