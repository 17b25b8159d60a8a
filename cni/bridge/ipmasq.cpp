#include "cni/bridge/ipmasq.hpp"

#include <dlfcn.h>
#include <nftables/libnftables.h>
#include <sys/file.h>

#include <fcntl.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <type_traits>

#include "common/fs.hpp"
#include "common/json_util.hpp"

namespace skiff::cni::bridge {

namespace {

constexpr const char* kLockDir = "/run/skiff/cni";
constexpr const char* kLockFile = "/run/skiff/cni/ipmasq.lock";

// libnftables is loaded on first use, not linked: it drags in five more libraries (libnftnl,
// libmnl, libxtables, libjansson, libgmp) that every plugin start would pay for, with or without
// ipMasq.
struct NftApi {
  decltype(&nft_ctx_new) ctx_new;
  decltype(&nft_ctx_free) ctx_free;
  decltype(&nft_ctx_buffer_output) buffer_output;
  decltype(&nft_ctx_buffer_error) buffer_error;
  decltype(&nft_ctx_output_set_flags) set_flags;
  decltype(&nft_run_cmd_from_buffer) run;
  decltype(&nft_ctx_get_output_buffer) output;
  decltype(&nft_ctx_get_error_buffer) error;
};

Result<const NftApi*> nft_api() {
  static NftApi api{};
  static std::string failure;
  static bool loaded = false;
  if (!loaded) {
    loaded = true;
    void* lib = dlopen("libnftables.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      failure = cat("load libnftables.so.1: ", dlerror());
    } else {
      auto sym = [&](auto& fn, const char* name) {
        fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(lib, name));
        if (!fn && failure.empty()) failure = cat("libnftables: missing symbol ", name);
      };
      sym(api.ctx_new, "nft_ctx_new");
      sym(api.ctx_free, "nft_ctx_free");
      sym(api.buffer_output, "nft_ctx_buffer_output");
      sym(api.buffer_error, "nft_ctx_buffer_error");
      sym(api.set_flags, "nft_ctx_output_set_flags");
      sym(api.run, "nft_run_cmd_from_buffer");
      sym(api.output, "nft_ctx_get_output_buffer");
      sym(api.error, "nft_ctx_get_error_buffer");
    }
  }
  if (!failure.empty()) return error(failure, " (ipMasq needs the libnftables1 package)");
  return &api;
}

struct NftCtxDeleter {
  const NftApi* api;
  void operator()(nft_ctx* c) const { api->ctx_free(c); }
};
using NftCtxPtr = std::unique_ptr<nft_ctx, NftCtxDeleter>;

std::string hash_hex(std::string_view s) {
  // FNV-1a 32: stable across runs and builds (std::hash is not promised to be).
  uint32_t h = 2166136261u;
  for (unsigned char c : s) h = (h ^ c) * 16777619u;
  char buf[9];
  snprintf(buf, sizeof buf, "%08x", h);
  return buf;
}

bool plain(std::string_view s, std::string_view extra) {
  for (char c : s)
    if (!isalnum(static_cast<unsigned char>(c)) && extra.find(c) == std::string_view::npos)
      return false;
  return true;
}

// Runs an nft script in one transaction; with `json`, returns the JSON output.
Result<std::string> nft(const std::string& script, bool json = false) {
  const NftApi* api = TRY(nft_api());
  NftCtxPtr ctx(api->ctx_new(NFT_CTX_DEFAULT), NftCtxDeleter{api});
  if (!ctx) return error("nft_ctx_new failed");
  api->buffer_output(ctx.get());
  api->buffer_error(ctx.get());
  if (json) api->set_flags(ctx.get(), NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_HANDLE);
  if (api->run(ctx.get(), script.c_str()) != 0) {
    std::string err = api->error(ctx.get());
    return error("nftables: ", trim(err), " (script: ", trim(script), ")");
  }
  return std::string(api->output(ctx.get()));
}

// Serialises DEL/GC (list, then delete) against each other and against ADD.
Result<UniqueFd> lock() {
  TRY(mkdir_p(kLockDir, 0755));
  UniqueFd fd(::open(kLockFile, O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) return errno_error("open ", quote(kLockFile));
  while (flock(fd.get(), LOCK_EX) < 0)
    if (errno != EINTR) return errno_error("lock ", quote(kLockFile));
  return fd;
}

struct RuleRef {
  long handle;
  std::string comment;
};

// The table's rules, or nullopt when the table does not exist.
Result<std::optional<std::vector<RuleRef>>> list_rules(const std::string& table) {
  auto tables = TRY(nft("list tables inet", true));
  auto tj = TRY(parse_json(tables, "nft list tables"));
  bool exists = false;
  if (tj.contains("nftables"))
    for (const auto& item : tj["nftables"])
      if (item.contains("table") && item["table"].value("name", "") == table) exists = true;
  if (!exists) return std::optional<std::vector<RuleRef>>();
  auto out = TRY(nft(cat("list table inet ", table), true));
  auto j = TRY(parse_json(out, "nft list table"));
  std::vector<RuleRef> rules;
  if (j.contains("nftables"))
    for (const auto& item : j["nftables"]) {
      if (!item.contains("rule")) continue;
      const auto& r = item["rule"];
      rules.push_back({r.value("handle", -1L), r.value("comment", "")});
    }
  return std::optional<std::vector<RuleRef>>(std::move(rules));
}

// Deletes the rules `drop` selects, and the table when nothing is left.
Result<void> prune(const std::string& network, const std::function<bool(const RuleRef&)>& drop) {
  auto table = masq_table_name(network);
  auto held = TRY(lock());
  auto rules = TRY(list_rules(table));
  if (!rules) return ok();
  std::string script;
  size_t kept = 0;
  for (const auto& r : *rules) {
    if (drop(r))
      script += cat("delete rule inet ", table, " postrouting handle ", r.handle, "\n");
    else
      ++kept;
  }
  if (kept == 0) script = cat("delete table inet ", table, "\n");
  if (script.empty()) return ok();
  TRY(nft(script));
  return ok();
}

}  // namespace

std::string masq_table_name(const std::string& network) {
  std::string name = "skiff-";
  bool changed = false;
  for (char c : network) {
    bool ok_char = isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
    name.push_back(ok_char ? c : '_');
    changed |= !ok_char;
  }
  if (changed || name.size() > 64) name = cat(name.substr(0, 48), '-', hash_hex(network));
  return name;
}

std::string masq_rule_tag(const std::string& container_id, const std::string& ifname) {
  auto tag = cat(container_id, '/', ifname);
  // nft comments are at most 128 bytes and we write them unescaped: anything unusual is hashed.
  if (tag.size() > 100 || !plain(tag, "-_./:")) return cat("h:", hash_hex(tag));
  return tag;
}

namespace {

// One rule per source: traffic from `saddr` (a pod's address, or a whole pod subnet) to anywhere
// but `own` (its subnet), the `exclude` networks of its family and multicast is masqueraded.
std::string masq_rule(const std::string& table, const std::string& tag, const std::string& saddr,
                      const IpNet& own, const std::vector<IpNet>& exclude) {
  bool v4 = own.addr().is_v4();
  // The destinations left alone; nft refuses overlapping intervals in one set, so a network
  // inside another one of the list goes (the pod subnet inside the cluster CIDR, say).
  std::vector<IpNet> nets = {own.network()};
  for (const auto& ex : exclude)
    if (ex.addr().is_v4() == v4) nets.push_back(ex.network());
  std::string keep;
  for (size_t i = 0; i < nets.size(); ++i) {
    bool inside = false;
    for (size_t k = 0; k < nets.size() && !inside; ++k)
      inside = k != i && nets[k].contains(nets[i].addr()) &&
               (nets[k].prefix() < nets[i].prefix() || (nets[k] == nets[i] && k < i));
    if (!inside) keep += cat(keep.empty() ? "" : ", ", nets[i].str());
  }
  return cat("add rule inet ", table, " postrouting ", v4 ? "ip" : "ip6", " saddr ", saddr, ' ',
             v4 ? "ip" : "ip6", " daddr != { ", keep, ", ", v4 ? "224.0.0.0/4" : "ff00::/8",
             " } masquerade comment \"", tag, "\"\n");
}

std::string masq_table_script(const std::string& table) {
  return cat("add table inet ", table, "\n", "add chain inet ", table,
             " postrouting { type nat hook postrouting priority 100; policy accept; }\n");
}

}  // namespace

std::string masq_add_script(const std::string& network, const std::string& tag,
                            const std::vector<IpNet>& ips, const std::vector<IpNet>& exclude) {
  auto table = masq_table_name(network);
  std::string s = masq_table_script(table);
  for (const auto& ip : ips) s += masq_rule(table, tag, ip.addr().str(), ip, exclude);
  return s;
}

std::string masq_subnet_script(const std::string& network, const std::string& tag,
                               const std::vector<IpNet>& subnets, const std::vector<IpNet>& exclude,
                               const std::vector<long>& replace) {
  auto table = masq_table_name(network);
  std::string s;
  for (long h : replace) s += cat("delete rule inet ", table, " postrouting handle ", h, "\n");
  s += masq_table_script(table);
  for (const auto& net : subnets) s += masq_rule(table, tag, net.network().str(), net, exclude);
  return s;
}

Result<void> add_masquerade(const std::string& network, const std::string& container_id,
                            const std::string& ifname, const std::vector<IpNet>& ips,
                            const std::vector<IpNet>& exclude) {
  auto held = TRY(lock());
  TRY(nft(masq_add_script(network, masq_rule_tag(container_id, ifname), ips, exclude)));
  return ok();
}

Result<void> set_subnet_masquerade(const std::string& network, const std::string& owner,
                                   const std::string& ifname, const std::vector<IpNet>& subnets,
                                   const std::vector<IpNet>& exclude) {
  auto tag = masq_rule_tag(owner, ifname);
  auto held = TRY(lock());
  std::vector<long> replace;
  if (auto rules = TRY(list_rules(masq_table_name(network))))
    for (const auto& r : *rules)
      if (r.comment == tag) replace.push_back(r.handle);
  TRY(nft(masq_subnet_script(network, tag, subnets, exclude, replace)));
  return ok();
}

Result<void> remove_masquerade(const std::string& network, const std::string& container_id,
                               const std::string& ifname) {
  auto tag = masq_rule_tag(container_id, ifname);
  return prune(network, [&](const RuleRef& r) { return r.comment == tag; });
}

Result<void> gc_masquerade(const std::string& network, const std::vector<AttachmentKey>& valid) {
  std::vector<std::string> keep;
  for (const auto& v : valid) keep.push_back(masq_rule_tag(v.container_id, v.ifname));
  return prune(network, [&](const RuleRef& r) {
    return std::find(keep.begin(), keep.end(), r.comment) == keep.end();
  });
}

Result<bool> masquerade_table_exists(const std::string& network) {
  auto rules = TRY(list_rules(masq_table_name(network)));
  return rules.has_value();
}

}  // namespace skiff::cni::bridge
