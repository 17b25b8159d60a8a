#include "master/store/store.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "master/store/sqlite_backend.hpp"
#include "tests/support/test_util.hpp"
#include "tests/unit/master/etcd_process.hpp"

namespace skiff::master {
namespace {

// Every test runs on both backends: SQLite (revisions from 1) and a real etcd (revisions are
// etcd's, so tests count from the revision the store opened at).
class StoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (etcd()) {
      auto& e = etcdtest::EtcdProcess::shared();
      if (!e.skip_reason().empty()) GTEST_SKIP() << e.skip_reason();
      prefix_ = e.unique_prefix();
    }
  }
  bool etcd() const { return GetParam() == "etcd"; }
  std::unique_ptr<Store> open(Store::Options o = {}) {
    std::unique_ptr<Backend> b;
    if (etcd()) {
      b = etcdtest::EtcdProcess::shared().backend(prefix_);
      EXPECT_TRUE(b);
    } else {
      auto sb = SqliteBackend::open(dir_ / "state.db");
      EXPECT_TRUE(sb.ok()) << sb.error().what();
      b = std::move(*sb);
    }
    auto s = Store::open(std::move(b), o);
    EXPECT_TRUE(s.ok()) << s.error().what();
    base_ = (*s)->revision();
    return std::move(*s);
  }
  static Json obj(const std::string& name, int v = 0) {
    return {{"metadata", {{"name", name}}}, {"v", v}};
  }
  std::string rv(int64_t rel) const { return std::to_string(base_ + rel); }
  test::TempDir dir_{"skiff-store"};
  std::string prefix_;
  int64_t base_ = 0;
};

TEST_P(StoreTest, CreateGetUpdateDeleteWithRevisions) {
  auto s = open();
  auto a = s->create("/pods/ns/a", obj("a"));
  ASSERT_TRUE(a.ok()) << a.error().what();
  const int64_t b = base_;
  EXPECT_EQ(a->mod_rev, b + 1);
  EXPECT_EQ((*a->json)["metadata"]["resourceVersion"], rv(1));
  auto dup = s->create("/pods/ns/a", obj("a"));
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code(), kExists);
  auto u = s->update("/pods/ns/a", obj("a", 2), b + 1);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->mod_rev, b + 2);
  EXPECT_EQ(u->create_rev, b + 1);
  EXPECT_EQ((*s->get("/pods/ns/a").json)["metadata"]["resourceVersion"], rv(2));
  auto stale = s->update("/pods/ns/a", obj("a", 3), b + 1);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().code(), kConflict);
  EXPECT_EQ((*s->get("/pods/ns/a").json)["v"], 2);  // the failed write stored nothing
  auto d = s->remove("/pods/ns/a", 0);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->mod_rev, b + 3);
  EXPECT_FALSE(s->get("/pods/ns/a"));
  EXPECT_EQ(s->remove("/pods/ns/a", 0).error().code(), kNotFound);
  EXPECT_EQ(s->revision(), b + 3);
}

TEST_P(StoreTest, ListByPrefixWithLimitAndContinue) {
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

TEST_P(StoreTest, WatchFromRevisionSeesOrderedEvents) {
  auto s = open();
  const int64_t b = base_;
  ASSERT_TRUE(s->create("/cm/ns/a", obj("a")).ok());        // rev b+1
  ASSERT_TRUE(s->create("/cm/ns/b", obj("b")).ok());        // rev b+2
  ASSERT_TRUE(s->update("/cm/ns/a", obj("a", 1), 0).ok());  // rev b+3
  auto w = s->watch("/cm/ns/", b + 1);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(s->remove("/cm/ns/b", 0).ok());  // rev 4, after the watch started
  ASSERT_TRUE(s->create("/other/x", obj("x")).ok());
  std::vector<WatchEvent> got;
  while (got.size() < 3 && (*w)->next(got, std::chrono::milliseconds(1000))) {
  }
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].type, EventType::kAdded);
  EXPECT_EQ(got[0].rev, b + 2);
  EXPECT_EQ(got[1].type, EventType::kModified);
  EXPECT_EQ(got[2].type, EventType::kDeleted);
  EXPECT_EQ(got[2].key, "/cm/ns/b");
  EXPECT_EQ((*got[2].object.json)["metadata"]["name"], "b");  // the last state
  EXPECT_EQ((*got[2].object.json)["metadata"]["resourceVersion"], rv(4));
  auto initial = s->watch("/cm/", 0);
  ASSERT_TRUE(initial.ok());
  std::vector<WatchEvent> adds;
  (*initial)->next(adds, std::chrono::milliseconds(10));
  ASSERT_EQ(adds.size(), 1u);
  EXPECT_EQ(adds[0].key, "/cm/ns/a");
}

