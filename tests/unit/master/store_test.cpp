#include "master/store/store.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "master/store/sqlite_backend.hpp"
#include "tests/support/test_util.hpp"

namespace skiff::master {
namespace {

class StoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<Store> open(Store::Options o = {}) {
    auto b = SqliteBackend::open(dir_ / "state.db");
    EXPECT_TRUE(b.ok()) << b.error().what();
    auto s = Store::open(std::move(*b), o);
    EXPECT_TRUE(s.ok()) << s.error().what();
    return std::move(*s);
  }
  static Json obj(const std::string& name, int v = 0) {
    return {{"metadata", {{"name", name}}}, {"v", v}};
  }
  test::TempDir dir_{"skiff-store"};
};

TEST_F(StoreTest, CreateGetUpdateDeleteWithRevisions) {
  auto s = open();
  auto a = s->create("/pods/ns/a", obj("a"));
  ASSERT_TRUE(a.ok()) << a.error().what();
  EXPECT_EQ(a->mod_rev, 1);
  EXPECT_EQ((*a->json)["metadata"]["resourceVersion"], "1");
  auto dup = s->create("/pods/ns/a", obj("a"));
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code(), kExists);
  auto u = s->update("/pods/ns/a", obj("a", 2), 1);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->mod_rev, 2);
  EXPECT_EQ(u->create_rev, 1);
  auto stale = s->update("/pods/ns/a", obj("a", 3), 1);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().code(), kConflict);
  EXPECT_EQ((*s->get("/pods/ns/a").json)["v"], 2);  // the failed write stored nothing
  auto d = s->remove("/pods/ns/a", 0);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->mod_rev, 3);
  EXPECT_FALSE(s->get("/pods/ns/a"));
  EXPECT_EQ(s->remove("/pods/ns/a", 0).error().code(), kNotFound);
  EXPECT_EQ(s->revision(), 3);
}

TEST_F(StoreTest, ListByPrefixWithLimitAndContinue) {
  auto s = open();
  for (auto ns : {"a", "b"})
    for (int i = 0; i < 5; i++)
      ASSERT_TRUE(s->create(cat("/pods/", ns, "/p", i), obj(cat("p", i), i)).ok());
  ASSERT_TRUE(s->create("/pods2/a/x", obj("x")).ok());
  EXPECT_EQ(s->list("/pods/").items.size(), 10u);
  EXPECT_EQ(s->count("/pods/a/"), 5u);
  auto page = s->list("/pods/a/", "", 2);
  ASSERT_EQ(page.items.size(), 2u);
  EXPECT_EQ(page.next_key, "/pods/a/p2");
  auto rest = s->list("/pods/a/", page.next_key, 0);
  EXPECT_EQ(rest.items.size(), 3u);
  EXPECT_TRUE(rest.next_key.empty());
  auto odd = s->list("/pods/", "", 0, [](const Json& j) { return j["v"].get<int>() % 2 == 1; });
  EXPECT_EQ(odd.items.size(), 4u);
}

TEST_F(StoreTest, WatchFromRevisionSeesOrderedEvents) {
  auto s = open();
  ASSERT_TRUE(s->create("/cm/ns/a", obj("a")).ok());        // rev 1
  ASSERT_TRUE(s->create("/cm/ns/b", obj("b")).ok());        // rev 2
  ASSERT_TRUE(s->update("/cm/ns/a", obj("a", 1), 0).ok());  // rev 3
  auto w = s->watch("/cm/ns/", 1);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(s->remove("/cm/ns/b", 0).ok());  // rev 4, after the watch started
  ASSERT_TRUE(s->create("/other/x", obj("x")).ok());
  std::vector<WatchEvent> got;
  while (got.size() < 3 && (*w)->next(got, std::chrono::milliseconds(1000))) {
  }
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].type, EventType::kAdded);
  EXPECT_EQ(got[0].rev, 2);
  EXPECT_EQ(got[1].type, EventType::kModified);
  EXPECT_EQ(got[2].type, EventType::kDeleted);
  EXPECT_EQ((*got[2].object.json)["metadata"]["resourceVersion"], "4");
  auto initial = s->watch("/cm/", 0);
  ASSERT_TRUE(initial.ok());
  std::vector<WatchEvent> adds;
  (*initial)->next(adds, std::chrono::milliseconds(10));
  ASSERT_EQ(adds.size(), 1u);
  EXPECT_EQ(adds[0].key, "/cm/ns/a");
}

TEST_F(StoreTest, CompactionMakesOldRevisionsGone) {
  Store::Options o;
  o.event_window = 4;
  auto s = open(o);
  ASSERT_TRUE(s->create("/x", obj("x")).ok());
  for (int i = 0; i < 9; i++) ASSERT_TRUE(s->update("/x", obj("x", i), 0).ok());
  EXPECT_EQ(s->revision(), 10);
  auto old = s->watch("/", 2);  // window holds revisions 7..10
  ASSERT_FALSE(old.ok());
  EXPECT_EQ(old.error().code(), kGone);
  EXPECT_TRUE(s->watch("/", 6).ok());
  ASSERT_TRUE(s->compact(8).ok());
  EXPECT_EQ(s->watch("/", 7).error().code(), kGone);
  EXPECT_TRUE(s->watch("/", 8).ok());
}

TEST_F(StoreTest, RestartKeepsStateRevisionAndWatchHistory) {
  {
    auto s = open();
    ASSERT_TRUE(s->create("/a", obj("a")).ok());
    ASSERT_TRUE(s->create("/b", obj("b")).ok());
    ASSERT_TRUE(s->remove("/a", 0).ok());
    ASSERT_TRUE(s->compact(1).ok());
  }
  auto s = open();
  EXPECT_EQ(s->revision(), 3);
  EXPECT_FALSE(s->get("/a"));
  ASSERT_TRUE(s->get("/b"));
  EXPECT_EQ(s->get("/b").create_rev, 2);
  auto w = s->watch("/", 1);  // resumes from a revision written before the restart
  ASSERT_TRUE(w.ok()) << w.error().what();
  std::vector<WatchEvent> got;
  (*w)->next(got, std::chrono::milliseconds(10));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].type, EventType::kAdded);
  EXPECT_EQ(got[1].type, EventType::kDeleted);
  EXPECT_EQ(got[1].key, "/a");
  auto next = s->create("/c", obj("c"));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->mod_rev, 4);
}

TEST_F(StoreTest, ConcurrentWritersAreGroupCommittedWithoutLostUpdates) {
  auto s = open();
  ASSERT_TRUE(s->create("/counter", obj("c", 0)).ok());
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; t++)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; i++) {
        auto r =
            s->mutate("/counter", [](const Object* cur, int64_t) -> Result<std::optional<Json>> {
              Json j = *cur->json;
              j["v"] = j["v"].get<int>() + 1;
              return std::optional<Json>(j);
            });
        if (!r.ok()) failures++;
        if (!s->create(cat("/own/", t, "/", i), obj("o")).ok()) failures++;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ((*s->get("/counter").json)["v"], 400);
  EXPECT_EQ(s->revision(), 801);
  s.reset();
  auto again = open();
  EXPECT_EQ((*again->get("/counter").json)["v"], 400);
  EXPECT_EQ(again->count("/own/"), 400u);
}

}  // namespace
}  // namespace skiff::master
