// Network configurations on disk: sorted, .conflist/.conf/.json, invalid files reported.
#include <gtest/gtest.h>

#include "cni/conf_loader.hpp"
#include "tests/support/test_util.hpp"

namespace skiff::cni {
namespace {

TEST(ConfLoader, SortedListsAndSingleConfs) {
  test::TempDir dir("skiff-cni-conf");
  test::write_file(dir / "20-second.conf",
                   R"({"cniVersion":"1.0.0","name":"second","type":"bridge"})");
  test::write_file(dir / "10-first.conflist",
                   R"({"cniVersion":"1.1.0","name":"first","plugins":[{"type":"skiff-bridge"}]})");
  test::write_file(dir / "30-broken.json", "{nope");
  test::write_file(
      dir / "40-list-in.json",
      R"({"cniVersion":"1.0.0","name":"fourth","plugins":[{"type":"a"},{"type":"b"}]})");
  test::write_file(dir / "README.md", "not a config");
  auto all = load_conf_dir(dir.path());
  ASSERT_TRUE(all.ok()) << all.error().what();
  ASSERT_EQ(all->size(), 4u);
  EXPECT_EQ((*all)[0].list->name, "first");
  EXPECT_EQ((*all)[1].list->name, "second");
  EXPECT_EQ((*all)[1].list->plugins.size(), 1u);
  ASSERT_FALSE((*all)[2].list.ok());
  EXPECT_EQ((*all)[2].list.error().code, kErrDecodingFailure);
  EXPECT_NE((*all)[2].list.error().msg.find("30-broken.json"), std::string::npos);
  EXPECT_EQ((*all)[3].list->plugins.size(), 2u);

  auto def = find_network(dir.path());
  ASSERT_TRUE(def.ok());
  EXPECT_EQ(def->name, "first");
  auto named = find_network(dir.path(), "fourth");
  ASSERT_TRUE(named.ok());
  EXPECT_EQ(named->plugins[1]["type"], "b");
  auto missing = find_network(dir.path(), "nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, kErrInvalidNetworkConfig);
}

TEST(ConfLoader, ConflistMustBeAList) {
  test::TempDir dir("skiff-cni-conf");
  test::write_file(dir / "a.conflist", R"({"cniVersion":"1.0.0","name":"x","type":"bridge"})");
  auto l = load_conf_file(dir / "a.conflist");
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.error().code, kErrInvalidNetworkConfig);
  EXPECT_FALSE(load_conf_dir(dir / "missing").ok());
}

}  // namespace
}  // namespace skiff::cni
