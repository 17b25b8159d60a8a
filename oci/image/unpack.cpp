// One tar stream onto one directory. The decompressed stream is read by a second libarchive
// reader ("raw" format + gzip/zstd filters) feeding the tar reader through a callback, so the
// bytes the tar reader sees are exactly the ones hashed for the diff_id check.
#include "oci/image/unpack.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <unordered_set>
#include <vector>

#include "common/fs.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"
#include "common/unique_fd.hpp"
#include "oci/image/libs.hpp"

namespace skiff::image {
namespace {

constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kWhiteoutMetaPrefix = ".wh..wh.";
constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";
constexpr const char* kOverlayOpaqueXattr = "trusted.overlay.opaque";

// openat2 beneath `dirfd`: nothing resolved may leave it (no `..` above it, no absolute symlink,
// no magic link, no other mount).
int openat_beneath(int dirfd, const std::string& path, int flags, uint64_t extra_resolve = 0) {
  struct open_how how {};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV | extra_resolve;
  int fd;
  do {
    fd = static_cast<int>(::syscall(SYS_openat2, dirfd, path.c_str(), &how, sizeof how));
  } while (fd < 0 && (errno == EAGAIN || errno == EINTR));
  return fd;
}

// Why openat2 refused a path, for people.
std::string resolve_failure(int err) {
  switch (err) {
    case EXDEV:
      return "the path leaves the layer (through a symlink or a mount)";
    case ELOOP:
      return "the path passes through a symlink loop or a magic link";
    case ENOTDIR:
      return "a parent in the path is not a directory";
    default:
      return std::strerror(err);
  }
}

std::string base_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string parent_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

std::string child_path(const std::string& parent, std::string_view name) {
  return parent.empty() ? std::string(name) : cat(parent, '/', name);
}

// Removes `name` in `dirfd` and, for a directory, everything below it; never follows a symlink
// and never crosses into another mount (`dev`).
Result<void> remove_at(int dirfd, const std::string& name, dev_t dev) {
  struct stat st;
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
    if (errno == ENOENT) return ok();
    return errno_error("stat ", quote(name));
  }
  if (!S_ISDIR(st.st_mode)) {
    if (::unlinkat(dirfd, name.c_str(), 0) < 0 && errno != ENOENT)
      return errno_error("remove ", quote(name));
    return ok();
  }
  if (st.st_dev != dev) return error("refusing to remove ", quote(name), ": it is a mount point");
  UniqueFd fd(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return errno_error("open ", quote(name));
  DIR* dir = ::fdopendir(::dup(fd.get()));
  if (!dir) return errno_error("opendir ", quote(name));
  std::vector<std::string> children;
  while (struct dirent* de = ::readdir(dir))
    if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) children.emplace_back(de->d_name);
  ::closedir(dir);
  for (const auto& c : children) TRY_CTX(remove_at(fd.get(), c, dev), quote(name));
  if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) < 0 && errno != ENOENT)
    return errno_error("remove ", quote(name));
  return ok();
}

// The decompressing reader: hands the tar reader the uncompressed bytes, hashing them.
struct Source {
  const LibArchive* la = nullptr;
  struct archive* outer = nullptr;
  std::optional<Sha256> hash;
  uint64_t total = 0;
  bool eof = false;
  std::string failure;
};

la_ssize_t source_read(struct archive* inner, void* data, const void** buffer) {
  auto* s = static_cast<Source*>(data);
  while (!s->eof) {
    size_t size = 0;
    la_int64_t offset = 0;
    int r = s->la->archive_read_data_block(s->outer, buffer, &size, &offset);
    if (r == ARCHIVE_EOF) {
      s->eof = true;
      break;
    }
    if (r < ARCHIVE_WARN) {
      s->failure = archive_error(*s->la, s->outer, "cannot decompress");
      s->la->archive_set_error(inner, EIO, "%s", s->failure.c_str());
      return -1;
    }
    if (size == 0) continue;
    s->hash->update(*buffer, size);
    s->total += size;
    return static_cast<la_ssize_t>(size);
  }
  return 0;
}

struct ArchiveDeleter {
  const LibArchive* la;
  void operator()(struct archive* a) const {
    if (a) la->archive_read_free(a);
  }
};
using ArchivePtr = std::unique_ptr<struct archive, ArchiveDeleter>;

