#include "oci/image/import.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <functional>
#include <map>
#include <memory>
#include <set>

#include "common/fs.hpp"
#include "common/log.hpp"
#include "oci/image/libs.hpp"
#include "oci/image/media_types.hpp"
#include "oci/image/reference.hpp"

namespace skiff::image {
namespace {

constexpr const char* kRefNameAnnotation = "org.opencontainers.image.ref.name";
constexpr const char* kContainerdNameAnnotation = "io.containerd.image.name";

// --- where blobs come from ----------------------------------------------------------------------

// Makes a blob available to the commit (staged, or already in the store) and reads JSON ones.
class Source {
 public:
  Source(Store& store, Staging& staging) : store_(store), staging_(staging) {}
  virtual ~Source() = default;
  // Stages `d` (verified against its digest and size) unless the store already has it.
  virtual Result<void> fetch(const Descriptor& d) = 0;

  Result<Json> read_json(const Descriptor& d) {
    TRY(fetch(d));
    if (!staging_.has(d.digest)) return store_.read_json_blob(d);
    if (d.size > static_cast<int64_t>(kMaxJsonBlob))
      return error("blob ", d.digest.str(), " is ", d.size, " bytes: too large for a manifest");
    auto text = TRY(read_file(staging_.path(d.digest)));
    return parse_json(text, cat("blob ", d.digest.str()));
  }

 protected:
  Store& store_;
  Staging& staging_;
};

// An OCI layout directory: blobs are copied into the staging area, verified on the way.
class LayoutDirSource : public Source {
 public:
  LayoutDirSource(Store& store, Staging& staging, UniqueFd dir)
      : Source(store, staging), dir_(std::move(dir)) {}

  Result<void> fetch(const Descriptor& d) override {
    if (staging_.has(d.digest) || store_.has_blob(d.digest)) return ok();
    std::string rel = cat("blobs/", d.digest.algorithm, '/', d.digest.hex);
    // Inside the layout only; O_NONBLOCK so a FIFO planted there cannot hang us.
    auto fd = open_in_root(dir_.get(), rel, O_RDONLY | O_NONBLOCK | O_NOFOLLOW);
    if (!fd) {
      if (fd.error().code() == ENOENT) return error("blob ", d.digest.str(), " is missing");
      return std::move(fd).error();
    }
    struct stat st;
    if (::fstat(fd->get(), &st) < 0) return errno_error("stat ", quote(rel));
    if (!S_ISREG(st.st_mode)) return error(quote(rel), " is not a regular file");
    auto w = TRY(staging_.writer());
    auto copied = w.write_from_fd(fd->get(), d.size);
    if (!copied) return std::move(copied.error().wrap(cat("blob ", d.digest.str())));
    auto committed = w.commit(&d);
    if (!committed) return std::move(committed.error().wrap(cat("blob ", d.digest.str())));
    return ok();
  }

 private:
  UniqueFd dir_;
};

// A tar read once: every regular file was staged under its digest; paths map to them.
struct TarFile {
  Digest digest;
  int64_t size = 0;
};

struct TarContents {
  std::map<std::string, TarFile> files;
  std::map<std::string, std::string> symlinks;  // path -> target path (clean, archive-relative)

  // The file at `path`, through symlinks in the archive (a docker save's `<id>/layer.tar`).
  const TarFile* find(std::string path) const {
    for (int hops = 0; hops < 16; ++hops) {
      path = clean_path(path);
      if (auto it = files.find(path); it != files.end()) return &it->second;
      auto link = symlinks.find(path);
      if (link == symlinks.end()) return nullptr;
      path = link->second;
    }
    return nullptr;
  }
};

class TarSource : public Source {
 public:
  TarSource(Store& store, Staging& staging, const TarContents& tar)
      : Source(store, staging), tar_(tar) {}

  Result<void> fetch(const Descriptor& d) override {
    if (staging_.has(d.digest)) {
      const TarFile* f = tar_.find(cat("blobs/", d.digest.algorithm, '/', d.digest.hex));
      if (f && f->size != d.size)
        return error("blob ", d.digest.str(), " has ", f->size, " bytes, its descriptor says ",
                     d.size, f->size < d.size ? " (truncated?)" : "");
      return ok();
    }
    if (store_.has_blob(d.digest)) return ok();
    return error("blob ", d.digest.str(), " is missing");
  }

