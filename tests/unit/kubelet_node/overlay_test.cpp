// The overlay's peer set from Node objects and the pods' CNI network for the node's pod CIDR.

#include <gtest/gtest.h>

#include "kubelet/node/overlay.hpp"

namespace skiff::kubelet::node {
namespace {

Json node(const std::string& name, const std::string& key, const std::string& endpoint,
          const std::string& cidr) {
  Json n = {{"metadata", {{"name", name}, {"annotations", Json::object()}}},
            {"spec", Json::object()}};
  if (!key.empty()) n["metadata"]["annotations"][kWgKeyAnnotation] = key;
  if (!endpoint.empty()) n["metadata"]["annotations"][kWgEndpointAnnotation] = endpoint;
  if (!cidr.empty()) n["spec"]["podCIDR"] = cidr;
  return n;
}

TEST(OverlayPeers, EveryOtherCompleteNodeSortedByCidr) {
  Json list = {{"items",
                {node("self", "K0", "10.0.0.1:51820", "10.244.0.0/24"),
                 node("c", "K3", "10.0.0.3:51820", "10.244.2.0/24"),
                 node("b", "K2", "10.0.0.2:51820", "10.244.1.0/24"),
                 node("no-key", "", "10.0.0.4:51820", "10.244.3.0/24"),
                 node("no-cidr", "K5", "10.0.0.5:51820", "")}}};
  Json peers = overlay_peers(list, "self")["peers"];
  ASSERT_EQ(peers.size(), 2u) << peers.dump();
  EXPECT_EQ(peers[0]["publicKey"], "K2");
  EXPECT_EQ(peers[0]["endpoint"], "10.0.0.2:51820");
  EXPECT_EQ(peers[0]["podCIDR"], "10.244.1.0/24");
  EXPECT_EQ(peers[1]["publicKey"], "K3");
  // The same nodes in another order give the same set: nothing is re-applied.
  Json shuffled = {{"items", {list["items"][2], list["items"][1], list["items"][0]}}};
  EXPECT_EQ(overlay_peers(shuffled, "self"), overlay_peers(list, "self"));
  EXPECT_TRUE(overlay_peers(Json::object(), "self")["peers"].empty());
}

// The watch's bookkeeping: every listed node kept (not only the last), events change it.
TEST(NodeSet, AListThenWatchEventsGiveThePeers) {
  NodeSet s;
  s.reset(
      {{"metadata", {{"resourceVersion", "7"}}},
       {"items",
        {node("self", "K0", "10.0.0.1:51820", "10.244.0.0/24"),
         node("b", "K2", "10.0.0.2:51820", "10.244.1.0/24"), node("c", "", "", "10.244.2.0/24")}}});
  EXPECT_EQ(s.list()["items"].size(), 3u);
  EXPECT_EQ(overlay_peers(s.list(), "self")["peers"].size(), 1u);
  // c publishes its key and endpoint, d joins, b leaves.
  s.apply("MODIFIED", node("c", "K3", "10.0.0.3:51820", "10.244.2.0/24"));
  s.apply("ADDED", node("d", "K4", "10.0.0.4:51820", "10.244.3.0/24"));
  s.apply("DELETED", node("b", "K2", "10.0.0.2:51820", "10.244.1.0/24"));
  Json peers = overlay_peers(s.list(), "self")["peers"];
  ASSERT_EQ(peers.size(), 2u) << peers.dump();
  EXPECT_EQ(peers[0]["publicKey"], "K3");
  EXPECT_EQ(peers[1]["publicKey"], "K4");
  // A relist starts over.
  s.reset({{"items", {node("e", "K5", "10.0.0.5:51820", "10.244.4.0/24")}}});
  EXPECT_EQ(overlay_peers(s.list(), "self")["peers"].size(), 1u);
}

TEST(OverlayConflist, BridgeOnThePodCidrLeasesInTheNodesDirNoPerPodMasquerade) {
  OverlayOptions o;
  o.cluster_cidr = "10.246.0.0/16";
  o.cni_data_dir = "/var/lib/skiff-cluster/c/n2/cni-data";
  Json c = overlay_conflist(o, "10.246.3.0/24", 1420);
  const Json& p = c["plugins"][0];
  EXPECT_EQ(p["type"], "skiff-bridge");
  EXPECT_EQ(p["ipam"]["ranges"][0][0]["subnet"], "10.246.3.0/24");
  // The node's own leases (--cni-data-dir), not host-local's default shared by every node.
  EXPECT_EQ(p["ipam"]["dataDir"], "/var/lib/skiff-cluster/c/n2/cni-data");
  // skiff-net's node-wide rule masquerades (up --cluster-cidr), not the bridge per pod.
  EXPECT_EQ(p["ipMasq"], false);
  EXPECT_FALSE(p.contains("ipMasqExclude"));
  EXPECT_EQ(p["mtu"], 1420);
  EXPECT_FALSE(overlay_conflist(o, "10.246.3.0/24", 0)["plugins"][0].contains("mtu"));
  o.cni_data_dir.clear();
  EXPECT_FALSE(overlay_conflist(o, "10.246.3.0/24", 0)["plugins"][0]["ipam"].contains("dataDir"));
}

}  // namespace
}  // namespace skiff::kubelet::node