class Unpacker {
 public:
  Unpacker(const LibArchive& la, int root, const UnpackOptions& o) : la_(la), root_(root), o_(o) {
    struct stat st;
    if (::fstat(root, &st) == 0) dev_ = st.st_dev;
  }

  Result<void> entry(struct archive* a, struct archive_entry* e, const std::string& name);
  Result<void> finish_directories();
  UnpackStats stats;

 private:
  struct DirMeta {
    std::string path;
    mode_t mode;
    struct timespec times[2];
  };

  Result<int> parent_fd(const std::string& parent, bool create);
  Result<bool> make_room(int parent, const std::string& base, bool for_dir);
  Result<void> whiteout(const std::string& parent, const std::string& name);
  Result<void> opaque(const std::string& dir);
  Result<void> hardlink(int parent, const std::string& base, const char* raw_target);
  Result<void> regular(struct archive* a, struct archive_entry* e, int parent,
                       const std::string& base);
  Result<void> xattrs(struct archive_entry* e, int fd, int parent, const std::string& base);
  void timestamps(struct archive_entry* e, struct timespec out[2]) const;
  Result<void> owner_at(struct archive_entry* e, int parent, const std::string& base);
  // Drops the cached parent (a removal may have taken it). The fd itself stays open until the
  // next entry, since the caller may still be using it.
  void forget_parent() {
    cached_parent_.clear();
    if (cached_fd_) stale_.push_back(std::move(cached_fd_));
  }

  const LibArchive& la_;
  int root_;
  const UnpackOptions& o_;
  dev_t dev_ = 0;
  std::vector<DirMeta> dirs_;
  std::unordered_set<std::string> written_;  // kApply: what this layer wrote (opaque keeps it)
  std::string cached_parent_;                // the last parent resolved, and its O_PATH fd
  UniqueFd cached_fd_;
  std::vector<UniqueFd> stale_;
};

Result<int> Unpacker::parent_fd(const std::string& parent, bool create) {
  if (cached_fd_ && cached_parent_ == parent) return cached_fd_.get();
  forget_parent();
  std::string path = parent.empty() ? std::string(".") : parent;
  int fd = openat_beneath(root_, path, O_PATH | O_DIRECTORY);
  if (fd < 0 && errno == ENOENT && create) {
    // Create the missing directories one at a time, each resolved beneath the root again.
    std::string prefix;
    for (const auto& part : split(parent, '/', true)) {
      std::string up = prefix.empty() ? std::string(".") : prefix;
      prefix = child_path(prefix, part);
      UniqueFd probe(openat_beneath(root_, prefix, O_PATH | O_DIRECTORY));
      if (probe) continue;
      if (errno != ENOENT) return error(quote(prefix), ": ", resolve_failure(errno));
      UniqueFd up_fd(openat_beneath(root_, up, O_PATH | O_DIRECTORY));
      if (!up_fd) return error(quote(up), ": ", resolve_failure(errno));
      if (::mkdirat(up_fd.get(), part.c_str(), 0755) < 0) {
        // EEXIST here: a dangling symlink. Never create what it points to.
        if (errno == EEXIST) return error(quote(prefix), ": a dangling symlink in the path");
        return errno_error("mkdir ", quote(prefix));
      }
      if (o_.whiteouts == WhiteoutMode::kApply) written_.insert(prefix);
    }
    fd = openat_beneath(root_, path, O_PATH | O_DIRECTORY);
  }
  if (fd < 0) {
    if (errno == ENOENT) return Error(cat(quote(parent), ": no such directory"), ENOENT);
    return Error(cat(quote(parent), ": ", resolve_failure(errno)), errno);
  }
  cached_fd_.reset(fd);
  cached_parent_ = parent;
  return fd;
}