 private:
  const TarContents& tar_;
};

struct ArchiveDeleter {
  const LibArchive* la;
  void operator()(struct archive* a) const { la->archive_read_free(a); }
};

// Reads the whole tar (gzip or zstd compressed too), staging every regular file.
Result<TarContents> stage_tar(int fd, Staging& staging) {
  const LibArchive& la = *TRY(libarchive());
  std::unique_ptr<struct archive, ArchiveDeleter> a(la.archive_read_new(), ArchiveDeleter{&la});
  la.archive_read_support_filter_gzip(a.get());
  la.archive_read_support_filter_zstd(a.get());
  la.archive_read_support_format_tar(a.get());
  if (la.archive_read_open_fd(a.get(), fd, 1 << 20) != ARCHIVE_OK)
    return error("not a tar archive: ", archive_error(la, a.get()));
  TarContents out;
  std::vector<std::pair<std::string, std::string>> hardlinks;
  while (true) {
    struct archive_entry* e;
    int r = la.archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return error("read tar: ", archive_error(la, a.get()));
    const char* raw = la.archive_entry_pathname(e);
    if (!raw) raw = la.archive_entry_pathname_utf8(e);
    if (!raw) return error("a tar entry whose name cannot be read");
    std::string name = clean_path(raw);
    if (name.starts_with("/")) name = clean_path(name.substr(1));
    if (name == ".." || name.starts_with("../")) continue;  // names only; never a path here
    if (const char* target = la.archive_entry_hardlink(e)) {
      hardlinks.emplace_back(name, clean_path(target));
      continue;
    }
    mode_t type = la.archive_entry_filetype(e);
    if (type == AE_IFLNK) {
      const char* target = la.archive_entry_symlink(e);
      if (!target) continue;
      std::string t = target;
      size_t slash = name.rfind('/');
      std::string dir = slash == std::string::npos ? "" : name.substr(0, slash);
      out.symlinks[name] = clean_path(t.starts_with("/") ? t.substr(1) : path_join(dir, t));
      continue;
    }
    if (type != AE_IFREG) continue;
    auto w = TRY(staging.writer());
    const void* buf;
    size_t size;
    la_int64_t offset;
    while (true) {
      r = la.archive_read_data_block(a.get(), &buf, &size, &offset);
      if (r == ARCHIVE_EOF) break;
      if (r < ARCHIVE_WARN) return error(quote(name), ": ", archive_error(la, a.get()));
      if (offset > w.size()) {  // a sparse file's hole
        std::string zeros(static_cast<size_t>(offset - w.size()), '\0');
        TRY(w.write(zeros.data(), zeros.size()));
      }
      TRY(w.write(buf, size));
    }
    BlobInfo info = TRY_CTX(w.commit(), quote(name));
    // An OCI layout names each blob by its digest: a mismatch is a corrupt archive.
    if (name.starts_with("blobs/sha256/") && name.substr(13) != info.digest.hex)
      return error("blob ", quote(name), " is corrupt: its content has digest ", info.digest.str());
    out.files[name] = TarFile{info.digest, info.size};
  }
  for (const auto& [name, target] : hardlinks) {
    if (const TarFile* f = out.find(target)) out.files[name] = *f;
  }
  return out;
}

// --- names --------------------------------------------------------------------------------------

// A layout's ref.name is a tag ("latest") or a whole reference ("busybox:1.36").
bool is_full_ref(std::string_view s) { return s.find_first_of("/:@") != std::string_view::npos; }

struct UserName {
  std::optional<Reference> ref;
  bool has_tag = false;
};

Result<UserName> parse_user_name(const std::string& name) {
  UserName u;
  if (name.empty()) return u;
  u.ref = TRY(parse_reference(name));
  if (u.ref->digest)
    return error("name ", quote(name), ": give NAME or NAME:TAG (a digest is the content's)");
  u.has_tag = !u.ref->tag.empty();
  return u;
}

// The name for an image whose archive calls it `archive_name` (a tag, a reference, or "").
Result<std::string> name_for(const UserName& user, std::string_view archive_name, bool only_one) {
  if (user.ref) {
    if (user.has_tag) return user.ref->str();
    std::string tag;
    if (!archive_name.empty()) {
      if (is_full_ref(archive_name)) {
        auto r = TRY(parse_reference(archive_name));
        tag = r.tag_or_latest();
      } else {
        tag = std::string(archive_name);
      }
    } else if (only_one) {
      tag = "latest";
    } else {
      return error("an image without a tag among several: give NAME:TAG for one of them");
    }
    if (!is_valid_tag(tag)) return error("invalid tag ", quote(tag));
    return cat(user.ref->repository(), ':', tag);
  }
  if (archive_name.empty())
    return error("an image has no name in the archive: give one (skiff image import PATH NAME)");
  if (!is_full_ref(archive_name))
    return error("an image is only tagged ", quote(archive_name),
                 " in the archive: give a name (skiff image import PATH NAME)");
  auto r = TRY(parse_reference(archive_name));
  return r.str();
}

// --- OCI layout ---------------------------------------------------------------------------------

struct Collected {
  std::vector<Digest> blobs;
  Digest manifest, config;
};

Result<void> collect_manifest(Source& src, const Descriptor& d, const Platform& platform,
                              Collected& out) {
  Json j = TRY(src.read_json(d));
  auto m = parse_manifest(j);
  if (!m) return std::move(m.error().wrap(cat("manifest ", d.digest.str())));
  Json cj = TRY(src.read_json(m->config));
  auto config = parse_config(cj);
  if (!config) return std::move(config.error().wrap(cat("config ", m->config.digest.str())));
  if (config->diff_ids.size() != m->layers.size())
    return error("config ", m->config.digest.str(), " lists ", config->diff_ids.size(),
                 " diff_ids but manifest ", d.digest.str(), " has ", m->layers.size(), " layers");
  if (!config->os.empty() && !config->architecture.empty()) {
    Platform p{config->os, config->architecture, config->variant, "", {}};
    if (!platform_rank(platform, p))
      return error("image is for ", normalize_platform(p).str(), ", not ", platform.str(),
                   " (choose with --platform)");
  }
  for (const auto& l : m->layers) {
    TRY(src.fetch(l));
    out.blobs.push_back(l.digest);
  }
  out.blobs.push_back(m->config.digest);
  out.blobs.push_back(d.digest);
  out.manifest = d.digest;
  out.config = m->config.digest;
  return ok();
}

// Everything `target` needs for `platform`: an index, its chosen manifest, config and layers.
Result<Collected> collect(Source& src, const Descriptor& target, const Platform& platform) {
  Collected out;
  Json j = TRY(src.read_json(target));
  DocumentKind kind = TRY_CTX(document_kind(j, target.media_type), "blob ", target.digest.str());
  if (kind == DocumentKind::kManifest) {
    TRY(collect_manifest(src, target, platform, out));
    return out;
  }
  auto index = parse_index(j);
  if (!index) return std::move(index.error().wrap(cat("index ", target.digest.str())));
  Descriptor m = TRY_CTX(select_manifest(*index, platform), "index ", target.digest.str());
  if (!media::is_manifest(m.media_type))
    return error("index ", target.digest.str(), ": the entry for ", platform.str(),
                 " has media type ", quote(m.media_type), " (nested indexes are not supported)");
  TRY(collect_manifest(src, m, platform, out));
  out.blobs.push_back(target.digest);
  return out;
}

Result<std::vector<ImportedImage>> import_oci(Store& store, Staging& staging, Source& src,
                                              const Json& index_json, const ImportOptions& o) {
  auto index = parse_index(index_json);
  if (!index) return std::move(index.error().wrap("index.json"));
  if (index->manifests.empty()) return error("index.json lists no images");
  UserName user = TRY(parse_user_name(o.name));
  // Which entries, under which names.
  std::vector<std::pair<std::string, const Descriptor*>> chosen;
  auto archive_name = [](const Descriptor& d) -> std::string {
    auto it = d.annotations.find(kRefNameAnnotation);
    std::string n = it == d.annotations.end() ? "" : it->second;
    auto full = d.annotations.find(kContainerdNameAnnotation);
    if ((n.empty() || !is_full_ref(n)) && full != d.annotations.end()) n = full->second;
    return n;
  };
  bool only_one = index->manifests.size() == 1;
  if (user.has_tag && !only_one) {
    // NAME:TAG over several images: the one the layout tags TAG.
    for (const auto& d : index->manifests) {
      std::string n = archive_name(d);
      std::string tag = n;
      if (is_full_ref(n)) {
        auto r = parse_reference(n);
        tag = r ? r->tag_or_latest() : "";
      }
      if (tag == user.ref->tag) chosen.emplace_back(user.ref->str(), &d);
    }
    if (chosen.size() != 1) {
      std::vector<std::string> names;
      for (const auto& d : index->manifests) names.push_back(quote(archive_name(d)));
      return error(index->manifests.size(), " images (", join(names, ", "),
                   "): none or several are tagged ", quote(user.ref->tag));
    }
  } else {
    for (const auto& d : index->manifests)
      chosen.emplace_back(TRY(name_for(user, archive_name(d), only_one)), &d);
  }
  std::vector<Digest> blobs;
  std::vector<Ref> refs;
  std::vector<ImportedImage> out;
  for (const auto& [name, d] : chosen) {
    auto c = collect(src, *d, o.platform);
    if (!c) return std::move(c.error().wrap(cat("image ", quote(name))));
    blobs.insert(blobs.end(), c->blobs.begin(), c->blobs.end());
    Descriptor target = *d;
    target.annotations.clear();  // the layout's names are not the store's
    refs.push_back(Ref{name, target});
    out.push_back(ImportedImage{name, target, c->manifest, c->config});
  }
  TRY(store.commit(staging, blobs, refs));
  return out;
}

// --- docker-archive -----------------------------------------------------------------------------

// The compression of a staged file, from its magic bytes.
Result<media::Compression> sniff_compression(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return errno_error("open ", quote(path));
  unsigned char magic[4] = {};
  ssize_t n = ::pread(fd.get(), magic, sizeof magic, 0);
  if (n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b) return media::Compression::kGzip;
  if (n == 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd)
    return media::Compression::kZstd;
  return media::Compression::kNone;
}

Result<std::vector<ImportedImage>> import_docker(Store& store, Staging& staging,
                                                 const TarContents& tar, const ImportOptions& o) {
  const TarFile* mf = tar.find("manifest.json");
  auto text = TRY(read_file(staging.path(mf->digest)));
  Json manifest_json = TRY(parse_json(text, "manifest.json"));
  if (!manifest_json.is_array() || manifest_json.empty())
    return error("manifest.json: want a non-empty array of images");
  UserName user = TRY(parse_user_name(o.name));
  bool only_one = manifest_json.size() == 1;
  std::vector<Digest> blobs;
  std::vector<Ref> refs;
  std::vector<ImportedImage> out;
  for (size_t i = 0; i < manifest_json.size(); ++i) {
    std::string where = cat("manifest.json[", i, "]");
    const Json& entry = manifest_json[i];
    if (!entry.is_object() || !entry.contains("Config") || !entry["Config"].is_string() ||
        !entry.contains("Layers") || !entry["Layers"].is_array())
      return error(where, ": want {\"Config\": PATH, \"Layers\": [PATH...], \"RepoTags\": [...]}");
    std::string config_path = entry["Config"].get<std::string>();
    const TarFile* cf = tar.find(config_path);
    if (!cf) return error(where, ".Config: ", quote(config_path), " is not in the archive");
    Descriptor config_desc{std::string(media::kOciConfig), cf->digest, cf->size, {}, {}, {}};
    auto config_text = TRY(read_file(staging.path(cf->digest)));
    Json cj = TRY(parse_json(config_text, quote(config_path)));
    auto config = parse_config(cj);
    if (!config) return std::move(config.error().wrap(quote(config_path)));
    const Json& layers = entry["Layers"];
    if (config->diff_ids.size() != layers.size())
      return error(quote(config_path), " lists ", config->diff_ids.size(), " diff_ids but ", where,
                   " has ", layers.size(), " layers");
    if (!config->os.empty() && !config->architecture.empty()) {
      Platform p{config->os, config->architecture, config->variant, "", {}};
      if (!platform_rank(o.platform, p))
        return error(where, ": image is for ", normalize_platform(p).str(), ", not ",
                     o.platform.str(), " (choose with --platform)");
    }
    Manifest m;
    m.media_type = std::string(media::kOciManifest);
    m.config = config_desc;
    for (size_t l = 0; l < layers.size(); ++l) {
      std::string lwhere = cat(where, ".Layers[", l, "]");
      if (!layers[l].is_string()) return error(lwhere, ": expected string");
      std::string lpath = layers[l].get<std::string>();
      const TarFile* lf = tar.find(lpath);
      if (!lf) return error(lwhere, ": ", quote(lpath), " is not in the archive");
      auto compression = TRY(sniff_compression(staging.path(lf->digest)));
      // An uncompressed layer is its own diff_id: check it now rather than at unpack time.
      if (compression == media::Compression::kNone && lf->digest != config->diff_ids[l])
        return error("layer ", quote(lpath), " has digest ", lf->digest.str(),
                     " but the config's diff_ids[", l, "] is ", config->diff_ids[l].str());
      m.layers.push_back(Descriptor{
          std::string(media::oci_layer_type(compression)), lf->digest, lf->size, {}, {}, {}});
      blobs.push_back(lf->digest);
    }
    // The manifest the archive lacks: deterministic, so the same archive gives the same digest.
    std::string manifest_text = to_json(m).dump();
    auto w = TRY(staging.writer());
    TRY(w.write(manifest_text.data(), manifest_text.size()));
    BlobInfo mi = TRY(w.commit());
    Descriptor target{std::string(media::kOciManifest), mi.digest, mi.size, {}, {}, {}};
    blobs.push_back(cf->digest);
    blobs.push_back(mi.digest);

    std::vector<std::string> tags;
    if (entry.contains("RepoTags") && entry["RepoTags"].is_array())
      for (const auto& t : entry["RepoTags"])
        if (t.is_string()) tags.push_back(t.get<std::string>());
    std::vector<std::string> names;
    if (user.ref && user.has_tag && !only_one) {
      // NAME:TAG over several images: the one the archive calls that.
      for (const auto& t : tags)
        if (auto r = parse_reference(t); r && r->str() == user.ref->str())
          names.push_back(r->str());
    } else if (user.ref) {
      names.push_back(TRY(name_for(user, tags.empty() ? "" : tags.front(), only_one)));
    } else {
      if (tags.empty())
        return error(where, ": the image has no name in the archive: give one ",
                     "(skiff image import PATH NAME)");
      for (const auto& t : tags) names.push_back(TRY_CTX(name_for(user, t, only_one), where));
    }
    for (const auto& n : names) {
      refs.push_back(Ref{n, target});
      out.push_back(ImportedImage{n, target, mi.digest, cf->digest});
    }
  }
  if (refs.empty()) return error("no image in the archive is named ", quote(user.ref->str()));
  TRY(store.commit(staging, blobs, refs));
  return out;
}

Result<std::vector<ImportedImage>> import_path(Store& store, const std::string& path,
                                               const ImportOptions& o) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (!fd) return errno_error("open");
  struct stat st;
  if (::fstat(fd.get(), &st) < 0) return errno_error("stat");
  auto staging = TRY(store.staging());
  if (S_ISDIR(st.st_mode)) {
    auto layout = open_in_root(fd.get(), "oci-layout", O_RDONLY | O_NONBLOCK);
    if (!layout) return error("not an OCI image layout (no `oci-layout` file)");
    auto index_fd = open_in_root(fd.get(), "index.json", O_RDONLY | O_NONBLOCK);
    if (!index_fd) return std::move(index_fd.error().wrap("OCI image layout"));
    struct stat ist;
    if (::fstat(index_fd->get(), &ist) < 0 || !S_ISREG(ist.st_mode) ||
        ist.st_size > static_cast<off_t>(kMaxJsonBlob))
      return error("index.json: not a regular file of a sane size");
    auto text = TRY(read_fd(index_fd->get()));
    Json index = TRY(parse_json(text, "index.json"));
    LayoutDirSource src(store, staging, std::move(fd));
    return import_oci(store, staging, src, index, o);
  }
  if (!S_ISREG(st.st_mode)) return error("neither a directory nor a file");
  int flags = ::fcntl(fd.get(), F_GETFL);
  ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK);
  TarContents tar = TRY(stage_tar(fd.get(), staging));
  if (const TarFile* index = tar.find("index.json")) {
    auto text = TRY(read_file(staging.path(index->digest)));
    Json j = TRY(parse_json(text, "index.json"));
    TarSource src(store, staging, tar);
    return import_oci(store, staging, src, j, o);
  }
  if (tar.find("manifest.json")) return import_docker(store, staging, tar, o);
  return error("neither an OCI image layout nor a docker-archive (no index.json or manifest.json)");
}

}  // namespace

Result<std::vector<ImportedImage>> import_archive(Store& store, const std::string& path,
                                                  const ImportOptions& options) {
  auto r = import_path(store, path, options);
  if (!r) return std::move(r.error().wrap(cat("import ", quote(path))));
  for (const auto& img : *r)
    log::info("imported ", quote(img.name), " (", img.target.digest.str(), ")");
  return r;
}

}  // namespace skiff::image
