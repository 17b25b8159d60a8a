#include "oci/registry/pull.hpp"

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "common/fs.hpp"
#include "common/log.hpp"
#include "oci/image/media_types.hpp"
#include "oci/image/reference.hpp"
#include "oci/registry/progress.hpp"

namespace skiff::registry {
namespace {

using image::Descriptor;
using image::Digest;

// "bytes START-END/TOTAL" (a Content-Range) → START.
std::optional<int64_t> range_start(std::string_view v) {
  if (!v.starts_with("bytes ")) return std::nullopt;
  v.remove_prefix(6);
  size_t dash = v.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  return parse_int<int64_t>(v.substr(0, dash));
}

// A blob's body written into the staging area; verified against its descriptor on commit.
class StagedBlob : public BodySink {
 public:
  StagedBlob(image::Staging& staging, std::mutex& staging_mu, const Descriptor& d,
             Progress& progress)
      : staging_(staging), staging_mu_(staging_mu), d_(d), progress_(progress) {}

  Result<void> begin(const HttpResponse& head) override {
    if (head.status == 206) {
      // The rest of an interrupted download: "Content-Range: bytes START-END/TOTAL".
      std::string range = head.header("content-range");
      auto start = range_start(range);
      if (!writer_ || !start || *start != written_)
        return error("the registry answers a range request with ", quote(range), " (have ",
                     written_, " bytes)");
      if (head.content_length >= 0 && head.content_length != d_.size - written_)
        return error("the registry resumes with ", head.content_length, " bytes, ",
                     d_.size - written_, " are missing");
      ++resumed_;
      return ok();
    }
    if (head.content_length >= 0 && head.content_length != d_.size)
      return error("the registry sends ", head.content_length, " bytes, the descriptor says ",
                   d_.size);
    progress_.add_bytes(-written_);  // a retry starts over
    written_ = 0;
    writer_.reset();
    std::lock_guard lock(staging_mu_);  // Staging::writer numbers its temp files
    writer_.emplace(TRY(staging_.writer()));
    return ok();
  }

  Result<void> write(const char* data, size_t size) override {
    if (written_ + static_cast<int64_t>(size) > d_.size)
      return error("the registry sends more than the descriptor's ", d_.size, " bytes");
    TRY(writer_->write(data, size));
    written_ += static_cast<int64_t>(size);
    progress_.add_bytes(static_cast<int64_t>(size));
    return ok();
  }

  Result<void> commit() {
    if (!writer_) return error("no body received");
    TRY(writer_->commit(&d_));
    return ok();
  }

  int64_t written() const { return written_; }
  int64_t resume_offset() const override { return writer_ ? written_ : 0; }
  int resumed() const { return resumed_; }

 private:
  image::Staging& staging_;
  std::mutex& staging_mu_;
  const Descriptor& d_;
  Progress& progress_;
  std::optional<image::BlobWriter> writer_;
  int64_t written_ = 0;
  int resumed_ = 0;
};

std::string content_type(const HttpResponse& r) {
  std::string t = r.header("content-type");
  t = std::string(trim(t.substr(0, t.find(';'))));
  return t;
}

class Puller {
 public:
  Puller(image::Store& store, image::Staging& staging, RepositoryClient& client,
         const PullOptions& options, Progress& progress, PullResult& result)
      : store_(store),
        staging_(staging),
        client_(client),
        options_(options),
        progress_(progress),
        result_(result),
        http_(client.new_http()) {}