TEST_P(StoreTest, CompactionMakesOldRevisionsGone) {
  Store::Options o;
  o.event_window = 4;
  auto s = open(o);
  const int64_t b = base_;
  ASSERT_TRUE(s->create("/x", obj("x")).ok());
  for (int i = 0; i < 9; i++) ASSERT_TRUE(s->update("/x", obj("x", i), 0).ok());
  EXPECT_EQ(s->revision(), b + 10);
  auto old = s->watch("/", b + 2);  // window holds revisions b+7..b+10
  ASSERT_FALSE(old.ok());
  EXPECT_EQ(old.error().code(), kGone);
  EXPECT_TRUE(s->watch("/", b + 6).ok());
  ASSERT_TRUE(s->compact(b + 8).ok());
  EXPECT_EQ(s->watch("/", b + 7).error().code(), kGone);
  EXPECT_TRUE(s->watch("/", b + 8).ok());
}

TEST_P(StoreTest, RestartKeepsStateRevisionAndWatchHistory) {
  int64_t b;
  {
    auto s = open();
    b = base_;
    ASSERT_TRUE(s->create("/a", obj("a")).ok());
    ASSERT_TRUE(s->create("/b", obj("b")).ok());
    ASSERT_TRUE(s->remove("/a", 0).ok());
    ASSERT_TRUE(s->compact(b + 1).ok());
  }
  auto s = open();
  // etcd: opening writes a sentinel (outside the data) that marks the end of the history replay.
  const int64_t opened = etcd() ? 1 : 0;
  EXPECT_EQ(s->revision(), b + 3 + opened);
  EXPECT_FALSE(s->get("/a"));
  ASSERT_TRUE(s->get("/b"));
  EXPECT_EQ(s->get("/b").create_rev, b + 2);
  EXPECT_EQ((*s->get("/b").json)["metadata"]["resourceVersion"], std::to_string(b + 2));
  auto w = s->watch("/", b + 1);  // resumes from a revision written before the restart
  ASSERT_TRUE(w.ok()) << w.error().what();
  std::vector<WatchEvent> got;
  (*w)->next(got, std::chrono::milliseconds(10));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].type, EventType::kAdded);
  EXPECT_EQ(got[1].type, EventType::kDeleted);
  EXPECT_EQ(got[1].key, "/a");
  auto next = s->create("/c", obj("c"));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->mod_rev, b + 4 + opened);
}

TEST_P(StoreTest, ConcurrentWritersAreGroupCommittedWithoutLostUpdates) {
  auto s = open();
  const int64_t b = base_;
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
  EXPECT_EQ(s->revision(), b + 801);
  s.reset();
  auto again = open();
  EXPECT_EQ((*again->get("/counter").json)["v"], 400);
  EXPECT_EQ(again->count("/own/"), 400u);
}

