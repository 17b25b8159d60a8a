#pragma once
// Snapshots: each layer unpacked once, keyed by its chain ID, and container root filesystems
// stacked from them with overlayfs (containerd's overlay snapshotter):
//
//   ROOT/layers/<chain hex>/fs         one layer unpacked in overlay form (whiteouts as 0/0 char
//                                      devices, opaque dirs marked with trusted.overlay.opaque)
//   ROOT/layers/<chain hex>/meta.json  which layer it is and what unpacking it took
//   ROOT/tmp/<random>/                 an unpack in progress; renamed into layers/ when complete,
//                                      so a layer directory exists only whole
//   ROOT/tmp/<chain hex>.lock          flock: one process unpacks a layer, the others wait for it
//   ROOT/active/<id>/{upper,work}      a container's writable layer
//   ROOT/active/<id>/meta.json         its lower chain, image and mount point (for prune)
//   ROOT/lock                          shared while preparing and mounting, exclusive for prune
//
// Overlay layers need root (whiteouts are device nodes, opaque marks trusted xattrs).

#include <set>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "oci/image/digest.hpp"
#include "oci/image/file_lock.hpp"
#include "oci/image/images.hpp"
#include "oci/image/store.hpp"

namespace skiff::image {

inline constexpr const char* kDefaultSnapshotRoot = "/var/lib/skiff/snapshots";

struct PrepareStats {
  size_t unpacked = 0;  // layers unpacked by this call
  size_t reused = 0;    // layers that were already there
  uint64_t bytes = 0;   // uncompressed tar bytes read
};

// A container's writable layer.
struct Active {
  std::string id;
  std::string image;          // the image's name, for people
  std::vector<Digest> chain;  // lower layers' chain IDs, bottom first
  std::string rootfs;         // where it is mounted
};

class Snapshotter {
 public:
  static Result<Snapshotter> open(const std::string& root = kDefaultSnapshotRoot);
  const std::string& root() const { return root_; }

  // The unpacked directory of the layer with this chain ID.
  std::string layer_dir(const Digest& chain_id) const;
  bool has_layer(const Digest& chain_id) const;
  // Chain IDs of the unpacked layers.
  Result<std::vector<Digest>> layers() const;

  // Unpacks every layer of `image` that is not there yet (several at once, on separate threads),
  // verifying each against its diff_id, and returns the layer directories, bottom first. Blobs
  // must stay in `store` meanwhile: the caller holds the store's shared lock.
  Result<std::vector<std::string>> prepare(const Store& store, const Image& image,
                                           PrepareStats* stats = nullptr);

  // Makes an empty writable layer (upper + work) for a rootfs over `image`'s layers at `rootfs`.
  Result<Active> create_active(const Image& image, const std::string& rootfs);
  Result<void> remove_active(const std::string& id);
  Result<std::vector<Active>> actives() const;
  std::string active_dir(const std::string& id) const { return cat(root_, "/active/", id); }

  Result<FileLock> lock(FileLock::Mode mode) const;

  // For gc.cpp, under the exclusive lock: removes layers whose chain ID is not in `keep`,
  // abandoned temporary unpacks, and active layers whose rootfs is neither mounted nor the
  // bundle that made them still there. Returns the number of layers removed.
  Result<std::pair<size_t, size_t>> remove_unused_locked(const std::set<Digest>& keep);

 private:
  explicit Snapshotter(std::string root) : root_(std::move(root)) {}
  Result<bool> unpack_layer_once(const Store& store, const Descriptor& layer, const Digest& diff_id,
                                 const Digest& chain_id, uint64_t* bytes) const;
  std::string root_;
};

// Whether overlayfs can be used here: root, and the kernel has it.
bool overlay_available();
// Mounts overlayfs on `target` with `lowers` (bottom first), `upper` and `work`. Uses the new
// mount API with "lowerdir+" (Linux 6.8+: one call per layer, no limit on the layer count), else
// mount(2) with one option string (a page: a few dozen layers).
Result<void> mount_overlay(const std::vector<std::string>& lowers, const std::string& upper,
                           const std::string& work, const std::string& target);
// True when `path` is the root of a mount.
bool is_mount_point(const std::string& path);
// Unmounts `target` (not following a symlink there).
Result<void> unmount(const std::string& target);

}  // namespace skiff::image