  // GETs a manifest or index by tag or digest and stages it. `expected`: the digest it must have.
  Result<std::pair<Descriptor, Json>> fetch_document(const std::string& reference,
                                                     const std::optional<Digest>& expected) {
    std::string what = cat("manifest ", quote(reference));
    auto r = TRY(client_.get_manifest(*http_, reference));
    Descriptor d;
    d.digest = TRY(image::sha256_of(r.body));
    d.size = static_cast<int64_t>(r.body.size());
    if (expected && d.digest != *expected)
      return error(what, ": content has digest ", d.digest.str(), ", expected ", expected->str());
    if (std::string header = r.header("docker-content-digest");
        !header.empty() && !expected && header != d.digest.str())
      return error(what, ": content has digest ", d.digest.str(), ", the registry says ", header);
    Json j = TRY(parse_json(r.body, what));
    d.media_type = content_type(r);
    bool known = image::media::is_index(d.media_type) || image::media::is_manifest(d.media_type);
    if (!known) {
      // Some registries say application/json: the document's own mediaType decides.
      std::string own = j.is_object() ? j.value("mediaType", "") : "";
      d.media_type = own;
    }
    auto kind = TRY_CTX(image::document_kind(j, d.media_type), what, " (", d.digest.str(), ')');
    if (d.media_type.empty())
      d.media_type = kind == image::DocumentKind::kIndex ? image::media::kOciIndex
                                                         : image::media::kOciManifest;
    if (!store_.has_blob(d.digest) && !staging_.has(d.digest)) {
      auto w = TRY(staging_.writer());
      TRY(w.write(r.body.data(), r.body.size()));
      TRY_CTX(w.commit(&d), what);
    }
    return std::make_pair(d, std::move(j));
  }

  // Stages one blob unless the store has it (any thread).
  Result<void> fetch_blob(HttpClient& http, const Descriptor& d) {
    if (store_.has_blob(d.digest)) {
      std::lock_guard lock(stats_mu_);
      ++result_.blobs_present;
      progress_.blob_done();
      return ok();
    }
    StagedBlob sink(staging_, staging_mu_, d, progress_);
    auto fetched = client_.get_blob(http, d.digest, sink);
    if (fetched) fetched = sink.commit();
    if (!fetched) return std::move(fetched.error().wrap(cat("blob ", d.digest.str())));
    {
      std::lock_guard lock(stats_mu_);
      result_.blob_bytes += sink.written();
      result_.resumed += sink.resumed();
      ++result_.blobs_fetched;
    }
    progress_.blob_done();
    return ok();
  }

  // The layers not yet in the store, `options_.jobs` at a time; the first error stops the rest.
  Result<void> fetch_layers(const std::vector<Descriptor>& layers) {
    std::vector<const Descriptor*> todo;
    std::set<Digest> seen;
    for (const auto& l : layers)
      if (seen.insert(l.digest).second) todo.push_back(&l);
    std::atomic<size_t> next{0};
    std::atomic<bool> failed{false};
    std::optional<Error> first_error;
    std::mutex mu;
    auto worker = [&](HttpClient& http) {
      while (!failed) {
        size_t i = next++;
        if (i >= todo.size()) return;
        auto r = fetch_blob(http, *todo[i]);
        if (!r) {
          std::lock_guard lock(mu);
          if (!first_error) first_error = std::move(r).error();
          failed = true;
        }
      }
    };
    size_t extra = std::min<size_t>(std::max(options_.jobs, 1) - 1, todo.size() - 1);
    std::vector<std::thread> threads;
    for (size_t t = 0; t < extra && !todo.empty(); ++t)
      threads.emplace_back([&] {
        auto http = client_.new_http();
        worker(*http);
      });
    worker(*http_);
    for (auto& t : threads) t.join();
    if (first_error) return std::move(*first_error);
    return ok();
  }

  Result<Json> read_json(const Descriptor& d) {
    if (store_.has_blob(d.digest)) return store_.read_json_blob(d);
    auto text = TRY(read_file(staging_.path(d.digest)));
    return parse_json(text, cat("blob ", d.digest.str()));
  }

