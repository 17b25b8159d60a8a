#include "runtime/cgroups/bpf_device_filter.hpp"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

namespace skiff::runtime::cgroups {
namespace {

bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn i{};
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}

// The few instruction shapes the filter needs (names as in the kernel's filter.h).
bpf_insn ldx_w(uint8_t dst, uint8_t src, int16_t off) {
  return insn(BPF_LDX | BPF_W | BPF_MEM, dst, src, off, 0);
}
bpf_insn alu32_imm(uint8_t op, uint8_t dst, int32_t imm) {
  return insn(BPF_ALU | op | BPF_K, dst, 0, 0, imm);
}
bpf_insn mov32_reg(uint8_t dst, uint8_t src) {
  return insn(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0);
}
bpf_insn mov64_imm(uint8_t dst, int32_t imm) {
  return insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm);
}
bpf_insn jmp_imm(uint8_t op, uint8_t dst, int32_t imm, int16_t off) {
  return insn(BPF_JMP | op | BPF_K, dst, 0, off, imm);
}
bpf_insn jmp_reg(uint8_t op, uint8_t dst, uint8_t src, int16_t off) {
  return insn(BPF_JMP | op | BPF_X, dst, src, off, 0);
}
bpf_insn exit_insn() { return insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }

long sys_bpf(int cmd, union bpf_attr* attr) {
  return ::syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

uint64_t ptr(const void* p) { return reinterpret_cast<uintptr_t>(p); }

}  // namespace

std::vector<bpf_insn> device_filter_program(const std::vector<DeviceRule>& rules) {
  std::vector<bpf_insn> p = {
      ldx_w(BPF_REG_2, BPF_REG_1, 0),  // r2 = ctx->access_type & 0xffff: device type
      alu32_imm(BPF_AND, BPF_REG_2, 0xffff),
      ldx_w(BPF_REG_3, BPF_REG_1, 0),  // r3 = ctx->access_type >> 16: requested access
      alu32_imm(BPF_RSH, BPF_REG_3, 16),
      ldx_w(BPF_REG_4, BPF_REG_1, 4),  // r4 = ctx->major
      ldx_w(BPF_REG_5, BPF_REG_1, 8),  // r5 = ctx->minor
  };
  for (auto it = rules.rbegin(); it != rules.rend(); ++it) {
    const DeviceRule& r = *it;
    bool has_type = r.type != 'a';
    // Every access is a non-empty subset of rwm: a full-access rule matches any of them.
    bool has_access = r.access != kAccessAll;
    bool has_major = r.major >= 0, has_minor = r.minor >= 0;
    // Instructions left in this block after each test; a failed test jumps past them all.
    int16_t left = static_cast<int16_t>((has_type ? 1 : 0) + (has_access ? 3 : 0) +
                                        (has_major ? 1 : 0) + (has_minor ? 1 : 0) + 2);
    if (has_type) {
      int32_t type = r.type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR;
      p.push_back(jmp_imm(BPF_JNE, BPF_REG_2, type, --left));
    }
    if (has_access) {
      p.push_back(mov32_reg(BPF_REG_1, BPF_REG_3));
      p.push_back(alu32_imm(BPF_AND, BPF_REG_1, static_cast<int32_t>(r.access)));
      left -= 3;
      // allow: every requested bit must be granted; deny: any requested bit forbidden.
      p.push_back(r.allow ? jmp_reg(BPF_JNE, BPF_REG_1, BPF_REG_3, left)
                          : jmp_imm(BPF_JEQ, BPF_REG_1, 0, left));
    }
    if (has_major) p.push_back(jmp_imm(BPF_JNE, BPF_REG_4, static_cast<int32_t>(r.major), --left));
    if (has_minor) p.push_back(jmp_imm(BPF_JNE, BPF_REG_5, static_cast<int32_t>(r.minor), --left));
    p.push_back(mov64_imm(BPF_REG_0, r.allow ? 1 : 0));
    p.push_back(exit_insn());
    // Matches everything: the rules before it can never decide.
    if (!has_type && !has_access && !has_major && !has_minor) return p;
  }
  p.push_back(mov64_imm(BPF_REG_0, 0));
  p.push_back(exit_insn());
  return p;
}