// Pods by spec.nodeName through the index: binding moves a pod between lists, deletion drops it.
TEST_P(StoreTest, PodsOnNodeIndexFollowsBindingsAndDeletions) {
  auto s = open();
  auto pod = [](const std::string& name, const std::string& node) {
    Json j = {{"metadata", {{"name", name}}}, {"spec", Json::object()}};
    if (!node.empty()) j["spec"]["nodeName"] = node;
    return j;
  };
  ASSERT_TRUE(s->create("/pods/a/p1", pod("p1", "n1")).ok());
  ASSERT_TRUE(s->create("/pods/a/p2", pod("p2", "n2")).ok());
  ASSERT_TRUE(s->create("/pods/b/p3", pod("p3", "n1")).ok());
  ASSERT_TRUE(s->create("/pods/b/p4", pod("p4", "")).ok());
  ASSERT_TRUE(s->create("/configmaps/a/c", pod("c", "n1")).ok());  // not a pod: not indexed
  auto names = [&](const std::string& prefix, const std::string& node) {
    std::vector<std::string> out;
    for (const auto& o : s->list_pods_on_node(prefix, node).items)
      out.push_back((*o.json)["metadata"]["name"]);
    return out;
  };
  EXPECT_EQ(names("/pods/", "n1"), (std::vector<std::string>{"p1", "p3"}));
  EXPECT_EQ(names("/pods/b/", "n1"), (std::vector<std::string>{"p3"}));
  EXPECT_EQ(names("/pods/", ""), (std::vector<std::string>{"p4"}));
  ASSERT_TRUE(s->update("/pods/b/p4", pod("p4", "n2"), 0).ok());  // bound
  EXPECT_EQ(names("/pods/", "n2"), (std::vector<std::string>{"p2", "p4"}));
  EXPECT_TRUE(names("/pods/", "").empty());
  ASSERT_TRUE(s->remove("/pods/a/p1", 0).ok());
  EXPECT_EQ(names("/pods/", "n1"), (std::vector<std::string>{"p3"}));
  auto page = s->list_pods_on_node("/pods/", "n2", "", 1);
  ASSERT_EQ(page.items.size(), 1u);
  EXPECT_EQ(page.next_key, "/pods/b/p4");
  s.reset();
  auto again = open();  // rebuilt from the backend
  s = std::move(again);
  EXPECT_EQ(names("/pods/", "n2"), (std::vector<std::string>{"p2", "p4"}));
  EXPECT_TRUE(names("/pods/", "n9").empty());
}

// The store keeps each version as its bytes only: what a write returns is parsed, what the store
// holds (get, list, watch events) is parsed on first use in the reader's copy, never in place.
TEST_P(StoreTest, KeepsBytesAndParsesOnDemandInTheReadersCopy) {
  auto s = open();
  Json p = {{"metadata", {{"name", "p"}}}, {"spec", {{"nodeName", "n1"}}}};
  auto w = s->watch("/pods/", base_);
  auto w2 = s->watch("/pods/", base_, false, true);
  ASSERT_TRUE(w.ok() && w2.ok());
  auto a = s->create("/pods/ns/p", p);
  ASSERT_TRUE(a.ok()) << a.error().what();
  EXPECT_TRUE(a->json.parsed());
  EXPECT_EQ(a->node, "n1");
  EXPECT_EQ(*a->bytes, a->json->dump());
  Object got = s->get("/pods/ns/p");
  ASSERT_TRUE(got);
  EXPECT_FALSE(got.json.parsed());
  EXPECT_EQ((*got.json)["spec"]["nodeName"], "n1");  // parsed now, in this copy
  EXPECT_TRUE(got.json.parsed());
  EXPECT_FALSE(s->get("/pods/ns/p").json.parsed());  // the store's own stays bytes
  auto listed = s->list("/pods/", "", 0, [](const Json& j) { return j.contains("spec"); });
  ASSERT_EQ(listed.items.size(), 1u);
  EXPECT_FALSE(listed.items[0].json.parsed());
  EXPECT_FALSE(s->get("/pods/ns/p").json.parsed());  // the filter parsed a copy
  EXPECT_EQ(s->list_pods_on_node("/pods/", "n1").items.size(), 1u);
  std::vector<WatchEvent> events;
  while (events.empty() && (*w)->next(events, std::chrono::milliseconds(1000))) {
  }
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ((*events[0].object.json)["metadata"]["resourceVersion"], rv(1));
  // Every watcher's copy of an event shares one parse; the store still keeps bytes only.
  std::vector<WatchEvent> events2;
  while (events2.empty() && (*w2)->next(events2, std::chrono::milliseconds(1000))) {
  }
  ASSERT_EQ(events2.size(), 1u);
  EXPECT_TRUE(events2[0].object.json.parsed());
  EXPECT_EQ(events2[0].object.json.get(), events[0].object.json.get());
  EXPECT_FALSE(s->get("/pods/ns/p").json.parsed());
  // Copies made from a parsed one share its tree; concurrent first parses agree.
  Object shared = s->get("/pods/ns/p");
  std::vector<std::thread> readers;
  std::atomic<int> good{0};
  for (int i = 0; i < 4; i++)
    readers.emplace_back([&] { good += (*shared.json)["metadata"]["name"] == "p"; });
  for (auto& t : readers) t.join();
  EXPECT_EQ(good, 4);
  Object copy = shared;
  EXPECT_EQ(copy.json.get(), shared.json.get());
}