  Result<void> pull(const image::Reference& ref) {
    std::string reference = ref.digest ? ref.digest->str() : ref.tag_or_latest();
    auto [target, j] = TRY(fetch_document(reference, ref.digest));
    result_.target = target;
    std::vector<Digest> blobs = {target.digest};
    Descriptor manifest_d = target;
    Json manifest_json = std::move(j);
    if (image::media::is_index(target.media_type) ||
        TRY(image::document_kind(manifest_json, target.media_type)) ==
            image::DocumentKind::kIndex) {
      auto index = image::parse_index(manifest_json);
      if (!index) return std::move(index.error().wrap(cat("index ", target.digest.str())));
      manifest_d =
          TRY_CTX(image::select_manifest(*index, options_.platform), "index ", target.digest.str());
      if (!image::media::is_manifest(manifest_d.media_type))
        return error("index ", target.digest.str(), ": the entry for ", options_.platform.str(),
                     " has media type ", quote(manifest_d.media_type));
      if (store_.has_blob(manifest_d.digest)) {
        manifest_json = TRY(store_.read_json_blob(manifest_d));
      } else {
        auto fetched = TRY(fetch_document(manifest_d.digest.str(), manifest_d.digest));
        manifest_json = std::move(fetched.second);
      }
      blobs.push_back(manifest_d.digest);
    }
    auto m = image::parse_manifest(manifest_json);
    if (!m) return std::move(m.error().wrap(cat("manifest ", manifest_d.digest.str())));
    result_.manifest = manifest_d.digest;
    result_.config = m->config.digest;
    int64_t total = m->config.size;
    for (const auto& l : m->layers) total += l.size;
    progress_.add_total(total, static_cast<int>(m->layers.size()) + 1);

    TRY(fetch_blob(*http_, m->config));
    Json cj = TRY(read_json(m->config));
    auto config = image::parse_config(cj);
    if (!config) return std::move(config.error().wrap(cat("config ", m->config.digest.str())));
    if (config->diff_ids.size() != m->layers.size())
      return error("config ", m->config.digest.str(), " lists ", config->diff_ids.size(),
                   " diff_ids but manifest ", manifest_d.digest.str(), " has ", m->layers.size(),
                   " layers");
    if (!config->os.empty() && !config->architecture.empty()) {
      image::Platform p{config->os, config->architecture, config->variant, "", {}};
      if (!image::platform_rank(options_.platform, p))
        return error("image is for ", image::normalize_platform(p).str(), ", not ",
                     options_.platform.str(), " (choose with --platform)");
    }
    TRY(fetch_layers(m->layers));
    for (const auto& l : m->layers) blobs.push_back(l.digest);
    blobs.push_back(m->config.digest);
    blobs.push_back(manifest_d.digest);
    if (up_to_date(blobs)) return ok();  // a repull: no commit, no fsync
    TRY(store_.commit(staging_, blobs, {image::Ref{result_.name, target}}));
    return ok();
  }

  // True when the store has every blob and the name already points at `result_.target`.
  bool up_to_date(const std::vector<Digest>& blobs) const {
    for (const auto& d : blobs)
      if (staging_.has(d) || !store_.has_blob(d)) return false;
    auto refs = store_.refs();
    if (!refs) return false;
    for (const auto& r : *refs)
      if (r.name == result_.name) return r.target.digest == result_.target.digest;
    return false;
  }

 private:
  image::Store& store_;
  image::Staging& staging_;
  std::mutex staging_mu_, stats_mu_;
  RepositoryClient& client_;
  const PullOptions& options_;
  Progress& progress_;
  PullResult& result_;
  std::unique_ptr<HttpClient> http_;
};

}  // namespace

Result<PullResult> pull_image(image::Store& store, std::string_view reference,
                              const PullOptions& options) {
  auto ref = TRY(image::parse_reference(reference));
  PullResult result;
  result.name = ref.str();
  auto run = [&]() -> Result<void> {
    auto client = TRY(RepositoryClient::create(ref, options.registry));
    auto staging = TRY(store.staging());
    Progress progress(options.progress, result.name);
    Puller puller(store, staging, client, options, progress, result);
    return puller.pull(ref);
  };
  auto pulled = run();
  if (!pulled) return std::move(pulled.error().wrap(cat("pull ", quote(result.name))));
  return result;
}

}  // namespace skiff::registry
