#include "oci/image/bundle.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/defer.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "oci/image/images.hpp"
#include "oci/image/unpack.hpp"

namespace skiff::image {
namespace {

constexpr const char* kBundleInfoFile = "image.json";

// The copy fallback: every layer applied onto `rootfs` in order, whiteouts deleting.
Result<void> copy_layers(const Store& store, const Image& image, const std::string& rootfs) {
  auto dir = TRY(open_dir(rootfs));
  for (size_t i = 0; i < image.manifest.layers.size(); ++i) {
    const Descriptor& layer = image.manifest.layers[i];
    auto blob = TRY(store.open_blob(layer));
    UnpackOptions o;
    o.whiteouts = WhiteoutMode::kApply;
    o.diff_id = image.config.diff_ids[i];
    o.layer_name = layer.digest.str();
    TRY(unpack_layer(blob.get(), dir.get(), o));
  }
  return ok();
}

Result<std::string> absolute(const std::string& path) {
  char* real = ::realpath(path.c_str(), nullptr);
  if (!real) return errno_error("resolve ", quote(path));
  std::string out(real);
  ::free(real);
  return out;
}

Result<bool> dir_is_empty(const std::string& path) {
  auto fd = TRY(open_dir(path));
  DIR* d = ::fdopendir(fd.release());
  if (!d) return errno_error("opendir ", quote(path));
  bool empty = true;
  while (struct dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..") {
      empty = false;
      break;
    }
  }
  ::closedir(d);
  return empty;
}

}  // namespace

Result<BundleInfo> create_bundle(const Store& store, Snapshotter& snapshots,
                                 const BundleOptions& o) {
  if (o.dir.empty()) return error("no bundle directory");
  auto store_lock = TRY(store.lock(FileLock::Mode::kShared));
  Image image = TRY(resolve_image(store, o.image, o.platform));

  bool made_dir = false;
  if (!path_exists(o.dir)) {
    TRY(mkdir_p(o.dir, 0755));
    made_dir = true;
  } else if (!TRY(dir_is_empty(o.dir))) {
    return error("bundle directory ", quote(o.dir), " is not empty");
  }
  BundleInfo info;
  info.dir = TRY(absolute(o.dir));
  info.image = image.name;
  info.id = image.id();
  info.manifest = image.manifest_descriptor.digest;
  std::string rootfs = info.dir + "/rootfs";
  bool mounted = false;
  std::string active_id;
  Defer undo([&] {
    if (mounted) (void)unmount(rootfs);
    if (!active_id.empty()) (void)snapshots.remove_active(active_id);
    if (made_dir) {
      (void)remove_tree(info.dir);
    } else {
      for (const char* f : {"/rootfs", "/config.json", "/image.json"})
        (void)remove_tree(info.dir + f);
    }
  });
  if (::mkdir(rootfs.c_str(), 0755) < 0) return errno_error("mkdir ", quote(rootfs));

  bool use_overlay =
      o.rootfs == RootfsMode::kOverlay ||
      (o.rootfs == RootfsMode::kAuto && overlay_available() && !image.manifest.layers.empty());
  std::optional<FileLock> snapshot_lock;
  if (use_overlay) {
    snapshot_lock = TRY(snapshots.lock(FileLock::Mode::kShared));
    auto lowers = TRY(snapshots.prepare(store, image, &info.layers));
    Active active = TRY(snapshots.create_active(image, rootfs));
    active_id = active.id;
    std::string adir = snapshots.active_dir(active.id);
    auto m = mount_overlay(lowers, adir + "/upper", adir + "/work", rootfs);
    if (m) {
      mounted = true;
      info.rootfs = "overlay";
      info.snapshot = active.id;
    } else if (o.rootfs == RootfsMode::kOverlay) {
      return std::move(m).error();
    } else {
      log::warn("overlayfs unavailable (", m.error().what(), "); copying the image instead");
      TRY(snapshots.remove_active(active.id));
      active_id.clear();
    }
  }
  if (!mounted) {
    TRY_CTX(copy_layers(store, image, rootfs), "image ", quote(image.name));
    info.rootfs = "copy";
  }

  auto rootfs_fd = TRY(open_dir(rootfs));
  Json spec = TRY_CTX(runtime_spec_for_image(image.config, rootfs_fd.get(), o.spec), "image ",
                      quote(image.name));
  if (o.edit_spec) TRY(o.edit_spec(spec));
  TRY(write_file_atomic(info.dir + "/config.json", spec.dump(2) + "\n", 0644, o.durable));
  Json meta = {
      {"image", info.image},   {"id", info.id.str()},       {"manifest", info.manifest.str()},
      {"rootfs", info.rootfs}, {"snapshot", info.snapshot}, {"snapshotRoot", snapshots.root()}};
  TRY(write_file_atomic(info.dir + "/" + kBundleInfoFile, meta.dump(2) + "\n", 0644, o.durable));
  undo.cancel();
  return info;
}

Result<void> remove_bundle(const std::string& dir, const std::string& snapshot_root) {
  std::string info_path = cat(dir, '/', kBundleInfoFile);
  if (!path_exists(info_path))
    return error(quote(dir), " was not made by `skiff bundle create` (no ", kBundleInfoFile, ")");
  Json meta = TRY(read_json_file(info_path));
  std::string rootfs = dir + "/rootfs";
  if (is_mount_point(rootfs)) {
    auto r = unmount(rootfs);
    if (!r && r.error().code() == EBUSY)
      return std::move(r.error().wrap("a container still uses the bundle? (delete it first)"));
    TRY(std::move(r));
  }
  std::string id = meta.value("snapshot", "");
  std::string root = snapshot_root.empty() ? meta.value("snapshotRoot", "") : snapshot_root;
  if (!id.empty() && !root.empty()) {
    auto snapshots = TRY(Snapshotter::open(root));
    TRY(snapshots.remove_active(id));
  }
  return remove_tree(dir);
}

}  // namespace skiff::image