// Clears the way for a new entry `base`: an existing directory stays when the new entry is one
// too (returns true: merge), anything else is removed. Tar semantics: later entries win.
Result<bool> Unpacker::make_room(int parent, const std::string& base, bool for_dir) {
  struct stat st;
  if (::fstatat(parent, base.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
    if (errno == ENOENT) return false;
    return errno_error("stat ", quote(base));
  }
  if (S_ISDIR(st.st_mode) && for_dir) return true;
  if (S_ISDIR(st.st_mode)) {
    forget_parent();  // a cached fd could be inside what goes away
    TRY(remove_at(parent, base, dev_));
  } else if (::unlinkat(parent, base.c_str(), 0) < 0 && errno != ENOENT) {
    return errno_error("remove existing ", quote(base));
  }
  return false;
}

void Unpacker::timestamps(struct archive_entry* e, struct timespec out[2]) const {
  out[1].tv_sec = la_.archive_entry_mtime_is_set(e) ? la_.archive_entry_mtime(e) : 0;
  out[1].tv_nsec = la_.archive_entry_mtime_is_set(e) ? la_.archive_entry_mtime_nsec(e) : 0;
  if (la_.archive_entry_atime_is_set(e)) {
    out[0].tv_sec = la_.archive_entry_atime(e);
    out[0].tv_nsec = la_.archive_entry_atime_nsec(e);
  } else {
    out[0] = out[1];
  }
}

Result<void> Unpacker::owner_at(struct archive_entry* e, int parent, const std::string& base) {
  if (!o_.same_owner) return ok();
  auto uid = static_cast<uid_t>(la_.archive_entry_uid(e));
  auto gid = static_cast<gid_t>(la_.archive_entry_gid(e));
  if (::fchownat(parent, base.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
    return errno_error("chown ", quote(base), " to ", uid, ':', gid);
  return ok();
}

Result<void> Unpacker::xattrs(struct archive_entry* e, int fd, int parent,
                              const std::string& base) {
  if (la_.archive_entry_xattr_reset(e) == 0) return ok();
  const char* name;
  const void* value;
  size_t size;
  while (la_.archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
    std::string_view n = name ? name : "";
    if (n.empty()) continue;
    if (n.starts_with("trusted.overlay.") || n.starts_with("user.overlay.")) {
      log::debug("layer ", o_.layer_name, ": dropping xattr ", quote(n), " of ", quote(base));
      continue;
    }
    int r;
    if (fd >= 0) {
      r = ::fsetxattr(fd, name, value, size, 0);
    } else {
      std::string p = cat(fd_path(parent), '/', base);
      r = ::lsetxattr(p.c_str(), name, value, size, 0);
    }
    if (r == 0) continue;
    if (errno == ENOTSUP || errno == EOPNOTSUPP || (errno == EPERM && !o_.same_owner)) {
      log::debug("layer ", o_.layer_name, ": xattr ", quote(n), " of ", quote(base),
                 " not set: ", std::strerror(errno));
      continue;
    }
    return errno_error("set xattr ", quote(n), " on ", quote(base));
  }
  return ok();
}

Result<void> Unpacker::whiteout(const std::string& parent, const std::string& name) {
  if (name.empty() || name == "." || name == "..")
    return error("whiteout for an invalid name ", quote(name));
  std::string target = child_path(parent, name);
  if (o_.whiteouts == WhiteoutMode::kApply) {
    auto dir = parent_fd(parent, false);
    if (!dir) {
      if (dir.error().code() == ENOENT) return ok();  // nothing below to delete
      return std::move(dir).error();
    }
    written_.erase(target);
    return remove_at(*dir, name, dev_);
  }
  int dir = TRY(parent_fd(parent, true));
  TRY(make_room(dir, name, false));
  if (::mknodat(dir, name.c_str(), S_IFCHR | 0, makedev(0, 0)) < 0)
    return errno_error("create whiteout ", quote(target), " (overlay whiteouts need root)");
  return ok();
}

Result<void> Unpacker::opaque(const std::string& dir) {
  if (!dir.empty()) {
    int parent = TRY(parent_fd(parent_of(dir), true));
    std::string base = base_of(dir);
    bool exists = TRY(make_room(parent, base, true));
    if (!exists) {
      if (::mkdirat(parent, base.c_str(), 0755) < 0) return errno_error("mkdir ", quote(dir));
      if (o_.whiteouts == WhiteoutMode::kApply) written_.insert(dir);
    }
  }
  UniqueFd fd(openat_beneath(root_, dir.empty() ? "." : dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
  if (!fd) return error(quote(dir), ": ", resolve_failure(errno));
  if (o_.whiteouts == WhiteoutMode::kOverlay) {
    if (::fsetxattr(fd.get(), kOverlayOpaqueXattr, "y", 1, 0) < 0)
      return errno_error("mark ", quote(dir), " opaque (overlay needs root for trusted xattrs)");
    return ok();
  }
  // Empty the directory of what the layers below put there; keep what this layer wrote.
  DIR* d = ::fdopendir(::dup(fd.get()));
  if (!d) return errno_error("opendir ", quote(dir));
  std::vector<std::string> doomed;
  while (struct dirent* de = ::readdir(d)) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    if (!written_.count(child_path(dir, de->d_name))) doomed.emplace_back(de->d_name);
  }
  ::closedir(d);
  forget_parent();
  for (const auto& name : doomed) TRY(remove_at(fd.get(), name, dev_));
  return ok();
}

Result<void> Unpacker::hardlink(int parent, const std::string& base, const char* raw_target) {
  std::string target = TRY_CTX(clean_entry_path(raw_target), "hardlink target ", quote(raw_target));
  if (target.empty()) return error("hardlink to the layer root");
  UniqueFd tparent(openat_beneath(root_, parent_of(target).empty() ? "." : parent_of(target),
                                  O_PATH | O_DIRECTORY));
  if (!tparent) {
    if (errno == ENOENT) return error("hardlink target ", quote(target), " is not in the layer");
    return error("hardlink target ", quote(target), ": ", resolve_failure(errno));
  }
  std::string tbase = base_of(target);
  struct stat st;
  if (::fstatat(tparent.get(), tbase.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0)
    return error("hardlink target ", quote(target), " is not in the layer");
  if (S_ISDIR(st.st_mode)) return error("hardlink target ", quote(target), " is a directory");
  struct stat self;
  if (::fstatat(parent, base.c_str(), &self, AT_SYMLINK_NOFOLLOW) == 0 &&
      self.st_ino == st.st_ino && self.st_dev == st.st_dev)
    return ok();  // already that file
  TRY(make_room(parent, base, false));
  // No AT_SYMLINK_FOLLOW: a link to a symlink links the symlink, never what it points at.
  if (::linkat(tparent.get(), tbase.c_str(), parent, base.c_str(), 0) < 0)
    return errno_error("hardlink to ", quote(target));
  return ok();
}

Result<void> Unpacker::regular(struct archive* a, struct archive_entry* e, int parent,
                               const std::string& base) {
  TRY(make_room(parent, base, false));
  UniqueFd fd(
      ::openat(parent, base.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) return errno_error("create ", quote(base));
  const void* buf;
  size_t size;
  la_int64_t offset;
  int64_t end = 0;
  while (true) {
    int r = la_.archive_read_data_block(a, &buf, &size, &offset);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return error("read data: ", archive_error(la_, a));
    const char* p = static_cast<const char*>(buf);
    size_t left = size;
    while (left > 0) {
      ssize_t n = ::pwrite(fd.get(), p, left, offset);
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno_error("write ", quote(base));
      }
      p += n, left -= static_cast<size_t>(n), offset += n;
    }
    end = std::max<int64_t>(end, offset);
    stats.file_bytes += size;
  }
  int64_t want = la_.archive_entry_size(e);
  if (want > end && ::ftruncate(fd.get(), want) < 0)  // a sparse file's trailing hole
    return errno_error("truncate ", quote(base));
  if (o_.same_owner && ::fchown(fd.get(), static_cast<uid_t>(la_.archive_entry_uid(e)),
                                static_cast<gid_t>(la_.archive_entry_gid(e))) < 0)
    return errno_error("chown ", quote(base));
  // After chown, which clears set-uid bits.
  if (::fchmod(fd.get(), la_.archive_entry_perm(e) & 07777) < 0)
    return errno_error("chmod ", quote(base));
  // After chown too, which clears security.capability.
  TRY(xattrs(e, fd.get(), parent, base));
  struct timespec times[2];
  timestamps(e, times);
  if (::futimens(fd.get(), times) < 0) return errno_error("set times of ", quote(base));
  return ok();
}

Result<void> Unpacker::entry(struct archive* a, struct archive_entry* e, const std::string& name) {
  ++stats.entries;
  stale_.clear();
  mode_t type = la_.archive_entry_filetype(e);
  mode_t perm = la_.archive_entry_perm(e) & 07777;
  if (name.empty()) {  // the layer root itself ("./")
    if (type != AE_IFDIR) return error("an entry for the layer root that is not a directory");
    if (o_.same_owner && ::fchown(root_, static_cast<uid_t>(la_.archive_entry_uid(e)),
                                  static_cast<gid_t>(la_.archive_entry_gid(e))) < 0)
      return errno_error("chown the layer root");
    DirMeta m{"", perm, {}};
    timestamps(e, m.times);
    dirs_.push_back(m);
    return ok();
  }
  std::string base = base_of(name), parent = parent_of(name);
  for (const auto& part : split(parent, '/', true)) {
    if (std::string_view(part).starts_with(kWhiteoutMetaPrefix)) {
      ++stats.skipped;  // inside aufs metadata (.wh..wh.plnk/...)
      return ok();
    }
  }
  if (base == kOpaqueMarker) return opaque(parent);
  if (std::string_view(base).starts_with(kWhiteoutMetaPrefix)) {
    ++stats.skipped;  // other aufs metadata
    return ok();
  }
  if (std::string_view(base).starts_with(kWhiteoutPrefix))
    return whiteout(parent, base.substr(kWhiteoutPrefix.size()));

  int dir = TRY(parent_fd(parent, true));
  if (o_.whiteouts == WhiteoutMode::kApply) written_.insert(name);
  if (const char* target = la_.archive_entry_hardlink(e)) return hardlink(dir, base, target);
  if (const char* target = la_.archive_entry_hardlink_utf8(e)) return hardlink(dir, base, target);

  struct timespec times[2];
  timestamps(e, times);
  switch (type) {
    case AE_IFREG:
      return regular(a, e, dir, base);
    case AE_IFDIR: {
      bool exists = TRY(make_room(dir, base, true));
      if (!exists && ::mkdirat(dir, base.c_str(), 0700) < 0)
        return errno_error("mkdir ", quote(name));
      UniqueFd fd(::openat(dir, base.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!fd) return errno_error("open ", quote(name));
      if (o_.same_owner && ::fchown(fd.get(), static_cast<uid_t>(la_.archive_entry_uid(e)),
                                    static_cast<gid_t>(la_.archive_entry_gid(e))) < 0)
        return errno_error("chown ", quote(name));
      TRY(xattrs(e, fd.get(), dir, base));
      // Mode and times last: a read-only directory must still take its children, and adding
      // them changes its mtime.
      DirMeta m{name, perm, {times[0], times[1]}};
      dirs_.push_back(m);
      return ok();
    }
    case AE_IFLNK: {
      const char* target = la_.archive_entry_symlink(e);
      if (!target) target = la_.archive_entry_symlink_utf8(e);
      if (!target || !*target) return error("symlink without a target");
      TRY(make_room(dir, base, false));
      if (::symlinkat(target, dir, base.c_str()) < 0) return errno_error("symlink ", quote(name));
      TRY(owner_at(e, dir, base));
      TRY(xattrs(e, -1, dir, base));
      if (::utimensat(dir, base.c_str(), times, AT_SYMLINK_NOFOLLOW) < 0)
        return errno_error("set times of ", quote(name));
      return ok();
    }
    case AE_IFCHR:
    case AE_IFBLK:
    case AE_IFIFO: {
      if (type != AE_IFIFO && !o_.devices) {
        ++stats.skipped;
        log::debug("layer ", o_.layer_name, ": device ", quote(name), " skipped (no CAP_MKNOD)");
        return ok();
      }
      TRY(make_room(dir, base, false));
      dev_t dev = makedev(la_.archive_entry_rdevmajor(e), la_.archive_entry_rdevminor(e));
      if (::mknodat(dir, base.c_str(), type | perm, type == AE_IFIFO ? 0 : dev) < 0)
        return errno_error("mknod ", quote(name));
      TRY(owner_at(e, dir, base));
      if (::fchmodat(dir, base.c_str(), perm, 0) < 0) return errno_error("chmod ", quote(name));
      TRY(xattrs(e, -1, dir, base));
      if (::utimensat(dir, base.c_str(), times, AT_SYMLINK_NOFOLLOW) < 0)
        return errno_error("set times of ", quote(name));
      return ok();
    }
    case AE_IFSOCK:
      ++stats.skipped;
      return ok();
    default:
      return error("unsupported entry type ", static_cast<unsigned>(type) >> 12);
  }
}

Result<void> Unpacker::finish_directories() {
  forget_parent();
  for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) {
    int fd = root_;
    UniqueFd owned;
    if (!it->path.empty()) {
      // Resolved again, never through a symlink: a later entry may have replaced the directory.
      owned.reset(openat_beneath(root_, it->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW,
                                 RESOLVE_NO_SYMLINKS));
      if (!owned) continue;
      fd = owned.get();
    }
    if (::fchmod(fd, it->mode) < 0) return errno_error("chmod ", quote(it->path));
    if (::futimens(fd, it->times) < 0) return errno_error("set times of ", quote(it->path));
  }
  return ok();
}

Result<UnpackStats> unpack(const LibArchive& la, int fd, int dir_fd, const UnpackOptions& o) {
  Source src;
  src.la = &la;
  src.hash = TRY(Sha256::create());
  ArchivePtr outer(la.archive_read_new(), ArchiveDeleter{&la});
  ArchivePtr inner(la.archive_read_new(), ArchiveDeleter{&la});
  if (!outer || !inner) return error("out of memory");
  src.outer = outer.get();
  la.archive_read_support_filter_gzip(outer.get());
  if (la.archive_read_support_filter_zstd(outer.get()) < ARCHIVE_WARN)
    return error("this libarchive cannot read zstd");
  la.archive_read_support_format_raw(outer.get());
  if (la.archive_read_open_fd(outer.get(), fd, 1 << 20) != ARCHIVE_OK)
    return error("open: ", archive_error(la, outer.get()));
  struct archive_entry* raw_entry;
  int r = la.archive_read_next_header(outer.get(), &raw_entry);
  if (r == ARCHIVE_EOF)
    src.eof = true;
  else if (r < ARCHIVE_WARN)
    return error("read: ", archive_error(la, outer.get()));

  la.archive_read_support_format_tar(inner.get());
  if (la.archive_read_open(inner.get(), &src, nullptr, source_read, nullptr) != ARCHIVE_OK)
    return error("not a tar stream: ", archive_error(la, inner.get(), src.failure));
  Unpacker u(la, dir_fd, o);
  while (true) {
    struct archive_entry* e;
    r = la.archive_read_next_header(inner.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) {
      if (!src.failure.empty()) return error(src.failure);
      return error("read tar: ", archive_error(la, inner.get()));
    }
    const char* raw = la.archive_entry_pathname(e);
    if (!raw) raw = la.archive_entry_pathname_utf8(e);
    if (!raw) return error("an entry whose name cannot be read");
    auto done = [&]() -> Result<void> {
      std::string name = TRY(clean_entry_path(raw));
      return u.entry(inner.get(), e, name);
    }();
    if (!done) return std::move(done.error().wrap(cat("entry ", quote(raw))));
  }
  TRY(u.finish_directories());
  // The tar reader stops at the end-of-archive blocks; the digest covers the whole stream.
  const void* buf;
  while (source_read(inner.get(), &src, &buf) > 0) {
  }
  if (!src.failure.empty()) return error(src.failure);
  u.stats.uncompressed_bytes = src.total;
  u.stats.diff_id = src.hash->finish();
  if (o.diff_id && u.stats.diff_id != *o.diff_id)
    return error("uncompressed content has digest ", u.stats.diff_id.str(),
                 " but the image config says ", o.diff_id->str());
  return u.stats;
}

}  // namespace

Result<std::string> clean_entry_path(std::string_view name) {
  std::vector<std::string> parts;
  for (auto& part : split(name, '/', true)) {
    if (part == ".") continue;
    if (part == "..") return error("a `..` in the name could leave the layer");
    parts.push_back(std::move(part));
  }
  return join(parts, "/");
}

Result<UnpackStats> unpack_layer(int fd, int dir_fd, const UnpackOptions& options) {
  auto la = libarchive();
  Result<UnpackStats> r = la ? unpack(**la, fd, dir_fd, options) : Result<UnpackStats>(la.error());
  if (!r && !options.layer_name.empty())
    return std::move(r.error().wrap(cat("layer ", options.layer_name)));
  return r;
}

}  // namespace skiff::image
