#include "runtime/linux/rootfs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <map>

#include "common/defer.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"

namespace skiff::runtime::linux {
namespace {

struct FlagOption {
  unsigned long set;
  unsigned long clear;
};

const std::map<std::string_view, FlagOption>& flag_options() {
  static const std::map<std::string_view, FlagOption> m = {
      {"ro", {MS_RDONLY, 0}},
      {"rw", {0, MS_RDONLY}},
      {"suid", {0, MS_NOSUID}},
      {"nosuid", {MS_NOSUID, 0}},
      {"dev", {0, MS_NODEV}},
      {"nodev", {MS_NODEV, 0}},
      {"exec", {0, MS_NOEXEC}},
      {"noexec", {MS_NOEXEC, 0}},
      {"sync", {MS_SYNCHRONOUS, 0}},
      {"async", {0, MS_SYNCHRONOUS}},
      {"dirsync", {MS_DIRSYNC, 0}},
      {"remount", {MS_REMOUNT, 0}},
      {"mand", {MS_MANDLOCK, 0}},
      {"nomand", {0, MS_MANDLOCK}},
      {"atime", {0, MS_NOATIME}},
      {"noatime", {MS_NOATIME, 0}},
      {"diratime", {0, MS_NODIRATIME}},
      {"nodiratime", {MS_NODIRATIME, 0}},
      {"relatime", {MS_RELATIME, 0}},
      {"norelatime", {0, MS_RELATIME}},
      {"strictatime", {MS_STRICTATIME, 0}},
      {"nostrictatime", {0, MS_STRICTATIME}},
      {"lazytime", {MS_LAZYTIME, 0}},
      {"nolazytime", {0, MS_LAZYTIME}},
  };
  return m;
}

const std::map<std::string_view, unsigned long>& propagation_options() {
  static const std::map<std::string_view, unsigned long> m = {
      {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
      {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
      {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
      {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
  };
  return m;
}

struct AttrOption {
  uint64_t set;
  uint64_t clear;
};

const std::map<std::string_view, AttrOption>& attr_options() {
  static const std::map<std::string_view, AttrOption> m = {
      {"rro", {MOUNT_ATTR_RDONLY, 0}},
      {"rrw", {0, MOUNT_ATTR_RDONLY}},
      {"rnosuid", {MOUNT_ATTR_NOSUID, 0}},
      {"rsuid", {0, MOUNT_ATTR_NOSUID}},
      {"rnodev", {MOUNT_ATTR_NODEV, 0}},
      {"rdev", {0, MOUNT_ATTR_NODEV}},
      {"rnoexec", {MOUNT_ATTR_NOEXEC, 0}},
      {"rexec", {0, MOUNT_ATTR_NOEXEC}},
      {"rnodiratime", {MOUNT_ATTR_NODIRATIME, 0}},
      {"rdiratime", {0, MOUNT_ATTR_NODIRATIME}},
      {"rnoatime", {MOUNT_ATTR_NOATIME, MOUNT_ATTR__ATIME}},
      {"rrelatime", {MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME}},
      {"rstrictatime", {MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME}},
      {"rnosymfollow", {MOUNT_ATTR_NOSYMFOLLOW, 0}},
      {"rsymfollow", {0, MOUNT_ATTR_NOSYMFOLLOW}},
  };
  return m;
}

int sys_mount_setattr(int dfd, const char* path, unsigned flags, struct mount_attr* attr) {
  return static_cast<int>(syscall(SYS_mount_setattr, dfd, path, flags, attr, sizeof *attr));
}

Result<void> do_mount(const std::string& source, int target_fd, const char* type,
                      unsigned long flags, const std::string& data, std::string_view dest) {
  std::string target = fd_path(target_fd);
  if (::mount(source.empty() ? nullptr : source.c_str(), target.c_str(), type, flags,
              data.empty() ? nullptr : data.c_str()) < 0)
    return errno_error("mount ", quote(source.empty() ? std::string(type ? type : "") : source),
                       " on ", quote(dest), type ? cat(" (type ", type, ")") : std::string());
  return ok();
}

// Flags the kernel locks on a mount made in a less privileged namespace: a remount must keep them.
unsigned long locked_flags(const std::string& path) {
  struct statvfs s;
  if (statvfs(path.c_str(), &s) < 0) return 0;
  unsigned long f = 0;
  if (s.f_flag & ST_NOSUID) f |= MS_NOSUID;
  if (s.f_flag & ST_NODEV) f |= MS_NODEV;
  if (s.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
  if (s.f_flag & ST_RDONLY) f |= MS_RDONLY;
  return f;
}

// Applies what a mount call itself could not: bind remount flags, recursive attrs, propagation.
Result<void> finish_mount(int root_fd, std::string_view dest, const MountOptions& o,
                          bool remount_bind) {
  auto fd = TRY(open_in_root(root_fd, dest, O_PATH));
  std::string path = fd_path(fd.get());
  unsigned long remount_flags = o.flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
  if (remount_bind && remount_flags) {
    if (::mount(nullptr, path.c_str(), nullptr, MS_BIND | MS_REMOUNT | remount_flags, nullptr) <
        0) {
      unsigned long retry = remount_flags | locked_flags(path);
      if (errno != EPERM ||
          ::mount(nullptr, path.c_str(), nullptr, MS_BIND | MS_REMOUNT | retry, nullptr) < 0)
        return errno_error("remount ", quote(dest), " with its options");
    }
  }
  if (o.attr_set || o.attr_clr) {
    struct mount_attr attr {};
    attr.attr_set = o.attr_set;
    attr.attr_clr = o.attr_clr;
    if (sys_mount_setattr(fd.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &attr) < 0)
      return errno_error("set recursive mount attributes on ", quote(dest));
  }
  if (o.propagation && ::mount(nullptr, path.c_str(), nullptr, o.propagation, nullptr) < 0)
    return errno_error("set propagation of ", quote(dest));
  return ok();
}

bool under_proc(std::string_view dest) { return dest == "/proc" || dest.starts_with("/proc/"); }

// A target under /proc must lie on a real procfs: an image cannot plant a fake /proc
// (CVE-2019-16884, CVE-2019-19921).
Result<void> check_proc_target(int fd, std::string_view dest) {
  if (!under_proc(dest) || dest == "/proc") return ok();
  if (!is_procfs(fd)) return error("mount target ", quote(dest), " is not on a real procfs");
  return ok();
}

// /proc itself only takes a procfs (a proc mount, or a bind of one): anything else there is the
// container's to fake, and the runtime goes through /proc after pivot_root (CVE-2019-19921;
// runc refuses it too).
Result<void> check_proc_mount(std::string_view dest, std::string_view what, bool procfs) {
  if (dest != "/proc" || procfs) return ok();
  return error("mount destination ", quote(dest), ": ", what,
               " is not a procfs; only procfs may be mounted there");
}

Result<void> mount_cgroup(const RootfsConfig& c, int root_fd, const oci::Mount& m,
                          const MountOptions& o, const std::string& dest) {
  unsigned long flags = (o.flags | MS_NOSUID | MS_NODEV | MS_NOEXEC) & ~(MS_BIND | MS_REC);
  auto target = TRY(mkdir_in_root(root_fd, dest));
  if (c.cgroup_mounts.size() == 1 && c.cgroup_mounts[0].fs_type == "cgroup2" &&
      c.cgroup_mounts[0].name.empty()) {
    const auto& mp = c.cgroup_mounts[0];
    if (c.new_cgroupns) {
      TRY(do_mount("cgroup2", target.get(), "cgroup2", flags, "", dest));
    } else {
      TRY(do_mount(mp.host_path, target.get(), nullptr, MS_BIND | MS_REC, "", dest));
      MountOptions ro = o;
      ro.flags = flags;
      TRY(finish_mount(root_fd, dest, ro, true));
    }
    return ok();
  }
  // v1 (and hybrid): a tmpfs with one directory per hierarchy, as runc lays it out.
  TRY(do_mount("tmpfs", target.get(), "tmpfs", (flags & ~MS_RDONLY), "mode=755", dest));
  for (const auto& mp : c.cgroup_mounts) {
    std::string sub = cat(dest, "/", mp.name);
    auto sub_fd = TRY(mkdir_in_root(root_fd, sub));
    if (c.new_cgroupns) {
      TRY(do_mount("cgroup", sub_fd.get(), mp.fs_type.c_str(), flags, mp.options, sub));
    } else {
      TRY(do_mount(mp.host_path, sub_fd.get(), nullptr, MS_BIND | MS_REC, "", sub));
      MountOptions sub_opts;
      sub_opts.flags = flags;
      TRY(finish_mount(root_fd, sub, sub_opts, true));
    }
    // "cpu,cpuacct" also answers to "cpu" and "cpuacct".
    if (mp.name.find(',') != std::string::npos) {
      auto dir = TRY(open_in_root(root_fd, dest, O_PATH | O_DIRECTORY));
      for (const auto& alias : split(mp.name, ','))
        if (symlinkat(mp.name.c_str(), dir.get(), alias.c_str()) < 0 && errno != EEXIST)
          return errno_error("symlink ", quote(cat(dest, "/", alias)));
    }
  }
  if (o.flags & MS_RDONLY) {
    auto fd = TRY(open_in_root(root_fd, dest, O_PATH));
    std::string p = fd_path(fd.get());
    if (::mount(nullptr, p.c_str(), nullptr, MS_REMOUNT | MS_RDONLY | flags, "mode=755") < 0)
      return errno_error("remount ", quote(dest), " read-only");
  }
  return ok();
}

// Copies a directory's entries (files, dirs, symlinks; modes and owners) into another: tmpcopyup.
Result<void> copy_tree(int from, int to) {
  UniqueFd dup(::fcntl(from, F_DUPFD_CLOEXEC, 3));
  DIR* d = fdopendir(dup.release());
  if (!d) return errno_error("opendir");
  Defer close_dir([&] { closedir(d); });
  while (struct dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    struct stat st;
    if (fstatat(from, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0)
      return errno_error("stat ", quote(name));
    if (S_ISDIR(st.st_mode)) {
      if (mkdirat(to, name.c_str(), st.st_mode & 07777) < 0 && errno != EEXIST)
        return errno_error("mkdir ", quote(name));
      UniqueFd src(::openat(from, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      UniqueFd dst(::openat(to, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!src || !dst) return errno_error("open ", quote(name));
      TRY_CTX(copy_tree(src.get(), dst.get()), name);
    } else if (S_ISLNK(st.st_mode)) {
      char buf[4096];
      ssize_t n = readlinkat(from, name.c_str(), buf, sizeof buf - 1);
      if (n < 0) return errno_error("readlink ", quote(name));
      buf[n] = '\0';
      if (symlinkat(buf, to, name.c_str()) < 0) return errno_error("symlink ", quote(name));
    } else if (S_ISREG(st.st_mode)) {
      UniqueFd src(::openat(from, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      UniqueFd dst(
          ::openat(to, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 07777));
      if (!src || !dst) return errno_error("copy ", quote(name));
      auto data = TRY(read_fd(src.get()));
      TRY(write_all(dst.get(), data));
    } else {
      continue;  // device nodes, fifos, sockets: not copied
    }
    if (fchownat(to, name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
      return errno_error("chown ", quote(name));
    if (!S_ISLNK(st.st_mode) && fchmodat(to, name.c_str(), st.st_mode & 07777, 0) < 0)
      return errno_error("chmod ", quote(name));
  }
  return ok();
}

Result<void> mount_one(const RootfsConfig& c, int root_fd, const oci::Mount& m) {
  auto o = TRY(parse_mount_options(m.options));
  std::string dest = clean_path(m.destination);
  if (m.type == "cgroup" || m.type == "cgroup2") return mount_cgroup(c, root_fd, m, o, dest);

  bool bind = o.bind || m.type == "bind";
  if (bind) {
    struct stat st;
    if (::stat(m.source.c_str(), &st) < 0)
      return errno_error("bind mount source ", quote(m.source));
    if (dest == "/proc") {
      UniqueFd source(::open(m.source.c_str(), O_PATH | O_CLOEXEC));
      TRY(check_proc_mount(dest, cat("bind source ", quote(m.source)),
                           source && is_procfs(source.get())));
    }
    auto target = TRY(make_target_in_root(root_fd, dest, S_ISDIR(st.st_mode)));
    TRY(check_proc_target(target.get(), dest));
    TRY(do_mount(m.source, target.get(), nullptr, MS_BIND | (o.recursive ? MS_REC : 0), "", dest));
    return finish_mount(root_fd, dest, o, true);
  }

  std::string type = m.type.empty() ? "none" : m.type;
  auto target = TRY(mkdir_in_root(root_fd, dest));
  if (type == "proc") {
    // The target itself must be a directory, not a symlink planted by the image.
    auto self = TRY(open_in_root(root_fd, dest, O_PATH | O_NOFOLLOW));
    struct stat st;
    if (fstat(self.get(), &st) < 0 || !S_ISDIR(st.st_mode))
      return error("mount destination ", quote(dest), " for proc is not a directory");
  } else {
    TRY(check_proc_mount(dest, cat("type ", quote(type)), false));
    TRY(check_proc_target(target.get(), dest));
  }
  unsigned long flags = o.flags & ~(MS_BIND | MS_REC);
  std::string data = o.data;
  // tmpcopyup: the image's files under the target are copied into the new tmpfs; keep a handle
  // on the directory the mount is about to cover.
  UniqueFd covered;
  if (o.tmpcopyup && type == "tmpfs") {
    covered.reset(::openat(target.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!covered) return errno_error("open ", quote(dest), " for tmpcopyup");
  }
  auto r =
      do_mount(m.source.empty() ? type : m.source, target.get(), type.c_str(), flags, data, dest);
  if (r && covered) {
    auto fresh = TRY(open_in_root(root_fd, dest, O_RDONLY | O_DIRECTORY));
    TRY_CTX(copy_tree(covered.get(), fresh.get()), "tmpcopyup into ", quote(dest));
  }
  if (!r && type == "sysfs" && !c.new_netns) {
    // sysfs can only be mounted by the owner of the network namespace: bind the host's instead.
    log::debug("sysfs mount refused (", r.error().what(), "); binding /sys");
    r = do_mount("/sys", target.get(), nullptr, MS_BIND | MS_REC, "", dest);
    if (r) return finish_mount(root_fd, dest, o, true);
  }
  if (!r) return r;
  if (type == "proc") {
    auto check = TRY(open_in_root(root_fd, dest, O_PATH | O_DIRECTORY));
    if (!is_procfs(check.get())) return error("mount on ", quote(dest), " is not procfs");
  }
  return finish_mount(root_fd, dest, o, false);
}

Result<void> make_device(int root_fd, const oci::Device& d, bool bind_from_host) {
  std::string path = clean_path(d.path);
  size_t slash = path.rfind('/');
  auto dir = TRY(mkdir_in_root(root_fd, path.substr(0, slash)));
  std::string base = path.substr(slash + 1);
  if (bind_from_host) {
    // In a user namespace mknod is not allowed: bind the host's node onto an empty file.
    auto target = TRY(make_target_in_root(root_fd, path, false));
    return do_mount(d.path, target.get(), nullptr, MS_BIND, "", path);
  }
  mode_t type = d.type == "b" ? S_IFBLK : d.type == "p" ? S_IFIFO : S_IFCHR;
  mode_t mode = (d.file_mode ? *d.file_mode : 0666) & 07777;
  unlinkat(dir.get(), base.c_str(), 0);
  if (mknodat(dir.get(), base.c_str(), type | mode,
              makedev(static_cast<unsigned>(d.major), static_cast<unsigned>(d.minor))) < 0)
    return errno_error("mknod ", quote(path));
  auto node = TRY(open_in_root(root_fd, path, O_PATH | O_NOFOLLOW));
  if (fchownat(node.get(), "", d.uid.value_or(0), d.gid.value_or(0), AT_EMPTY_PATH) < 0)
    return errno_error("chown ", quote(path));
  // mknod applies the umask; set the mode exactly.
  if (fchmodat(dir.get(), base.c_str(), mode, 0) < 0) return errno_error("chmod ", quote(path));
  return ok();
}

bool has_mount(const oci::Spec& spec, std::string_view dest) {
  for (const auto& m : spec.mounts)
    if (clean_path(m.destination) == dest) return true;
  return false;
}

Result<void> setup_dev(const RootfsConfig& c, int root_fd) {
  const auto& spec = *c.spec;
  for (const auto& d : default_devices()) {
    bool overridden = false;
    if (spec.linux)
      for (const auto& u : spec.linux->devices) overridden |= clean_path(u.path) == d.path;
    if (!overridden) TRY(make_device(root_fd, d, c.new_userns));
  }
  if (spec.linux)
    for (const auto& d : spec.linux->devices) TRY(make_device(root_fd, d, c.new_userns));
  auto dev = TRY(mkdir_in_root(root_fd, "/dev"));
  std::vector<std::pair<const char*, const char*>> links = {{"/proc/self/fd", "fd"},
                                                            {"/proc/self/fd/0", "stdin"},
                                                            {"/proc/self/fd/1", "stdout"},
                                                            {"/proc/self/fd/2", "stderr"}};
  if (has_mount(spec, "/proc")) links.push_back({"/proc/kcore", "core"});
  if (has_mount(spec, "/dev/pts")) {
    unlinkat(dev.get(), "ptmx", 0);
    links.push_back({"pts/ptmx", "ptmx"});
  }
  for (auto [target, name] : links)
    if (symlinkat(target, dev.get(), name) < 0 && errno != EEXIST)
      return errno_error("symlink ", quote(cat("/dev/", name)));
  return ok();
}

}  // namespace

const std::vector<oci::Device>& default_devices() {
  static const std::vector<oci::Device> devices = {
      {"c", "/dev/null", 1, 3, 0666, 0, 0},    {"c", "/dev/zero", 1, 5, 0666, 0, 0},
      {"c", "/dev/full", 1, 7, 0666, 0, 0},    {"c", "/dev/random", 1, 8, 0666, 0, 0},
      {"c", "/dev/urandom", 1, 9, 0666, 0, 0}, {"c", "/dev/tty", 5, 0, 0666, 0, 0},
  };
  return devices;
}

Result<MountOptions> parse_mount_options(const std::vector<std::string>& options) {
  MountOptions o;
  std::vector<std::string> data;
  for (const auto& opt : options) {
    if (auto f = flag_options().find(opt); f != flag_options().end()) {
      o.flags = (o.flags | f->second.set) & ~f->second.clear;
      o.clear |= f->second.clear;
    } else if (auto p = propagation_options().find(opt); p != propagation_options().end()) {
      o.propagation = p->second;
    } else if (auto a = attr_options().find(opt); a != attr_options().end()) {
      o.attr_set |= a->second.set;
      o.attr_clr |= a->second.clear;
    } else if (opt == "bind") {
      o.bind = true;
    } else if (opt == "rbind") {
      o.bind = o.recursive = true;
    } else if (opt == "tmpcopyup") {
      o.tmpcopyup = true;
    } else if (opt == "idmap" || opt == "ridmap") {
      return error("mount option ", quote(opt), " (id-mapped mounts) is not supported");
    } else {
      data.push_back(opt);
    }
  }
  o.data = join(data, ",");
  return o;
}

Result<void> prepare_rootfs(const RootfsConfig& c) {
  const auto& spec = *c.spec;
  unsigned long propagation = MS_SLAVE | MS_REC;
  if (spec.linux && !spec.linux->rootfs_propagation.empty()) {
    auto p = propagation_options().find(spec.linux->rootfs_propagation);
    if (p == propagation_options().end())
      return error("linux.rootfsPropagation: unknown value ",
                   quote(spec.linux->rootfs_propagation));
    propagation = p->second;
  }
  if (::mount(nullptr, "/", nullptr, propagation, nullptr) < 0)
    return errno_error("set propagation of / in the container's mount namespace");
  // pivot_root needs the new root to be a mount point whose parent is not shared.
  if (::mount(c.rootfs.c_str(), c.rootfs.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0)
    return errno_error("bind mount the rootfs ", quote(c.rootfs));
  auto root = TRY(open_dir(c.rootfs));
  for (size_t i = 0; i < spec.mounts.size(); ++i)
    TRY_CTX(mount_one(c, root.get(), spec.mounts[i]), "mounts[", i, "]");
  TRY_CTX(setup_dev(c, root.get()), "set up /dev");
  return ok();
}

Result<void> enter_rootfs(const RootfsConfig& c) {
  if (c.no_pivot) {
    if (chdir(c.rootfs.c_str()) < 0) return errno_error("chdir ", quote(c.rootfs));
    if (::mount(c.rootfs.c_str(), "/", nullptr, MS_MOVE, nullptr) < 0)
      return errno_error("move the rootfs to /");
    if (chroot(".") < 0) return errno_error("chroot into the rootfs");
    if (chdir("/") < 0) return errno_error("chdir /");
    return ok();
  }
  auto new_root = TRY(open_dir(c.rootfs));
  auto old_root = TRY(open_dir("/"));
  if (fchdir(new_root.get()) < 0) return errno_error("chdir into the rootfs");
  // pivot_root(".", "."): the old root ends up stacked under the new one and is detached below.
  if (syscall(SYS_pivot_root, ".", ".") < 0)
    return errno_error("pivot_root into ", quote(c.rootfs));
  if (fchdir(old_root.get()) < 0) return errno_error("chdir to the old root");
  if (::mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) < 0)
    return errno_error("make the old root a slave");
  if (umount2(".", MNT_DETACH) < 0) return errno_error("detach the old root");
  if (chdir("/") < 0) return errno_error("chdir /");
  return ok();
}

Result<void> finalize_rootfs(const RootfsConfig& c) {
  const auto& spec = *c.spec;
  auto root = TRY(open_dir("/"));
  if (spec.linux) {
    for (const auto& p : spec.linux->masked_paths) {
      auto fd = open_in_root(root.get(), p, O_PATH);
      if (!fd) {
        if (fd.error().code() == ENOENT) continue;
        return std::move(fd.error().wrap(cat("linux.maskedPaths: ", quote(p))));
      }
      TRY_CTX(check_proc_target(fd->get(), clean_path(p)), "linux.maskedPaths");
      struct stat st;
      if (fstat(fd->get(), &st) < 0) return errno_error("stat ", quote(p));
      if (S_ISDIR(st.st_mode)) {
        TRY_CTX(do_mount("tmpfs", fd->get(), "tmpfs", MS_RDONLY, "", p), "linux.maskedPaths");
      } else {
        TRY_CTX(do_mount("/dev/null", fd->get(), nullptr, MS_BIND, "", p), "linux.maskedPaths");
      }
    }
    for (const auto& p : spec.linux->readonly_paths) {
      auto fd = open_in_root(root.get(), p, O_PATH);
      if (!fd) {
        if (fd.error().code() == ENOENT) continue;
        return std::move(fd.error().wrap(cat("linux.readonlyPaths: ", quote(p))));
      }
      TRY_CTX(check_proc_target(fd->get(), clean_path(p)), "linux.readonlyPaths");
      TRY_CTX(do_mount(fd_path(fd->get()), fd->get(), nullptr, MS_BIND | MS_REC, "", p),
              "linux.readonlyPaths");
      MountOptions ro;
      ro.flags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
      TRY_CTX(finish_mount(root.get(), p, ro, true), "linux.readonlyPaths");
    }
  }
  if (spec.root && spec.root->readonly) {
    unsigned long f = MS_BIND | MS_REMOUNT | MS_RDONLY;
    if (::mount(nullptr, "/", nullptr, f, nullptr) < 0 &&
        (errno != EPERM || ::mount(nullptr, "/", nullptr, f | locked_flags("/"), nullptr) < 0))
      return errno_error("remount the root read-only (root.readonly)");
  }
  return ok();
}

}  // namespace skiff::runtime::linux
