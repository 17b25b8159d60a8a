#pragma once
// ipMasq for the bridge plugin, through libnftables: one table per network
// (`inet skiff-<network>`, a postrouting NAT chain), one masquerade rule per attachment tagged
// with "<containerID>/<ifname>" in its comment. DEL removes the attachment's rules and the table
// with the last of them; the rules live in nftables itself, so a plugin killed mid-ADD leaves
// nothing a later DEL cannot find. A lock file serialises the read-modify-write of DEL and GC.

#include <string>
#include <vector>

#include "cni/ip.hpp"
#include "cni/skeleton.hpp"
#include "common/error.hpp"

namespace skiff::cni::bridge {

// nftables table name of a network: "skiff-<name>", sanitised (plus a hash when it had to be).
std::string masq_table_name(const std::string& network);
// The comment that tags an attachment's rules.
std::string masq_rule_tag(const std::string& container_id, const std::string& ifname);
// The nft script that adds the table, chain and rules for `ips` (each with its subnet):
// traffic from the pod leaving its subnet is masqueraded; multicast and the `exclude` networks
// of the same family (ipMasqExclude) are not.
std::string masq_add_script(const std::string& network, const std::string& tag,
                            const std::vector<IpNet>& ips, const std::vector<IpNet>& exclude = {});

// The same for whole subnets (a node's pod CIDR, flannel's --ip-masq): one rule per subnet with
// the subnet as its source, after deleting the rules with handles `replace` in the same
// transaction.
std::string masq_subnet_script(const std::string& network, const std::string& tag,
                               const std::vector<IpNet>& subnets, const std::vector<IpNet>& exclude,
                               const std::vector<long>& replace = {});

Result<void> add_masquerade(const std::string& network, const std::string& container_id,
                            const std::string& ifname, const std::vector<IpNet>& ips,
                            const std::vector<IpNet>& exclude = {});
// Makes the rules tagged masq_rule_tag(owner, ifname) exactly those of masq_subnet_script (one
// transaction: run again, it replaces them rather than adding more). Undone by remove_masquerade.
Result<void> set_subnet_masquerade(const std::string& network, const std::string& owner,
                                   const std::string& ifname, const std::vector<IpNet>& subnets,
                                   const std::vector<IpNet>& exclude);
// Removes the attachment's rules, and the table when none are left; fine when nothing is there.
Result<void> remove_masquerade(const std::string& network, const std::string& container_id,
                               const std::string& ifname);
// Removes rules of attachments not in `valid`, and the table when none are left.
Result<void> gc_masquerade(const std::string& network, const std::vector<AttachmentKey>& valid);
// True when the network's table exists (tests and CHECK).
Result<bool> masquerade_table_exists(const std::string& network);

}  // namespace skiff::cni::bridge
