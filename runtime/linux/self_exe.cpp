#include "runtime/linux/self_exe.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/mount.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "common/fs.hpp"
#include "common/log.hpp"
#include "common/unique_fd.hpp"

extern char** environ;

namespace skiff::runtime::linux {
namespace {

int sys_fsopen(const char* fs, unsigned flags) {
  return static_cast<int>(syscall(SYS_fsopen, fs, flags));
}
int sys_fsconfig(int fd, unsigned cmd, const char* key, const void* value, int aux) {
  return static_cast<int>(syscall(SYS_fsconfig, fd, cmd, key, value, aux));
}
int sys_fsmount(int fd, unsigned flags, unsigned attrs) {
  return static_cast<int>(syscall(SYS_fsmount, fd, flags, attrs));
}

// A detached read-only overlay whose lower layer is the binary's directory: /proc/self/exe then
// points into a mount that is attached nowhere and cannot be made writable.
Result<UniqueFd> sealed_overlay(const std::string& exe) {
  size_t slash = exe.rfind('/');
  if (slash == std::string::npos) return error("no directory in ", quote(exe));
  std::string dir = slash == 0 ? "/" : exe.substr(0, slash);
  std::string base = exe.substr(slash + 1);
  // Without an upper layer overlayfs wants two lower layers, and refuses the same one twice
  // (ELOOP): the second is an empty, detached tmpfs.
  UniqueFd tmpfs(sys_fsopen("tmpfs", FSOPEN_CLOEXEC));
  if (!tmpfs) return errno_error("fsopen tmpfs");
  if (sys_fsconfig(tmpfs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0)
    return errno_error("create an empty tmpfs");
  UniqueFd empty(sys_fsmount(tmpfs.get(), FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY));
  if (!empty) return errno_error("fsmount tmpfs");
  UniqueFd fs(sys_fsopen("overlay", FSOPEN_CLOEXEC));
  if (!fs) return errno_error("fsopen overlay");
  std::string lower = cat(dir, ":", fd_path(empty.get()));
  if (sys_fsconfig(fs.get(), FSCONFIG_SET_STRING, "lowerdir", lower.c_str(), 0) < 0)
    return errno_error("overlay lowerdir ", quote(lower));
  sys_fsconfig(fs.get(), FSCONFIG_SET_STRING, "xino", "off", 0);
  if (sys_fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0)
    return errno_error("create overlay over ", quote(dir));
  UniqueFd mnt(sys_fsmount(fs.get(), FSMOUNT_CLOEXEC,
                           MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID));
  if (!mnt) return errno_error("fsmount overlay");
  UniqueFd file(::openat(mnt.get(), base.c_str(), O_RDONLY | O_CLOEXEC));
  if (!file) return errno_error("open ", quote(base), " in the sealed overlay");
  return file;
}

Result<UniqueFd> sealed_memfd() {
  UniqueFd src(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  if (!src) return errno_error("open /proc/self/exe");
  struct stat st;
  if (fstat(src.get(), &st) < 0) return errno_error("stat /proc/self/exe");
  UniqueFd mem(memfd_create("skiff", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!mem) return errno_error("memfd_create");
  off_t off = 0;
  while (off < st.st_size) {
    ssize_t n = sendfile(mem.get(), src.get(), &off, static_cast<size_t>(st.st_size - off));
    if (n <= 0) return errno_error("copy /proc/self/exe into a memfd");
  }
  if (fcntl(mem.get(), F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
    return errno_error("seal the memfd copy of skiff");
  return mem;
}

}  // namespace

bool self_exe_is_sealed() {
  UniqueFd fd(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  if (!fd) return false;
  int seals = fcntl(fd.get(), F_GET_SEALS);
  if (seals >= 0 && (seals & F_SEAL_WRITE)) return true;
  struct statfs sfs;
  struct statvfs svfs;
  return fstatfs(fd.get(), &sfs) == 0 && sfs.f_type == OVERLAYFS_SUPER_MAGIC &&
         fstatvfs(fd.get(), &svfs) == 0 && (svfs.f_flag & ST_RDONLY);
}

Result<void> reexec_sealed(char** argv) {
  if (self_exe_is_sealed()) return ok();
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n < 0) return errno_error("readlink /proc/self/exe");
  std::string path(buf, static_cast<size_t>(n));
  auto fd = sealed_overlay(path);
  if (!fd) {
    log::debug("sealed overlay unavailable (", fd.error().what(), "); using a sealed memfd");
    fd = sealed_memfd();
  }
  if (!fd) return std::move(fd.error().wrap("protect the skiff binary (CVE-2019-5736)"));
  syscall(SYS_execveat, fd->get(), "", argv, environ, AT_EMPTY_PATH);
  return errno_error("re-exec skiff through its sealed copy");
}

}  // namespace skiff::runtime::linux
