#include "kubelet/node/image_gc.hpp"

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <set>

#include "common/log.hpp"
#include "kubelet/shim/pod_record.hpp"
#include "oci/image/gc.hpp"
#include "oci/image/images.hpp"
#include "oci/image/platform.hpp"
#include "oci/image/snapshots.hpp"

namespace skiff::kubelet::node {

namespace {

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

int64_t image_gc_bytes_to_free(int64_t capacity, int64_t available, int high, int low) {
  if (capacity <= 0) return 0;
  int64_t used_percent = (capacity - available) * 100 / capacity;
  if (used_percent < high) return 0;
  return std::max<int64_t>(0, capacity * (100 - low) / 100 - available);
}

std::vector<ImageEntry> select_images_to_remove(std::vector<ImageEntry> images, int64_t bytes,
                                                int64_t now_ns, int64_t min_age_ns) {
  std::vector<ImageEntry> out;
  if (bytes <= 0) return out;
  std::erase_if(images, [&](const ImageEntry& e) {
    return e.in_use || (min_age_ns > 0 && now_ns - e.stored < min_age_ns);
  });
  std::stable_sort(images.begin(), images.end(), [](const ImageEntry& a, const ImageEntry& b) {
    if (a.last_used != b.last_used) return a.last_used < b.last_used;
    return a.size > b.size;
  });
  int64_t freed = 0;
  for (auto& e : images) {
    if (freed >= bytes) break;
    freed += e.size;
    out.push_back(std::move(e));
  }
  return out;
}

Result<std::vector<ImageEntry>> ImageGc::images() {
  auto store = TRY(image::Store::open(o_.node.image_root));
  auto platform = image::host_platform();
  std::map<std::string, ImageEntry> by_id;
  for (const auto& ref : TRY(store.refs())) {
    auto img = image::load_image(store, ref.name, ref.target, platform);
    if (!img) continue;  // another platform's, or unreadable: prune's business, not ours
    std::string id = img->id().str();
    auto& e = by_id[id];
    e.id = id;
    e.names.push_back(ref.name);
    e.size = img->size();
    // Never seen in use: as old as its manifest in the store.
    struct stat st {};
    if (::stat(store.blob_path(img->manifest_descriptor.digest).c_str(), &st) == 0) {
      e.stored = st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec;
      e.last_used = std::max<int64_t>(e.last_used, e.stored);
    }
  }
  // What local pods use, resolved the way the pods resolved it.
  std::set<std::string> used;
  for (const auto& rec : list_pod_records(o_.node.state_root)) {
    auto m = rec.manifest();
    if (!m) continue;
    for (const auto* list : {&m->pod.spec.init_containers, &m->pod.spec.containers})
      for (const auto& c : *list)
        if (auto img = image::resolve_image(store, c.image, platform)) used.insert(img->id().str());
  }
  int64_t now = now_ns();
  std::vector<ImageEntry> out;
  for (auto& [id, e] : by_id) {
    e.in_use = used.count(id) > 0;
    if (e.in_use) last_used_[id] = now;
    if (auto it = last_used_.find(id); it != last_used_.end())
      e.last_used = std::max(e.last_used, it->second);
    out.push_back(std::move(e));
  }
  std::erase_if(last_used_, [&](const auto& kv) { return !by_id.count(kv.first); });
  return out;
}

Result<std::vector<std::string>> ImageGc::run_once() {
  auto list = TRY(images());  // the use is noted even when nothing is to be freed
  std::vector<std::string> removed;
  auto fs = [&]() -> std::pair<int64_t, int64_t> {
    struct statvfs v {};
    if (::statvfs(o_.node.image_root.c_str(), &v) != 0) return {0, 0};
    return {int64_t(v.f_blocks) * int64_t(v.f_frsize), int64_t(v.f_bavail) * int64_t(v.f_frsize)};
  };
  auto [capacity, available] = fs();
  int64_t to_free = image_gc_bytes_to_free(capacity, available, o_.high, o_.low);
  if (to_free <= 0) return removed;
  log::info("image gc: ", o_.node.image_root, " is ", (capacity - available) * 100 / capacity,
            "% used (high threshold ", o_.high, "%): freeing ", to_free, " bytes");
  auto store = TRY(image::Store::open(o_.node.image_root));
  auto snapshots = TRY(image::Snapshotter::open(o_.node.snapshot_root));
  // One image at a time, measured again after each (shared layers free less than their sizes).
  for (const auto& e : select_images_to_remove(list, std::numeric_limits<int64_t>::max(), now_ns(),
                                               o_.min_age_ns)) {
    TRY_CTX(store.remove_refs(e.names), "image gc: remove ", join(e.names, ", "));
    auto pruned = TRY_CTX(image::prune(store, &snapshots), "image gc: prune");
    log::info("image gc: removed ", join(e.names, ", "), " (", pruned.blob_bytes_removed,
              " bytes of blobs, ", pruned.snapshots_removed, " layer snapshots)");
    removed.insert(removed.end(), e.names.begin(), e.names.end());
    std::tie(capacity, available) = fs();
    if (image_gc_bytes_to_free(capacity, available, 0, o_.low) <= 0) break;
  }
  std::tie(capacity, available) = fs();
  if (int64_t left = image_gc_bytes_to_free(capacity, available, 0, o_.low); left > 0)
    log::warn("image gc: ", left, " bytes still to free on ", quote(o_.node.image_root),
              " and no unused image left (or none older than imageMinimumGCAge)");
  return removed;
}

}  // namespace skiff::kubelet::node