// Only a watch that asks for it (a selector watch) gets the previous version of a modification;
// the others' queues do not keep superseded versions alive.
TEST_P(StoreTest, PreviousVersionOnlyForWatchesThatAskForIt) {
  auto s = open();
  ASSERT_TRUE(s->create("/cm/ns/a", obj("a", 1)).ok());
  auto plain = s->watch("/cm/", s->revision());
  auto with_prev = s->watch("/cm/", s->revision(), true);
  ASSERT_TRUE(plain.ok() && with_prev.ok());
  ASSERT_TRUE(s->update("/cm/ns/a", obj("a", 2), 0).ok());
  std::vector<WatchEvent> p, w;
  while (p.empty() && (*plain)->next(p, std::chrono::milliseconds(1000))) {
  }
  while (w.empty() && (*with_prev)->next(w, std::chrono::milliseconds(1000))) {
  }
  ASSERT_EQ(p.size(), 1u);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(p[0].type, EventType::kModified);
  EXPECT_FALSE(p[0].prev);
  ASSERT_TRUE(w[0].prev);
  EXPECT_EQ((*w[0].prev.json)["v"], 1);
  EXPECT_EQ((*w[0].object.json)["v"], 2);
  // From the history too.
  auto replay = s->watch("/cm/", s->revision() - 1, true);
  ASSERT_TRUE(replay.ok());
  std::vector<WatchEvent> r;
  (*replay)->next(r, std::chrono::milliseconds(100));
  ASSERT_EQ(r.size(), 1u);
  ASSERT_TRUE(r[0].prev);
  EXPECT_EQ((*r[0].prev.json)["v"], 1);
}

// A selector's scan parses each object without its arrays (the cost of a non-indexed list); what
// it returns is the whole object.
TEST_P(StoreTest, SelectorScanSeesObjectsWithoutArrays) {
  auto s = open();
  Json p = {{"metadata", {{"name", "p"}, {"labels", {{"app", "a1"}}}}},
            {"spec",
             {{"restartPolicy", "Never"},
              {"containers", {{{"name", "c"}, {"image", "pause"}}}},
              {"x", {{"y", {1, 2}}, {"z", "k"}}}}},
            {"status", {{"phase", "Running"}, {"conditions", {{{"type", "Ready"}}}}}}};
  ASSERT_TRUE(s->create("/pods/ns/p", p).ok());
  Json q = p;
  q["metadata"]["name"] = "q";
  q["spec"]["restartPolicy"] = "Always";
  ASSERT_TRUE(s->create("/pods/ns/q", q).ok());
  int seen = 0;
  auto filter = [&](const Json& j) {
    seen++;
    EXPECT_FALSE(j["spec"].contains("containers"));
    EXPECT_FALSE(j["status"].contains("conditions"));
    EXPECT_FALSE(j["spec"]["x"].contains("y"));  // a dropped array below depth 2 leaves nothing
    EXPECT_EQ(j["spec"]["x"]["z"], "k");
    EXPECT_EQ(j["metadata"]["labels"]["app"], "a1");
    EXPECT_EQ(j["status"]["phase"], "Running");
    return j["spec"]["restartPolicy"] == "Never";
  };
  auto got = s->list("/pods/", "", 0, filter, true);
  EXPECT_EQ(seen, 2);
  ASSERT_EQ(got.items.size(), 1u);
  EXPECT_EQ((*got.items[0].json)["spec"]["containers"].size(), 1u);  // returned whole
  EXPECT_EQ((*got.items[0].json)["metadata"]["name"], "p");
  auto none = s->list_pods_on_node("/pods/", "", "", 0, filter, true);
  ASSERT_EQ(none.items.size(), 1u);
  // Without the flag the filter sees everything.
  auto all =
      s->list("/pods/", "", 0, [](const Json& j) { return j["spec"].contains("containers"); });
  EXPECT_EQ(all.items.size(), 2u);
}

