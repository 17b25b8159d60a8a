// The content store: blobs verified while written, commits that are all-or-nothing, names,
// locks under concurrency, and garbage collection.
#include "oci/image/store.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <thread>

#include "common/fs.hpp"
#include "oci/image/gc.hpp"
#include "oci/image/media_types.hpp"
#include "tests/unit/image/image_test_util.hpp"

namespace skiff::image {
namespace {

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = Store::open(tmp_ / "store");
    ASSERT_TRUE(s) << s.error().what();
    store_.emplace(std::move(*s));
  }
  Store& store() { return *store_; }

  // Stages `content` and returns its descriptor.
  Descriptor stage(Staging& staging, const std::string& content, std::string_view type) {
    auto w = staging.writer();
    EXPECT_TRUE(w);
    EXPECT_TRUE(w->write(content.data(), content.size()));
    auto info = w->commit();
    EXPECT_TRUE(info) << info.error().what();
    return Descriptor{std::string(type), info->digest, info->size, {}, {}, {}};
  }

  // A manifest + config + layer staged; returns the manifest's descriptor.
  Descriptor stage_image(Staging& staging, const std::string& layer_content,
                         std::vector<Digest>& blobs) {
    Descriptor layer = stage(staging, layer_content, media::kOciLayer);
    Json config = {{"rootfs", {{"type", "layers"}, {"diff_ids", {layer.digest.str()}}}}};
    Descriptor c = stage(staging, config.dump(), media::kOciConfig);
    Manifest m;
    m.media_type = std::string(media::kOciManifest);
    m.config = c;
    m.layers = {layer};
    Descriptor md = stage(staging, to_json(m).dump(), media::kOciManifest);
    blobs.insert(blobs.end(), {layer.digest, c.digest, md.digest});
    return md;
  }

  std::vector<std::string> blob_files() { return test::tree(tmp_ / "store/blobs/sha256"); }

  test::TempDir tmp_{"skiff-store"};
  std::optional<Store> store_;
};

TEST_F(StoreTest, WriterVerifiesDigestAndSize) {
  auto staging = store().staging();
  ASSERT_TRUE(staging) << staging.error().what();
  std::string dir = staging->dir();
  Descriptor want{"x", *parse_digest(test::digest_of("hello")), 5, {}, {}, {}};

  auto w = staging->writer();
  ASSERT_TRUE(w->write("hellO", 5));
  auto r = w->commit(&want);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "digest mismatch: content is " + test::digest_of("hellO") +
                                  ", expected " + test::digest_of("hello"));

  auto w2 = staging->writer();
  ASSERT_TRUE(w2->write("hel", 3));
  r = w2->commit(&want);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "size mismatch: read 3 bytes, the descriptor says 5 (truncated?)");

  auto w3 = staging->writer();
  ASSERT_TRUE(w3->write("hello", 5));
  ASSERT_TRUE(w3->commit(&want));
  EXPECT_TRUE(staging->has(want.digest));
  staging = Error("gone");  // destroys the staging area
  EXPECT_FALSE(path_exists(dir));
  EXPECT_TRUE(blob_files().empty());
}

TEST_F(StoreTest, CommitMakesBlobsAndNamesVisibleTogether) {
  auto staging = store().staging();
  std::vector<Digest> blobs;
  Descriptor m = stage_image(*staging, "layer", blobs);
  EXPECT_FALSE(store().has_blob(m.digest));
  ASSERT_TRUE(store().commit(*staging, blobs, {{"docker.io/library/a:1", m}}));
  EXPECT_TRUE(store().has_blob(m.digest));
  EXPECT_EQ(blob_files().size(), 3u);
  auto refs = store().refs();
  ASSERT_TRUE(refs);
  ASSERT_EQ(refs->size(), 1u);
  EXPECT_EQ((*refs)[0].name, "docker.io/library/a:1");
  EXPECT_EQ((*refs)[0].target.digest, m.digest);
  auto j = store().read_json_blob(m);
  ASSERT_TRUE(j) << j.error().what();
  EXPECT_EQ((*j)["mediaType"], media::kOciManifest);

  // A blob changed on disk is caught when read.
  skiff::test::write_file(store().blob_path(m.digest), std::string(m.size, ' '));
  auto bad = store().read_json_blob(m);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().what().find("blob " + m.digest.str() + " is corrupt"), std::string::npos);
  // And a truncated one by its size.
  skiff::test::write_file(store().blob_path(m.digest), "{}");
  EXPECT_NE(store().open_blob(m).error().what().find("has 2 bytes, its descriptor says"),
            std::string::npos);
}

