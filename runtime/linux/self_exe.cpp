#include "runtime/linux/self_exe.hpp"

#include <elf.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/mount.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "common/fs.hpp"
#include "common/log.hpp"
#include "common/unique_fd.hpp"

extern char** environ;

namespace skiff::runtime::linux {
namespace {

constexpr const char* kAttachedLower = "/run/skiff-exe-lower";

int sys_fsopen(const char* fs, unsigned flags) {
  return static_cast<int>(syscall(SYS_fsopen, fs, flags));
}
int sys_fsconfig(int fd, unsigned cmd, const char* key, const void* value, int aux) {
  return static_cast<int>(syscall(SYS_fsconfig, fd, cmd, key, value, aux));
}
int sys_fsmount(int fd, unsigned flags, unsigned attrs) {
  return static_cast<int>(syscall(SYS_fsmount, fd, flags, attrs));
}

// The second lower layer: overlayfs without an upper layer wants two, and refuses the same one
// twice (ELOOP). Kernels since 6.15 take a detached, empty tmpfs; older ones (Debian 12's 6.1:
// "failed to clone lowerpath") only take attached paths, so there it is an empty root-owned
// directory on /run. The binary's directory is the upper of the two, so nothing in the second
// one can shadow the binary.
Result<UniqueFd> empty_lower(SealMethod method) {
  if (method == SealMethod::kOverlayDetached) {
    UniqueFd tmpfs(sys_fsopen("tmpfs", FSOPEN_CLOEXEC));
    if (!tmpfs) return errno_error("fsopen tmpfs");
    if (sys_fsconfig(tmpfs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0)
      return errno_error("create an empty tmpfs");
    UniqueFd empty(sys_fsmount(tmpfs.get(), FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY));
    if (!empty) return errno_error("fsmount tmpfs");
    return empty;
  }
  if (::mkdir(kAttachedLower, 0700) < 0 && errno != EEXIST)
    return errno_error("mkdir ", quote(kAttachedLower));
  UniqueFd dir(::open(kAttachedLower, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir) return errno_error("open ", quote(kAttachedLower));
  struct stat st;
  if (fstat(dir.get(), &st) < 0) return errno_error("stat ", quote(kAttachedLower));
  if (st.st_uid != 0 || (st.st_mode & 022))
    return error(quote(kAttachedLower), " is not a root-owned directory writable only by root");
  return dir;
}

// A detached read-only overlay whose top lower layer is the binary's directory: /proc/self/exe
// then points into a mount that is attached nowhere and cannot be made writable.
Result<UniqueFd> sealed_overlay(const std::string& exe, SealMethod method) {
  size_t slash = exe.rfind('/');
  if (slash == std::string::npos) return error("no directory in ", quote(exe));
  std::string dir = slash == 0 ? "/" : exe.substr(0, slash);
  std::string base = exe.substr(slash + 1);
  UniqueFd empty = TRY(empty_lower(method));
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

// How many leading bytes of the ELF file at `fd` execve and the dynamic loader read: up to the
// end of the last PT_LOAD segment. Debug info and section headers after it are not needed, and a
// RelWithDebInfo skiff is 100 MiB of which 3 MiB load. 0 when the file is no ELF we understand.
size_t loaded_size(int fd) {
  Elf64_Ehdr eh;
  if (pread(fd, &eh, sizeof eh, 0) != static_cast<ssize_t>(sizeof eh) ||
      std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
      eh.e_phentsize != sizeof(Elf64_Phdr))
    return 0;
  size_t end = eh.e_phoff + size_t{eh.e_phnum} * sizeof(Elf64_Phdr);
  for (unsigned i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph;
    if (pread(fd, &ph, sizeof ph, static_cast<off_t>(eh.e_phoff + i * sizeof ph)) !=
        static_cast<ssize_t>(sizeof ph))
      return 0;
    end = std::max<size_t>(end, ph.p_offset + ph.p_filesz);
  }
  return end;
}

Result<UniqueFd> sealed_memfd(const std::string& exe) {
  UniqueFd src(::open(exe.c_str(), O_RDONLY | O_CLOEXEC));
  if (!src) return errno_error("open ", quote(exe));
  struct stat st;
  if (fstat(src.get(), &st) < 0) return errno_error("stat ", quote(exe));
  off_t size = st.st_size;
  if (size_t loaded = loaded_size(src.get()); loaded > 0 && loaded < static_cast<size_t>(size))
    size = static_cast<off_t>(loaded);
  UniqueFd mem(memfd_create("skiff", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!mem) return errno_error("memfd_create");
  off_t off = 0;
  while (off < size) {
    ssize_t n = sendfile(mem.get(), src.get(), &off, static_cast<size_t>(size - off));
    if (n <= 0) return errno_error("copy ", quote(exe), " into a memfd");
  }
  if (fcntl(mem.get(), F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
    return errno_error("seal the memfd copy of skiff");
  return mem;
}

}  // namespace

Result<UniqueFd> seal_binary(const std::string& exe, SealMethod method) {
  if (method == SealMethod::kMemfd) return sealed_memfd(exe);
  return sealed_overlay(exe, method);
}

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

bool kernel_takes_detached_lowers() {
  struct utsname u;
  if (uname(&u) < 0) return true;  // try it, and fall back
  unsigned major = 0, minor = 0;
  if (std::sscanf(u.release, "%u.%u", &major, &minor) != 2) return true;
  return major > 6 || (major == 6 && minor >= 15);
}

Result<UniqueFd> seal_binary_best(const std::string& exe) {
  Result<UniqueFd> fd = error("detached overlay lowers need Linux 6.15");
  if (kernel_takes_detached_lowers()) fd = seal_binary(exe, SealMethod::kOverlayDetached);
  if (!fd) fd = seal_binary(exe, SealMethod::kOverlayAttached);
  if (!fd) fd = seal_binary(exe, SealMethod::kMemfd);
  return fd;
}

Result<void> reexec_sealed(char** argv) {
  if (self_exe_is_sealed()) return ok();
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n < 0) return errno_error("readlink /proc/self/exe");
  std::string path(buf, static_cast<size_t>(n));
  // Before 6.15 the detached attempt always fails, and costs a tmpfs superblock and a mount
  // teardown (an expedited RCU grace period) on every command: go straight to the attached lower.
  Result<UniqueFd> fd = error("detached overlay lowers need Linux 6.15");
  if (kernel_takes_detached_lowers()) fd = seal_binary(path, SealMethod::kOverlayDetached);
  if (!fd) {
    log::debug("detached overlay unavailable (", fd.error().what(), "); trying an attached lower");
    fd = seal_binary(path, SealMethod::kOverlayAttached);
  }
  if (!fd) {
    log::debug("sealed overlay unavailable (", fd.error().what(), "); using a sealed memfd");
    fd = seal_binary("/proc/self/exe", SealMethod::kMemfd);
  }
  if (!fd) return std::move(fd.error().wrap("protect the skiff binary (CVE-2019-5736)"));
  syscall(SYS_execveat, fd->get(), "", argv, environ, AT_EMPTY_PATH);
  return errno_error("re-exec skiff through its sealed copy");
}

}  // namespace skiff::runtime::linux