// An API watch that leaves more than client_watcher_queue_limit events unread (beyond the
// snapshot a from-0 watch starts with) is closed, as kube's cacher closes a slow watcher (the
// client re-lists); the master's own watches have the larger watcher_queue_limit.
TEST_P(StoreTest, SlowClientWatchIsClosedBeyondItsQueueLimit) {
  Store::Options o;
  o.client_watcher_queue_limit = 5;
  o.watcher_queue_limit = 100;
  auto s = open(o);
  for (int i = 0; i < 3; i++) ASSERT_TRUE(s->create("/cm/ns/s" + std::to_string(i), obj("s")).ok());
  auto client = s->watch("/cm/", 0, false, true);
  auto own = s->watch("/cm/", 0);
  ASSERT_TRUE(client.ok() && own.ok());
  for (int i = 0; i < 5; i++) ASSERT_TRUE(s->create("/cm/ns/c" + std::to_string(i), obj("c")).ok());
  EXPECT_FALSE((*client)->closed());  // 3 snapshot + 5 events queued
  ASSERT_TRUE(s->create("/cm/ns/c5", obj("c")).ok());
  EXPECT_TRUE((*client)->closed());
  std::vector<WatchEvent> got;
  EXPECT_FALSE((*client)->next(got, std::chrono::milliseconds(10)));  // dropped: re-list
  EXPECT_TRUE(got.empty());
  EXPECT_FALSE((*own)->closed());
  EXPECT_TRUE((*own)->next(got, std::chrono::milliseconds(10)));
  EXPECT_EQ(got.size(), 9u);
  // Once read, the limit counts from zero: a re-listed client keeps up again.
  auto again = s->watch("/cm/", 0, false, true);
  ASSERT_TRUE(again.ok());
  got.clear();
  EXPECT_TRUE((*again)->next(got, std::chrono::milliseconds(10)));
  EXPECT_EQ(got.size(), 9u);
  for (int i = 0; i < 5; i++) ASSERT_TRUE(s->create("/cm/ns/d" + std::to_string(i), obj("d")).ok());
  EXPECT_FALSE((*again)->closed());
  ASSERT_TRUE(s->create("/cm/ns/d5", obj("d")).ok());
  EXPECT_TRUE((*again)->closed());
}

// The watch history is bounded by bytes as well as by count: big objects push old revisions out.
TEST_P(StoreTest, EventWindowIsBoundedByBytes) {
  Store::Options o;
  o.event_window_bytes = 8 * 1024;
  auto s = open(o);
  const int64_t b = base_;
  std::string big(2000, 'x');
  for (int i = 0; i < 10; i++)
    ASSERT_TRUE(
        s->create("/cm/ns/c" + std::to_string(i), {{"metadata", {{"name", "c"}}}, {"d", big}})
            .ok());
  EXPECT_EQ(s->revision(), b + 10);
  EXPECT_GE(s->oldest_watchable(), b + 6);  // at most 4 objects of ~2 KB in 8 KB
  auto old = s->watch("/cm/", b + 1);
  ASSERT_FALSE(old.ok());
  EXPECT_EQ(old.error().code(), kGone);
  auto recent = s->watch("/cm/", b + 8);
  ASSERT_TRUE(recent.ok());
  std::vector<WatchEvent> got;
  (*recent)->next(got, std::chrono::milliseconds(100));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].rev, b + 9);
}