TEST_F(StoreTest, CommitRefusesANameWithoutItsTarget) {
  auto staging = store().staging();
  std::vector<Digest> blobs;
  Descriptor m = stage_image(*staging, "layer", blobs);
  Descriptor missing = m;
  missing.digest = *parse_digest("sha256:" + std::string(64, 'e'));
  auto r = store().commit(*staging, blobs, {{"docker.io/library/a:1", missing}});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find("which is not in the store"), std::string::npos);
  EXPECT_TRUE(blob_files().empty());  // the blobs it had moved are taken back
  EXPECT_FALSE(path_exists(tmp_ / "store/refs.json"));
}

TEST_F(StoreTest, RemoveRefsIsAllOrNothing) {
  auto staging = store().staging();
  std::vector<Digest> blobs;
  Descriptor m = stage_image(*staging, "layer", blobs);
  ASSERT_TRUE(store().commit(*staging, blobs, {{"a:1", m}, {"a:2", m}}));
  auto r = store().remove_refs({"a:1", "nope"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "image `nope` not found");
  EXPECT_EQ(store().refs()->size(), 2u);
  ASSERT_TRUE(store().remove_refs({"a:1"}));
  EXPECT_EQ(store().refs()->size(), 1u);
  EXPECT_EQ(blob_files().size(), 3u);  // blobs stay until prune
}

TEST_F(StoreTest, PruneKeepsWhatNamesReachAndLiveStagingAreas) {
  std::vector<Digest> keep_blobs, drop_blobs;
  {
    auto staging = store().staging();
    Descriptor keep = stage_image(*staging, "keep", keep_blobs);
    Descriptor drop = stage_image(*staging, "drop", drop_blobs);
    std::vector<Digest> all = keep_blobs;
    all.insert(all.end(), drop_blobs.begin(), drop_blobs.end());
    ASSERT_TRUE(store().commit(*staging, all, {{"keep:1", keep}, {"drop:1", drop}}));
  }
  ASSERT_TRUE(store().remove_refs({"drop:1"}));
  // An abandoned staging area (its owner crashed: no lock held) and a live one.
  ASSERT_EQ(::mkdir((tmp_ / "store/ingest/deadbeefdeadbeef").c_str(), 0700), 0);
  skiff::test::write_file(tmp_ / "store/ingest/deadbeefdeadbeef/tmp-0", "half a blob");
  auto live = store().staging();
  ASSERT_TRUE(live);

  auto report = prune(store(), nullptr);
  ASSERT_TRUE(report) << report.error().what();
  EXPECT_EQ(report->blobs_removed, 3u);
  EXPECT_GT(report->blob_bytes_removed, 0);
  for (const auto& d : keep_blobs) EXPECT_TRUE(store().has_blob(d));
  for (const auto& d : drop_blobs) EXPECT_FALSE(store().has_blob(d));
  EXPECT_FALSE(path_exists(tmp_ / "store/ingest/deadbeefdeadbeef"));
  EXPECT_TRUE(path_exists(live->dir()));
}

TEST_F(StoreTest, ConcurrentCommitsLoseNoName) {
  constexpr int kThreads = 8;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      auto s = Store::open(tmp_ / "store");  // its own Store, as another process would
      auto staging = s->staging();
      std::vector<Digest> blobs;
      Descriptor m = stage_image(*staging, "layer " + std::to_string(i % 3), blobs);
      if (!s->commit(*staging, blobs, {{"img:" + std::to_string(i), m}})) ++failures;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(store().refs()->size(), size_t{kThreads});
  EXPECT_EQ(blob_files().size(), 9u);  // 3 distinct images, deduplicated
  EXPECT_TRUE(test::tree(tmp_ / "store/ingest").empty());
}

}  // namespace
}  // namespace skiff::image
