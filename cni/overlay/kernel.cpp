// The kernel backend: the device is an rtnetlink link of kind "wireguard"; its configuration goes
// through the "wireguard" generic-netlink family (messages in genl.cpp). Picked automatically
// when that family resolves; this host's kernel has none, a VM kernel runs it (tests/vm).

#include <linux/if.h>
#include <linux/wireguard.h>
#include <netlink/errno.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>

#include "cni/netlink/netlink.hpp"
#include "cni/overlay/backend.hpp"
#include "cni/overlay/genl.hpp"

namespace skiff::cni::overlay {

namespace {

Result<std::pair<nl::SocketPtr, int>> open_genl() {
  nl::SocketPtr sock(nl_socket_alloc());
  if (!sock) return error("nl_socket_alloc: out of memory");
  if (int err = genl_connect(sock.get()); err < 0)
    return nl::nl_error(err, "connect NETLINK_GENERIC");
  int family = genl_ctrl_resolve(sock.get(), WG_GENL_NAME);
  if (family < 0) return nl::nl_error(family, "resolve the \"wireguard\" genl family");
  return std::make_pair(std::move(sock), family);
}

class KernelBackend : public Backend {
 public:
  explicit KernelBackend(BackendOptions o) : o_(std::move(o)) {}

  std::string name() const override { return "kernel"; }

  Result<bool> device_exists() override {
    auto nl = TRY(nl::Netlink::open());
    auto link = TRY(nl.find_link(o_.ifname));
    if (link && link->kind != "wireguard")
      return Error(cat("link ", quote(o_.ifname), " exists and is not a WireGuard device (",
                       link->kind.empty() ? "device" : link->kind, ")"),
                   EEXIST);
    return link.has_value();
  }

  Result<bool> ensure_device() override {
    if (TRY(device_exists())) return false;
    nl::SocketPtr sock(nl_socket_alloc());
    if (!sock || nl_connect(sock.get(), NETLINK_ROUTE) < 0) return error("open NETLINK_ROUTE");
    nl::LinkPtr link(rtnl_link_alloc());
    if (!link) return error("rtnl_link_alloc: out of memory");
    rtnl_link_set_name(link.get(), o_.ifname.c_str());
    // libnl has no info ops for "wireguard": the kind alone goes into IFLA_LINKINFO.
    if (int err = rtnl_link_set_type(link.get(), "wireguard"); err < 0)
      return nl::nl_error(err, "link kind wireguard");
    int err = rtnl_link_add(sock.get(), link.get(), NLM_F_CREATE | NLM_F_EXCL);
    if (err == -NLE_EXIST) return false;
    if (err < 0) return nl::nl_error(err, cat("create WireGuard link ", quote(o_.ifname)));
    return true;
  }

  Result<DeviceState> get() override {
    auto [sock, family] = TRY(open_genl());
    auto msg = TRY(genl::build_get_device(family, o_.ifname));
    if (int err = nl_send_auto(sock.get(), msg.get()); err < 0)
      return nl::nl_error(err, cat("get WireGuard device ", quote(o_.ifname)));
    struct Ctx {
      DeviceState state;
      std::optional<Error> err;
    } ctx;
    auto cb = [](nl_msg* m, void* arg) -> int {
      auto* c = static_cast<Ctx*>(arg);
      if (auto r = genl::parse_device(nlmsg_hdr(m), c->state); !r) {
        c->err = std::move(r).error();
        return NL_STOP;
      }
      return NL_OK;
    };
    nl_socket_modify_cb(sock.get(), NL_CB_VALID, NL_CB_CUSTOM, cb, &ctx);
    if (int err = nl_recvmsgs_default(sock.get()); err < 0)
      return nl::nl_error(err, cat("get WireGuard device ", quote(o_.ifname)));
    if (ctx.err) return std::move(*ctx.err);
    return std::move(ctx.state);
  }

  Result<void> set(const DeviceConfig& config) override {
    auto [sock, family] = TRY(open_genl());
    auto msg = TRY(genl::build_set_device(family, o_.ifname, config));
    if (int err = nl_send_sync(sock.get(), msg.release()); err < 0)  // frees the message
      return nl::nl_error(err, cat("configure WireGuard device ", quote(o_.ifname)));
    return ok();
  }

  Result<bool> remove_device() override {
    auto nl = TRY(nl::Netlink::open());
    return nl.delete_link(o_.ifname);
  }

 private:
  BackendOptions o_;
};

}  // namespace

bool kernel_wireguard_available() { return open_genl().ok(); }

Result<std::unique_ptr<Backend>> make_kernel_backend(const BackendOptions& options) {
  if (options.ifname.empty() || options.ifname.size() > 15)
    return Error(cat("interface name ", quote(options.ifname), ": want 1..15 characters"), EINVAL);
  if (!kernel_wireguard_available())
    return Error("the kernel has no WireGuard (generic netlink family \"wireguard\" not found)",
                 ENOTSUP);
  return std::unique_ptr<Backend>(new KernelBackend(options));
}

}  // namespace skiff::cni::overlay
