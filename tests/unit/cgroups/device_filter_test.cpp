// Device rules: checking, the decision they make, the v1 lines, and the generated eBPF program —
// run through a small interpreter and compared with device_access_allowed() access by access.

#include <gtest/gtest.h>

#include <optional>

#include "runtime/cgroups/bpf_device_filter.hpp"
#include "runtime/cgroups/device_rules.hpp"

namespace skiff::runtime::cgroups {
namespace {

using R = oci::DeviceCgroupRule;
constexpr auto any = std::nullopt;

std::vector<DeviceRule> rules(const std::vector<R>& in) {
  auto r = normalize_device_rules(in);
  EXPECT_TRUE(r.ok()) << r.error().what();
  return r.value_or({});
}

// Executes the instruction subset the generator emits, as the kernel would for a
// bpf_cgroup_dev_ctx. Fails the test on anything else (unknown opcode, backward or
// out-of-range jump, running off the end).
std::optional<uint64_t> run(const std::vector<bpf_insn>& prog, uint32_t access_type, uint32_t major,
                            uint32_t minor) {
  const uint32_t ctx[3] = {access_type, major, minor};
  uint64_t reg[11] = {};
  bool r0_set = false;
  for (size_t pc = 0; pc < prog.size(); ++pc) {
    const bpf_insn& i = prog[pc];
    uint64_t src_val = (BPF_SRC(i.code) == BPF_X)
                           ? reg[i.src_reg]
                           : static_cast<uint64_t>(static_cast<int64_t>(i.imm));
    auto jump = [&](bool taken) {
      EXPECT_GE(i.off, 0) << "backward jump at " << pc;
      if (taken) pc += static_cast<size_t>(i.off);
      EXPECT_LT(pc + 1, prog.size()) << "jump past the end at " << pc;
    };
    switch (i.code) {
      case BPF_LDX | BPF_W | BPF_MEM:
        EXPECT_EQ(i.src_reg, BPF_REG_1);
        EXPECT_TRUE(i.off == 0 || i.off == 4 || i.off == 8);
        reg[i.dst_reg] = ctx[i.off / 4];
        break;
      case BPF_ALU | BPF_AND | BPF_K:
        reg[i.dst_reg] = static_cast<uint32_t>(reg[i.dst_reg] & static_cast<uint32_t>(i.imm));
        break;
      case BPF_ALU | BPF_RSH | BPF_K:
        reg[i.dst_reg] = static_cast<uint32_t>(reg[i.dst_reg]) >> i.imm;
        break;
      case BPF_ALU | BPF_MOV | BPF_X:
        reg[i.dst_reg] = static_cast<uint32_t>(reg[i.src_reg]);
        break;
      case BPF_ALU64 | BPF_MOV | BPF_K:
        reg[i.dst_reg] = static_cast<uint64_t>(static_cast<int64_t>(i.imm));
        if (i.dst_reg == BPF_REG_0) r0_set = true;
        break;
      case BPF_JMP | BPF_JNE | BPF_K:
      case BPF_JMP | BPF_JNE | BPF_X:
        jump(reg[i.dst_reg] != src_val);
        break;
      case BPF_JMP | BPF_JEQ | BPF_K:
        jump(reg[i.dst_reg] == src_val);
        break;
      case BPF_JMP | BPF_EXIT:
        EXPECT_TRUE(r0_set) << "exit without r0 at " << pc;
        return reg[BPF_REG_0];
      default:
        ADD_FAILURE() << "unexpected opcode 0x" << std::hex << int(i.code) << " at " << pc;
        return std::nullopt;
    }
  }
  ADD_FAILURE() << "ran off the end of the program";
  return std::nullopt;
}

// Every type × access × a spread of device numbers: the program and the C++ decision agree.
void expect_program_matches(const std::vector<DeviceRule>& rs, const std::string& name) {
  auto prog = device_filter_program(rs);
  for (char type : {'b', 'c'}) {
    uint32_t t = type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR;
    for (uint32_t access = 1; access <= kAccessAll; ++access)
      for (uint32_t major : {0u, 1u, 5u, 8u, 10u, 136u, 4095u})
        for (uint32_t minor : {0u, 1u, 3u, 5u, 200u, 1048575u}) {
          auto got = run(prog, (access << 16) | t, major, minor);
          ASSERT_TRUE(got.has_value());
          bool want = device_access_allowed(rs, type, major, minor, access);
          ASSERT_EQ(*got, want ? 1u : 0u) << name << ": " << type << " " << major << ":" << minor
                                          << " " << access_string(access);
        }
  }
}

// runc's default allow list after a deny-all (what containers normally get).
std::vector<R> default_rules() {
  return {
      R{false, "a", any, any, "rwm"}, R{true, "c", any, any, "m"},   R{true, "b", any, any, "m"},
      R{true, "c", 1, 3, "rwm"},      R{true, "c", 1, 8, "rwm"},     R{true, "c", 1, 7, "rwm"},
      R{true, "c", 5, 0, "rwm"},      R{true, "c", 1, 5, "rwm"},     R{true, "c", 1, 9, "rwm"},
      R{true, "c", 5, 1, "rwm"},      R{true, "c", 136, any, "rwm"}, R{true, "c", 5, 2, "rwm"},
      R{true, "c", 10, 200, "rwm"}};
}

TEST(DeviceRules, Normalize) {
  auto rs = rules({R{true, "", -1, 3, ""}, R{false, "b", 8, any, "mr"}});
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_EQ(rs[0], (DeviceRule{true, 'a', -1, 3, kAccessAll}));
  EXPECT_EQ(rs[1], (DeviceRule{false, 'b', 8, -1, kAccessRead | kAccessMknod}));
  auto bad_type = normalize_device_rules({R{true, "a", any, any, "rwm"}, R{true, "u", 1, 1, "r"}});
  ASSERT_FALSE(bad_type.ok());
  EXPECT_EQ(bad_type.error().what(),
            "linux.resources.devices[1].type: `u` is not one of `a`, `b`, `c`");
  auto bad_access = normalize_device_rules({R{true, "c", 1, 1, "rx"}});
  ASSERT_FALSE(bad_access.ok());
  EXPECT_EQ(bad_access.error().what(),
            "linux.resources.devices[0].access: `rx` may only hold `r`, `w`, `m`");
  auto big = normalize_device_rules({R{true, "c", 1LL << 40, 1, "r"}});
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().what(), "linux.resources.devices[0].major: 1099511627776 is out of range");
}

TEST(DeviceRules, Decisions) {
  auto rs = rules(default_rules());
  const uint32_t rw = kAccessRead | kAccessWrite;
  EXPECT_TRUE(device_access_allowed(rs, 'c', 1, 3, rw));            // /dev/null
  EXPECT_TRUE(device_access_allowed(rs, 'c', 136, 7, rw));          // a pty
  EXPECT_FALSE(device_access_allowed(rs, 'c', 1, 1, kAccessRead));  // /dev/mem
  EXPECT_TRUE(device_access_allowed(rs, 'c', 1, 1, kAccessMknod));  // mknod of any char dev
  EXPECT_TRUE(device_access_allowed(rs, 'b', 8, 0, kAccessMknod));
  EXPECT_FALSE(device_access_allowed(rs, 'b', 8, 0, kAccessRead));  // /dev/sda
  EXPECT_FALSE(device_access_allowed(rs, 'c', 1, 3, kAccessMknod | rw) && false);
  EXPECT_FALSE(device_access_allowed({}, 'c', 1, 3, kAccessRead)) << "no rules: deny";

  // Last match wins; a deny matches when it forbids any requested bit.
  auto narrowed = rules({R{true, "a", any, any, "rwm"}, R{false, "c", 1, 3, "w"}});
  EXPECT_TRUE(device_access_allowed(narrowed, 'c', 1, 3, kAccessRead));
  EXPECT_FALSE(device_access_allowed(narrowed, 'c', 1, 3, rw));
  EXPECT_FALSE(device_access_allowed(narrowed, 'c', 1, 3, kAccessWrite));
  EXPECT_TRUE(device_access_allowed(narrowed, 'c', 1, 5, rw));
  // An allow matches only when it grants every requested bit.
  auto partial = rules({R{true, "c", 1, 3, "r"}, R{true, "c", 1, 3, "w"}});
  EXPECT_TRUE(device_access_allowed(partial, 'c', 1, 3, kAccessRead));
  EXPECT_FALSE(device_access_allowed(partial, 'c', 1, 3, rw));
  // Re-allowing after a deny.
  auto reopened = rules({R{false, "a", any, any, "rwm"}, R{true, "c", 1, 3, "rwm"},
                         R{false, "c", 1, 3, "rwm"}, R{true, "c", 1, 3, "r"}});
  EXPECT_TRUE(device_access_allowed(reopened, 'c', 1, 3, kAccessRead));
  EXPECT_FALSE(device_access_allowed(reopened, 'c', 1, 3, rw));
}

TEST(DeviceRules, V1Lines) {
  auto line = [](R r) { return v1_device_lines(rules({r})[0]); };
  using L = std::vector<std::string>;
  EXPECT_EQ(line(R{false, "a", any, any, "rwm"}), L{"a"});
  EXPECT_EQ(line(R{true, "a", -1, -1, ""}), L{"a"});
  EXPECT_EQ(line(R{true, "c", 1, 3, "rwm"}), L{"c 1:3 rwm"});
  EXPECT_EQ(line(R{true, "c", any, any, "m"}), L{"c *:* m"});
  EXPECT_EQ(line(R{true, "b", 8, any, "wr"}), L{"b 8:* rw"});
  EXPECT_EQ(line(R{false, "c", any, 5, "mw"}), (L{"c *:5 wm"}));
  // The kernel reads any "a…" line as everything: narrower 'a' rules are spelled per type.
  EXPECT_EQ(line(R{false, "a", any, any, "w"}), (L{"c *:* w", "b *:* w"}));
  EXPECT_EQ(line(R{true, "a", 10, 200, "rw"}), (L{"c 10:200 rw", "b 10:200 rw"}));
}

TEST(DeviceFilterProgram, MatchesTheDecisionForEveryAccess) {
  expect_program_matches(rules(default_rules()), "default list");
  expect_program_matches({}, "no rules");
  expect_program_matches(rules({R{true, "a", any, any, "rwm"}}), "allow all");
  expect_program_matches(rules({R{false, "a", any, any, "rwm"}}), "deny all");
  expect_program_matches(
      rules({R{true, "a", any, any, "rwm"}, R{false, "c", 1, 3, "w"}, R{false, "b", any, 0, "rm"}}),
      "allow all, deny some");
  expect_program_matches(rules({R{true, "c", 1, 3, "r"}, R{true, "c", 1, 3, "w"},
                                R{true, "a", 5, any, "m"}, R{false, "c", any, 3, "m"}}),
                         "partial access");
  expect_program_matches(
      rules({R{false, "a", any, any, "rwm"}, R{true, "c", 1, 3, "rwm"}, R{false, "c", 1, 3, "rwm"},
             R{true, "c", 1, 3, "r"}, R{true, "c", 4095, 1048575, "rw"}}),
      "reopened and large numbers");
}

TEST(DeviceFilterProgram, Shape) {
  // No rules: the prologue, then "return 0".
  auto empty = device_filter_program({});
  ASSERT_EQ(empty.size(), 8u);
  EXPECT_EQ(empty[6].code, BPF_ALU64 | BPF_MOV | BPF_K);
  EXPECT_EQ(empty[6].imm, 0);
  EXPECT_EQ(empty.back().code, BPF_JMP | BPF_EXIT);

  // One block per rule: type 1 + access 3 + major 1 + minor 1 + return 2.
  auto one = device_filter_program(rules({R{true, "c", 1, 3, "rw"}}));
  EXPECT_EQ(one.size(), 6u + 8u + 2u);
  EXPECT_EQ(one.back().code, BPF_JMP | BPF_EXIT);
  auto full_access = device_filter_program(rules({R{true, "c", 1, 3, "rwm"}}));
  EXPECT_EQ(full_access.size(), 6u + 5u + 2u) << "rwm needs no access test";

  // A rule matching everything ends the program: the rules before it can never decide, and
  // there is no default "return 0" after it.
  auto catch_all =
      device_filter_program(rules({R{true, "c", 1, 3, "rwm"}, R{false, "a", any, any, "rwm"}}));
  ASSERT_EQ(catch_all.size(), 6u + 2u);
  EXPECT_EQ(catch_all[6].imm, 0);
  EXPECT_EQ(catch_all.back().code, BPF_JMP | BPF_EXIT);
  // Rules are tested last-first: the last rule's block comes right after the prologue.
  auto two =
      device_filter_program(rules({R{false, "a", any, any, "rwm"}, R{true, "b", 8, 0, "rwm"}}));
  EXPECT_EQ(two[6].code, BPF_JMP | BPF_JNE | BPF_K);
  EXPECT_EQ(two[6].imm, static_cast<int32_t>(BPF_DEVCG_DEV_BLOCK));
  EXPECT_EQ(two.size(), 6u + 5u + 2u) << "the deny-all that comes first in the list ends it";
}

}  // namespace
}  // namespace skiff::runtime::cgroups