// Two stores on one etcd prefix are two masters: each sees the other's writes (state and
// watches, in revision order) and optimistic concurrency spans both.
TEST_P(StoreTest, TwoStoresOnOneEtcdShareStateWatchesAndConflicts) {
  if (!etcd()) GTEST_SKIP() << "a shared store needs the etcd backend";
  auto a = open();
  auto b = open();
  auto wb = b->watch("/pods/", b->revision());
  ASSERT_TRUE(wb.ok());
  auto created = a->create("/pods/ns/web", obj("web", 1));
  ASSERT_TRUE(created.ok()) << created.error().what();
  ASSERT_TRUE(b->sync().ok());
  auto seen = b->get("/pods/ns/web");
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen.mod_rev, created->mod_rev);
  EXPECT_EQ((*seen.json)["metadata"]["resourceVersion"], std::to_string(created->mod_rev));
  EXPECT_EQ(b->list("/pods/ns/").items.size(), 1u);

  auto updated = a->update("/pods/ns/web", obj("web", 2), created->mod_rev);
  ASSERT_TRUE(updated.ok());
  // B holds A's first version: its update with that resourceVersion is a conflict.
  auto stale = b->update("/pods/ns/web", obj("web", 3), created->mod_rev);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().code(), kConflict);
  // B writes on top of A's newest version (even before its feed has delivered it).
  auto onb = b->update("/pods/ns/web", obj("web", 4), updated->mod_rev);
  ASSERT_TRUE(onb.ok()) << onb.error().what();
  // Unconditional read-modify-write from both sides: no lost update.
  std::thread ta([&] {
    for (int i = 0; i < 20; i++)
      ASSERT_TRUE(a->mutate("/pods/ns/web", [](const Object* cur, int64_t) {
                     Json j = *cur->json;
                     j["v"] = j["v"].get<int>() + 1;
                     return Result<std::optional<Json>>(std::optional<Json>(j));
                   }).ok());
  });
  for (int i = 0; i < 20; i++)
    ASSERT_TRUE(b->mutate("/pods/ns/web", [](const Object* cur, int64_t) {
                   Json j = *cur->json;
                   j["v"] = j["v"].get<int>() + 1;
                   return Result<std::optional<Json>>(std::optional<Json>(j));
                 }).ok());
  ta.join();
  ASSERT_TRUE(a->remove("/pods/ns/web", 0).ok());
  ASSERT_TRUE(b->sync().ok());
  EXPECT_FALSE(b->get("/pods/ns/web"));

  std::vector<WatchEvent> got;
  while (got.size() < 44 && (*wb)->next(got, std::chrono::milliseconds(2000))) {
  }
  ASSERT_EQ(got.size(), 44u);  // create, A's update, B's update, 40 increments, delete
  EXPECT_EQ(got.front().type, EventType::kAdded);
  EXPECT_EQ(got.back().type, EventType::kDeleted);
  EXPECT_EQ((*got[got.size() - 2].object.json)["v"], 44);
  for (size_t i = 1; i < got.size(); i++) EXPECT_LT(got[i - 1].rev, got[i].rev);
}

// The change feed of a revision etcd has compacted is 410 Gone (the store then re-lists).
TEST_P(StoreTest, EtcdFeedFromACompactedRevisionIsGone) {
  if (!etcd()) GTEST_SKIP() << "etcd only";
  auto s = open();
  ASSERT_TRUE(s->create("/k/a", obj("a")).ok());
  ASSERT_TRUE(s->update("/k/a", obj("a", 1), 0).ok());
  ASSERT_TRUE(s->compact(s->revision()).ok());
  auto b = etcdtest::EtcdProcess::shared().backend(prefix_);
  ASSERT_TRUE(b);
  auto r = b->feed(base_, [](std::vector<LogRecord>&&) {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), kGone) << r.error().what();
}

}  // namespace

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest, ::testing::Values("sqlite", "etcd"),
                         [](const auto& info) { return info.param; });

}  // namespace skiff::master
