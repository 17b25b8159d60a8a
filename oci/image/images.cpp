#include "oci/image/images.hpp"

#include "common/strings.hpp"
#include "oci/image/media_types.hpp"
#include "oci/image/platform.hpp"
#include "oci/image/reference.hpp"

namespace skiff::image {
namespace {

Result<Index> read_index(const Store& store, const Descriptor& d) {
  Json j = TRY(store.read_json_blob(d));
  auto index = parse_index(j);
  if (!index) return std::move(index.error().wrap(cat("index ", d.digest.str())));
  return index;
}

Result<Manifest> read_manifest(const Store& store, const Descriptor& d) {
  Json j = TRY(store.read_json_blob(d));
  auto m = parse_manifest(j);
  if (!m) return std::move(m.error().wrap(cat("manifest ", d.digest.str())));
  return m;
}

Result<ImageConfig> read_config(const Store& store, const Descriptor& d) {
  Json j = TRY(store.read_json_blob(d));
  auto c = parse_config(j);
  if (!c) return std::move(c.error().wrap(cat("config ", d.digest.str())));
  return c;
}

Result<Image> load(const Store& store, const std::string& name, const Descriptor& target,
                   const Platform& platform) {
  Image img;
  img.name = name;
  img.target = target;
  Json doc = TRY(store.read_json_blob(target));
  DocumentKind kind = TRY_CTX(document_kind(doc, target.media_type), "blob ", target.digest.str());
  img.manifest_descriptor = target;
  if (kind == DocumentKind::kIndex) {
    auto index = parse_index(doc);
    if (!index) return std::move(index.error().wrap(cat("index ", target.digest.str())));
    img.manifest_descriptor =
        TRY_CTX(select_manifest(*index, platform), "index ", target.digest.str());
    if (!store.has_blob(img.manifest_descriptor.digest))
      return error("the store has no manifest for ", platform.str(), " (",
                   img.manifest_descriptor.digest.str(), " was not imported)");
    Json m = TRY(store.read_json_blob(img.manifest_descriptor));
    kind = TRY_CTX(document_kind(m, img.manifest_descriptor.media_type), "blob ",
                   img.manifest_descriptor.digest.str());
    if (kind != DocumentKind::kManifest)
      return error("index ", target.digest.str(), " points at another index for ", platform.str(),
                   ": nested indexes are not supported");
  }
  img.manifest = TRY(read_manifest(store, img.manifest_descriptor));
  img.config = TRY(read_config(store, img.manifest.config));
  if (img.config.diff_ids.size() != img.manifest.layers.size())
    return error("config ", img.id().str(), " lists ", img.config.diff_ids.size(),
                 " diff_ids but manifest ", img.manifest_descriptor.digest.str(), " has ",
                 img.manifest.layers.size(), " layers");
  if (!img.config.os.empty() && !img.config.architecture.empty()) {
    Platform p{img.config.os, img.config.architecture, img.config.variant, "", {}};
    if (!platform_rank(platform, p))
      return error("image is for ", normalize_platform(p).str(), ", not ", platform.str(),
                   " (choose another with --platform)");
  }
  img.chain_ids = TRY(chain_ids(img.config.diff_ids));
  return img;
}

bool looks_like_id(std::string_view text) {
  if (text.starts_with("sha256:")) text.remove_prefix(7);
  if (text.size() < 4 || text.size() > 64) return false;
  for (char c : text)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace

int64_t Image::size() const {
  int64_t total = manifest_descriptor.size + manifest.config.size;
  for (const auto& l : manifest.layers) total += l.size;
  return total;
}

Result<Image> load_image(const Store& store, const std::string& name, const Descriptor& target,
                         const Platform& platform) {
  auto img = load(store, name, target, platform);
  if (!img) return std::move(img.error().wrap(cat("image ", quote(name))));
  return img;
}

Result<Ref> find_ref(const Store& store, std::string_view text, const Platform& platform) {
  auto refs = TRY(store.refs());
  auto ref = parse_reference(text);
  if (ref) {
    std::string key = ref->str();
    for (const auto& r : refs)
      if (r.name == key) return r;
    if (ref->digest) {
      // name@digest: a stored target with that digest, or a manifest inside a stored index.
      for (const auto& r : refs) {
        auto parsed = parse_reference(r.name);
        if (!parsed || parsed->repository() != ref->repository()) continue;
        if (r.target.digest == *ref->digest) return Ref{key, r.target};
        if (!media::is_index(r.target.media_type)) continue;
        if (auto index = read_index(store, r.target)) {
          for (const auto& m : index->manifests)
            if (m.digest == *ref->digest && store.has_blob(m.digest)) return Ref{key, m};
        }
      }
    }
  }
  if (looks_like_id(text)) {
    std::string_view prefix = text.starts_with("sha256:") ? text.substr(7) : text;
    std::vector<const Ref*> found;
    std::set<std::string> ids;
    for (const auto& r : refs) {
      bool match = r.target.digest.hex.starts_with(prefix);
      if (!match) {
        auto img = load_image(store, r.name, r.target, platform);
        match = img && img->id().hex.starts_with(prefix);
      }
      if (match) found.push_back(&r), ids.insert(r.target.digest.hex);
    }
    if (ids.size() > 1)
      return error("image id prefix ", quote(text), " is ambiguous: ", found.size(), " images");
    if (!found.empty()) return *found.front();
  }
  if (!ref && !looks_like_id(text)) return std::move(ref).error();
  return error("image ", quote(text), " not found",
               ref ? cat(" (looked for ", quote(ref->str()), ")") : std::string(), " in ",
               quote(store.root()));
}

Result<Image> resolve_image(const Store& store, std::string_view text, const Platform& platform) {
  Ref r = TRY(find_ref(store, text, platform));
  return load_image(store, r.name, r.target, platform);
}

void collect_reachable(const Store& store, const Descriptor& target, std::set<Digest>& blobs,
                       std::set<Digest>& chains) {
  if (!store.has_blob(target.digest) || !blobs.insert(target.digest).second) return;
  auto doc = store.read_json_blob(target);
  if (!doc) return;
  auto kind = document_kind(*doc, target.media_type);
  if (!kind) return;
  if (*kind == DocumentKind::kIndex) {
    if (auto index = parse_index(*doc))
      for (const auto& m : index->manifests) collect_reachable(store, m, blobs, chains);
    return;
  }
  auto m = parse_manifest(*doc);
  if (!m) return;
  if (store.has_blob(m->config.digest)) blobs.insert(m->config.digest);
  for (const auto& l : m->layers)
    if (store.has_blob(l.digest)) blobs.insert(l.digest);
  if (auto config = read_config(store, m->config)) {
    if (auto ids = chain_ids(config->diff_ids)) chains.insert(ids->begin(), ids->end());
  }
}

}  // namespace skiff::image