Result<UniqueFd> load_device_program(const std::vector<bpf_insn>& program) {
  static const char kLicense[] = "GPL";
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insns = ptr(program.data());
  attr.insn_cnt = static_cast<uint32_t>(program.size());
  attr.license = ptr(kLicense);
  int fd = static_cast<int>(sys_bpf(BPF_PROG_LOAD, &attr));
  if (fd < 0 && errno == EPERM) {
    // Before Linux 5.11 programs were charged to RLIMIT_MEMLOCK (crun's bump_memlock).
    struct rlimit unlimited = {RLIM_INFINITY, RLIM_INFINITY};
    if (::setrlimit(RLIMIT_MEMLOCK, &unlimited) == 0)
      fd = static_cast<int>(sys_bpf(BPF_PROG_LOAD, &attr));
  }
  if (fd >= 0) return UniqueFd(fd);
  int code = errno;
  // Again with the verifier's log, so the error says why.
  std::string log(64 * 1024, '\0');
  attr.log_level = 1;
  attr.log_buf = ptr(log.data());
  attr.log_size = static_cast<uint32_t>(log.size());
  fd = static_cast<int>(sys_bpf(BPF_PROG_LOAD, &attr));
  if (fd >= 0) return UniqueFd(fd);
  log.resize(std::strlen(log.c_str()));
  std::string msg =
      cat("bpf(BPF_PROG_LOAD) of the device cgroup program (", program.size(), " instructions)");
  if (!trim(log).empty()) msg += cat(" [verifier: ", trim(log), "]");
  return Error(msg, code);
}

Result<std::vector<uint32_t>> attached_device_programs(int cgroup_fd) {
  for (uint32_t capacity = 64; capacity <= 4096; capacity *= 2) {
    std::vector<uint32_t> ids(capacity);
    union bpf_attr attr;
    std::memset(&attr, 0, sizeof attr);
    attr.query.target_fd = static_cast<uint32_t>(cgroup_fd);
    attr.query.attach_type = BPF_CGROUP_DEVICE;
    attr.query.prog_ids = ptr(ids.data());
    attr.query.prog_cnt = capacity;
    if (sys_bpf(BPF_PROG_QUERY, &attr) == 0) {
      ids.resize(attr.query.prog_cnt);
      return ids;
    }
    if (errno != ENOSPC) return errno_error("bpf(BPF_PROG_QUERY) of the cgroup's device programs");
  }
  return error("bpf(BPF_PROG_QUERY): more than 4096 device programs on the cgroup");
}

Result<void> replace_device_program(int cgroup_fd, int prog_fd) {
  auto old = TRY(attached_device_programs(cgroup_fd));
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.target_fd = static_cast<uint32_t>(cgroup_fd);
  attr.attach_bpf_fd = static_cast<uint32_t>(prog_fd);
  attr.attach_type = BPF_CGROUP_DEVICE;
  attr.attach_flags = BPF_F_ALLOW_MULTI;
  if (sys_bpf(BPF_PROG_ATTACH, &attr) < 0)
    return errno_error("bpf(BPF_PROG_ATTACH) of the device cgroup program");
  for (uint32_t id : old) {
    std::memset(&attr, 0, sizeof attr);
    attr.prog_id = id;
    UniqueFd fd(static_cast<int>(sys_bpf(BPF_PROG_GET_FD_BY_ID, &attr)));
    if (!fd) {
      if (errno == ENOENT) continue;  // already gone
      return errno_error("bpf(BPF_PROG_GET_FD_BY_ID) of the old device program ", id);
    }
    std::memset(&attr, 0, sizeof attr);
    attr.target_fd = static_cast<uint32_t>(cgroup_fd);
    attr.attach_bpf_fd = static_cast<uint32_t>(fd.get());
    attr.attach_type = BPF_CGROUP_DEVICE;
    if (sys_bpf(BPF_PROG_DETACH, &attr) < 0 && errno != ENOENT)
      return errno_error("bpf(BPF_PROG_DETACH) of the old device program ", id);
  }
  return ok();
}

}  // namespace skiff::runtime::cgroups
