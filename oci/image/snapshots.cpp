#include "oci/image/snapshots.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <fstream>
#include <mutex>
#include <thread>

#include "common/defer.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "oci/image/unpack.hpp"

namespace skiff::image {
namespace {

Result<std::vector<std::string>> list_dir(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) {
    if (errno == ENOENT) return out;
    return errno_error("open ", quote(dir));
  }
  while (struct dirent* e = ::readdir(d))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) out.emplace_back(e->d_name);
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

bool is_active_id(std::string_view id) {
  if (id.size() != 16) return false;
  for (char c : id)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// What the kernel said about a failed fsconfig/fsmount ("e overlay: failed to …"), if anything.
std::string fs_messages(int fs_fd) {
  std::string out;
  char buf[512];
  while (true) {
    ssize_t n = ::read(fs_fd, buf, sizeof buf - 1);
    if (n <= 0) break;
    std::string_view line(buf, static_cast<size_t>(n));
    if (line.size() > 2 && line[1] == ' ') line.remove_prefix(2);
    if (!out.empty()) out += "; ";
    out += line;
  }
  return out;
}

Error mount_error(int fs_fd, std::string what) {
  int code = errno;
  std::string kernel = fs_messages(fs_fd);
  if (!kernel.empty()) what += cat(" (", kernel, ")");
  return Error(std::move(what), code);
}

Result<void> legacy_mount_overlay(const std::vector<std::string>& lowers, const std::string& upper,
                                  const std::string& work, const std::string& target) {
  std::vector<std::string> top_first(lowers.rbegin(), lowers.rend());
  for (const auto& p : top_first)
    if (p.find_first_of(",:\\") != std::string::npos)
      return error("overlay layer path ", quote(p), " has a `,`, `:` or `\\`");
  std::string data =
      cat("lowerdir=", join(top_first, ":"), ",upperdir=", upper, ",workdir=", work, ",index=off");
  if (data.size() >= 4096)
    return error("overlay options for ", lowers.size(),
                 " layers exceed a page; this kernel lacks lowerdir+ (Linux 6.8)");
  if (::mount("overlay", target.c_str(), "overlay", 0, data.c_str()) < 0)
    return errno_error("mount overlay on ", quote(target));
  return ok();
}

}  // namespace

bool overlay_available() {
  if (::geteuid() != 0) return false;
  std::ifstream f("/proc/filesystems");
  std::string line;
  while (std::getline(f, line))
    if (line.ends_with("\toverlay")) return true;
  return false;
}

bool is_mount_point(const std::string& path) {
  struct statx stx {};
  if (::statx(AT_FDCWD, path.c_str(), AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx) == 0 &&
      (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT))
    return stx.stx_attributes & STATX_ATTR_MOUNT_ROOT;
  struct stat self, parent;
  if (::lstat(path.c_str(), &self) < 0 || ::lstat((path + "/..").c_str(), &parent) < 0)
    return false;
  return self.st_dev != parent.st_dev || self.st_ino == parent.st_ino;
}

Result<void> mount_overlay(const std::vector<std::string>& lowers, const std::string& upper,
                           const std::string& work, const std::string& target) {
  if (lowers.empty()) return error("an overlay needs at least one lower layer");
  UniqueFd fs(::fsopen("overlay", FSOPEN_CLOEXEC));
  if (!fs) return errno_error("fsopen overlay (is the overlay module loaded?)");
  ::fsconfig(fs.get(), FSCONFIG_SET_STRING, "source", "skiff", 0);
  // Top first, like the lowerdir string.
  for (auto it = lowers.rbegin(); it != lowers.rend(); ++it) {
    if (::fsconfig(fs.get(), FSCONFIG_SET_STRING, "lowerdir+", it->c_str(), 0) == 0) continue;
    if (errno == EINVAL && it == lowers.rbegin()) {
      fs_messages(fs.get());
      return legacy_mount_overlay(lowers, upper, work, target);
    }
    return mount_error(fs.get(), cat("overlay lower layer ", quote(*it)));
  }
  if (::fsconfig(fs.get(), FSCONFIG_SET_STRING, "upperdir", upper.c_str(), 0) < 0)
    return mount_error(fs.get(), cat("overlay upperdir ", quote(upper)));
  if (::fsconfig(fs.get(), FSCONFIG_SET_STRING, "workdir", work.c_str(), 0) < 0)
    return mount_error(fs.get(), cat("overlay workdir ", quote(work)));
  // Layers are shared by many mounts: no inode index tying a lower layer to one of them.
  if (::fsconfig(fs.get(), FSCONFIG_SET_STRING, "index", "off", 0) < 0) fs_messages(fs.get());
  if (::fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0)
    return mount_error(fs.get(), "create the overlay");
  UniqueFd mnt(::fsmount(fs.get(), FSMOUNT_CLOEXEC, 0));
  if (!mnt) return mount_error(fs.get(), "fsmount the overlay");
  UniqueFd dst(::open(target.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dst) return errno_error("open mount point ", quote(target));
  if (::move_mount(mnt.get(), "", dst.get(), "",
                   MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    return errno_error("mount the overlay on ", quote(target));
  return ok();
}

Result<void> unmount(const std::string& target) {
  if (::umount2(target.c_str(), UMOUNT_NOFOLLOW) < 0) return errno_error("unmount ", quote(target));
  return ok();
}

// --- Snapshotter --------------------------------------------------------------------------------

Result<Snapshotter> Snapshotter::open(const std::string& root) {
  if (root.empty()) return error("snapshot root is empty");
  for (const char* sub : {"", "/layers", "/tmp", "/active"})
    TRY_CTX(mkdir_p(root + sub, 0700), "snapshots");
  return Snapshotter(root);
}

std::string Snapshotter::layer_dir(const Digest& chain_id) const {
  return cat(root_, "/layers/", chain_id.hex, "/fs");
}

bool Snapshotter::has_layer(const Digest& chain_id) const {
  struct stat st;
  return ::lstat(layer_dir(chain_id).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

Result<std::vector<Digest>> Snapshotter::layers() const {
  std::vector<Digest> out;
  for (const auto& name : TRY(list_dir(root_ + "/layers")))
    if (is_sha256_hex(name)) out.push_back(Digest{"sha256", name});
  return out;
}

Result<FileLock> Snapshotter::lock(FileLock::Mode mode) const {
  return FileLock::acquire(root_ + "/lock", mode);
}

Result<bool> Snapshotter::unpack_layer_once(const Store& store, const Descriptor& layer,
                                            const Digest& diff_id, const Digest& chain_id,
                                            uint64_t* bytes) const {
  if (has_layer(chain_id)) return false;
  // One unpacker per layer across processes: the others wait here, then find it done.
  auto chain_lock = TRY(
      FileLock::acquire(cat(root_, "/tmp/", chain_id.hex, ".lock"), FileLock::Mode::kExclusive));
  if (has_layer(chain_id)) return false;
  std::string tmp = cat(root_, "/tmp/", random_hex());
  if (::mkdir(tmp.c_str(), 0700) < 0) return errno_error("mkdir ", quote(tmp));
  Defer cleanup([&] {
    if (auto r = remove_tree(tmp); !r) log::warn("snapshots: ", r.error().what());
  });
  std::string fs = tmp + "/fs";
  if (::mkdir(fs.c_str(), 0755) < 0) return errno_error("mkdir ", quote(fs));
  auto blob = TRY(store.open_blob(layer));
  auto dir = TRY(open_dir(fs));
  UnpackOptions o;
  o.whiteouts = WhiteoutMode::kOverlay;
  o.same_owner = true;
  o.devices = true;
  o.diff_id = diff_id;
  o.layer_name = layer.digest.str();
  UnpackStats stats = TRY(unpack_layer(blob.get(), dir.get(), o));
  Json meta = {{"chainId", chain_id.str()},
               {"diffId", diff_id.str()},
               {"digest", layer.digest.str()},
               {"mediaType", layer.media_type},
               {"entries", stats.entries},
               {"fileBytes", stats.file_bytes},
               {"tarBytes", stats.uncompressed_bytes}};
  TRY(write_file(tmp + "/meta.json", meta.dump(2) + "\n"));
  // One syncfs instead of an fsync per file: the layer is durable before it becomes visible.
  if (::syncfs(dir.get()) < 0) return errno_error("syncfs ", quote(fs));
  std::string final_dir = cat(root_, "/layers/", chain_id.hex);
  if (::rename(tmp.c_str(), final_dir.c_str()) < 0) {
    if (errno == EEXIST || errno == ENOTEMPTY) return false;  // another process was first
    return errno_error("rename ", quote(tmp), " to ", quote(final_dir));
  }
  cleanup.cancel();
  if (bytes) *bytes += stats.uncompressed_bytes;
  return true;
}

Result<std::vector<std::string>> Snapshotter::prepare(const Store& store, const Image& image,
                                                      PrepareStats* stats) {
  auto held = TRY(lock(FileLock::Mode::kShared));
  const size_t n = image.manifest.layers.size();
  std::vector<size_t> todo;
  for (size_t i = 0; i < n; ++i)
    if (!has_layer(image.chain_ids[i])) todo.push_back(i);
  PrepareStats local;
  local.reused = n - todo.size();
  std::mutex mu;
  std::optional<Error> failure;
  std::atomic<size_t> next{0};
  auto worker = [&] {
    while (true) {
      size_t k = next++;
      {
        std::lock_guard<std::mutex> g(mu);
        if (k >= todo.size() || failure) return;
      }
      size_t i = todo[k];
      uint64_t bytes = 0;
      auto r = unpack_layer_once(store, image.manifest.layers[i], image.config.diff_ids[i],
                                 image.chain_ids[i], &bytes);
      std::lock_guard<std::mutex> g(mu);
      if (!r) {
        if (!failure) failure = std::move(r.error());
        return;
      }
      if (*r)
        ++local.unpacked;
      else
        ++local.reused;
      local.bytes += bytes;
    }
  };
  size_t threads = std::min<size_t>(todo.size(), std::max(1u, std::thread::hardware_concurrency()));
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(worker);
  if (threads > 0) worker();
  for (auto& t : pool) t.join();
  if (failure) return std::move(failure->wrap(cat("image ", quote(image.name))));
  if (stats) *stats = local;
  std::vector<std::string> dirs;
  for (const auto& c : image.chain_ids) dirs.push_back(layer_dir(c));
  return dirs;
}

Result<Active> Snapshotter::create_active(const Image& image, const std::string& rootfs) {
  Active a{random_hex(), image.name, image.chain_ids, rootfs};
  std::string dir = active_dir(a.id);
  if (::mkdir(dir.c_str(), 0700) < 0) return errno_error("mkdir ", quote(dir));
  Defer cleanup([&] { (void)remove_tree(dir); });
  for (const char* sub : {"/upper", "/work"})
    if (::mkdir((dir + sub).c_str(), 0755) < 0) return errno_error("mkdir ", quote(dir + sub));
  Json chain = Json::array();
  for (const auto& c : a.chain) chain.push_back(c.str());
  Json meta = {{"id", a.id}, {"image", a.image}, {"chain", chain}, {"rootfs", a.rootfs}};
  TRY(write_file_atomic(dir + "/meta.json", meta.dump(2) + "\n", 0600));
  cleanup.cancel();
  return a;
}

Result<void> Snapshotter::remove_active(const std::string& id) {
  if (!is_active_id(id)) return error("invalid snapshot id ", quote(id));
  return remove_tree(active_dir(id));
}

Result<std::vector<Active>> Snapshotter::actives() const {
  std::vector<Active> out;
  for (const auto& id : TRY(list_dir(root_ + "/active"))) {
    if (!is_active_id(id)) continue;
    auto meta = read_json_file(active_dir(id) + "/meta.json");
    Active a{id, "", {}, ""};
    if (meta && meta->is_object()) {
      a.image = meta->value("image", "");
      a.rootfs = meta->value("rootfs", "");
      if (meta->contains("chain") && (*meta)["chain"].is_array())
        for (const auto& c : (*meta)["chain"])
          if (c.is_string())
            if (auto d = parse_digest(c.get<std::string>())) a.chain.push_back(*d);
    }
    out.push_back(std::move(a));
  }
  return out;
}

Result<std::pair<size_t, size_t>> Snapshotter::remove_unused_locked(const std::set<Digest>& keep) {
  std::set<Digest> in_use = keep;
  size_t actives_removed = 0;
  for (auto& a : TRY(actives())) {
    // Stale: its rootfs is neither mounted nor there any more (the bundle was deleted).
    bool stale = a.rootfs.empty() || (!is_mount_point(a.rootfs) && !path_exists(a.rootfs));
    if (stale) {
      TRY(remove_active(a.id));
      ++actives_removed;
      continue;
    }
    in_use.insert(a.chain.begin(), a.chain.end());
  }
  size_t removed = 0;
  for (const auto& name : TRY(list_dir(root_ + "/layers"))) {
    if (is_sha256_hex(name) && in_use.count(Digest{"sha256", name})) continue;
    TRY(remove_tree(cat(root_, "/layers/", name)));
    ++removed;
  }
  // Unpacks in progress hold the shared lock, so whatever is in tmp/ now (abandoned unpacks,
  // per-layer lock files) is unused.
  for (const auto& name : TRY(list_dir(root_ + "/tmp")))
    TRY(remove_tree(cat(root_, "/tmp/", name)));
  return std::make_pair(removed, actives_removed);
}

}  // namespace skiff::image
