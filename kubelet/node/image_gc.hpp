#pragma once
// The kubelet's image garbage collection: when the image store's filesystem is at or above
// imageGCHighThresholdPercent used, names of images no pod on this node uses are removed, least
// recently used first (an image never seen in use counts from when it was stored), and the
// store pruned after each, until the use is below imageGCLowThresholdPercent. An image a local
// pod refers to — running or not — is never removed, nor one stored less than
// imageMinimumGCAge ago (2 minutes by default, as the kubelet's).

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "kubelet/engine/config.hpp"

namespace skiff::kubelet::node {

struct ImageEntry {
  std::string id;                  // the config digest
  std::vector<std::string> names;  // every name the store has for it
  int64_t size = 0;                // bytes (shared layers counted in each)
  int64_t last_used = 0;           // nanoseconds since the epoch
  int64_t stored = 0;              // when its manifest reached the store (ns since the epoch)
  bool in_use = false;
};

// The kubelet's amount to free: 0 below `high` percent used, else what brings the use down to
// `low` percent.
int64_t image_gc_bytes_to_free(int64_t capacity, int64_t available, int high, int low);

// The images to remove to free `bytes` (by their sizes): unused ones stored at least `min_age_ns`
// before `now_ns`, least recently used first (ties: larger first), stopping once enough is freed.
// Pure: unit-tested.
std::vector<ImageEntry> select_images_to_remove(std::vector<ImageEntry> images, int64_t bytes,
                                                int64_t now_ns = 0, int64_t min_age_ns = 0);

struct ImageGcOptions {
  NodeConfig node;  // image, snapshot and state roots
  int high = 85, low = 80;
  int64_t min_age_ns = 120'000'000'000;  // imageMinimumGCAge
};

class ImageGc {
 public:
  explicit ImageGc(ImageGcOptions o) : o_(std::move(o)) {}
  // One pass: notes the images local pods use now; when the image filesystem is over the high
  // threshold, removes unused ones until it is below the low one. Returns the names removed.
  Result<std::vector<std::string>> run_once();
  // The store's images with what this manager knows of their use.
  Result<std::vector<ImageEntry>> images();

 private:
  ImageGcOptions o_;
  std::map<std::string, int64_t> last_used_;  // image id -> nanoseconds since the epoch
};

}  // namespace skiff::kubelet::node
