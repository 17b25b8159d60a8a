#include "oci/image/store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "common/fs.hpp"
#include "common/log.hpp"

namespace skiff::image {
namespace {

constexpr size_t kCopyBuffer = 1 << 20;
// Writeback is started every this many bytes, so commit's fsync has little left to wait for.
constexpr int64_t kWritebackChunk = 8 << 20;

Result<void> fsync_dir(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd || ::fsync(fd.get()) < 0) return errno_error("fsync ", quote(dir));
  return ok();
}

Result<std::vector<std::string>> list_dir(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) {
    if (errno == ENOENT) return out;
    return errno_error("open ", quote(dir));
  }
  while (struct dirent* e = ::readdir(d)) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    out.emplace_back(e->d_name);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

// --- BlobWriter ---------------------------------------------------------------------------------

BlobWriter::~BlobWriter() {
  if (!tmp_.empty()) ::unlink(tmp_.c_str());
}

Result<void> BlobWriter::write(const void* data, size_t size) {
  TRY(write_all(fd_.get(), std::string_view(static_cast<const char*>(data), size)));
  hash_.update(data, size);
  size_ += static_cast<int64_t>(size);
  if (size_ - flushed_ >= kWritebackChunk) {
    // Start writing the pages out now (sync_file_range(2) SYNC_FILE_RANGE_WRITE does not wait;
    // git's batch fsync does the same): the disk works while we download or copy the rest.
    ::sync_file_range(fd_.get(), flushed_, size_ - flushed_, SYNC_FILE_RANGE_WRITE);
    flushed_ = size_;
  }
  return ok();
}

Result<void> BlobWriter::write_from_fd(int fd, int64_t limit) {
  std::string buf(kCopyBuffer, '\0');
  while (true) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("read");
    }
    if (n == 0) return ok();
    TRY(write(buf.data(), static_cast<size_t>(n)));
    if (size_ > limit) return error("more than the expected ", limit, " bytes");
  }
}

Result<BlobInfo> BlobWriter::commit(const Descriptor* expected) {
  BlobInfo info{hash_.finish(), size_};
  if (expected) {
    if (info.size != expected->size)
      return error("size mismatch: read ", info.size, " bytes, the descriptor says ",
                   expected->size, info.size < expected->size ? " (truncated?)" : "");
    if (info.digest != expected->digest)
      return error("digest mismatch: content is ", info.digest.str(), ", expected ",
                   expected->digest.str());
  }
  if (::fsync(fd_.get()) < 0) return errno_error("fsync ", quote(tmp_));
  fd_.reset();
  std::string final_path = cat(dir_, '/', info.digest.hex);
  if (::rename(tmp_.c_str(), final_path.c_str()) < 0) return errno_error("rename ", quote(tmp_));
  tmp_.clear();
  return info;
}

// --- Staging ------------------------------------------------------------------------------------

Staging::~Staging() {
  if (dir_.empty()) return;
  if (auto r = remove_tree(dir_); !r) log::warn("staging area: ", r.error().what());
}

Result<BlobWriter> Staging::writer() {
  std::string tmp = cat(dir_, "/tmp-", counter_++);
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd) return errno_error("create ", quote(tmp));
  auto hash = Sha256::create();
  if (!hash) {
    ::unlink(tmp.c_str());
    return std::move(hash).error();
  }
  return BlobWriter(dir_, std::move(tmp), std::move(fd), std::move(*hash));
}

bool Staging::has(const Digest& d) const { return path_exists(path(d)); }

// --- Store --------------------------------------------------------------------------------------

Result<Store> Store::open(const std::string& root) {
  if (root.empty()) return error("image store root is empty");
  for (const char* sub : {"", "/blobs/sha256", "/ingest"})
    TRY_CTX(mkdir_p(root + sub, 0700), "image store");
  return Store(root);
}

bool Store::has_blob(const Digest& d) const {
  struct stat st;
  return ::stat(blob_path(d).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Result<FileLock> Store::lock(FileLock::Mode mode) const {
  return FileLock::acquire(root_ + "/lock", mode);
}

Result<UniqueFd> Store::open_blob(const Descriptor& d) const {
  std::string path = blob_path(d.digest);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) {
    if (errno == ENOENT) return error("blob ", d.digest.str(), " is not in the store");
    return errno_error("open blob ", quote(path));
  }
  struct stat st;
  if (::fstat(fd.get(), &st) < 0) return errno_error("stat blob ", quote(path));
  if (st.st_size != d.size)
    return error("blob ", d.digest.str(), " has ", st.st_size, " bytes, its descriptor says ",
                 d.size);
  return fd;
}

Result<Json> Store::read_json_blob(const Descriptor& d) const {
  if (d.size > static_cast<int64_t>(kMaxJsonBlob))
    return error("blob ", d.digest.str(), " (", d.media_type, ") is ", d.size,
                 " bytes: too large for a manifest or config");
  auto fd = TRY(open_blob(d));
  auto text = TRY_CTX(read_fd(fd.get()), "read blob ", d.digest.str());
  auto digest = TRY(sha256_of(text));
  if (digest != d.digest)
    return error("blob ", d.digest.str(), " is corrupt: its content has digest ", digest.str());
  return parse_json(text, cat("blob ", d.digest.str()));
}

Result<Staging> Store::staging() const {
  // Under the shared lock: prune (exclusive) sees either no directory or a locked one.
  auto store_lock = TRY(lock(FileLock::Mode::kShared));
  std::string dir = cat(root_, "/ingest/", random_hex());
  if (::mkdir(dir.c_str(), 0700) < 0) return errno_error("mkdir ", quote(dir));
  auto staging_lock = FileLock::acquire(dir + "/lock", FileLock::Mode::kExclusive);
  if (!staging_lock) {
    (void)remove_tree(dir);
    return std::move(staging_lock).error();
  }
  return Staging(std::move(dir), std::move(*staging_lock));
}

Result<std::map<std::string, Descriptor>> Store::read_refs() const {
  std::map<std::string, Descriptor> refs;
  std::string path = root_ + "/refs.json";
  if (!path_exists(path)) return refs;
  Json j = TRY(read_json_file(path));
  auto bad = [&](const std::string& why) { return error(quote(path), ": ", why); };
  if (!j.is_object() || !j.contains("refs") || !j["refs"].is_object())
    return bad("want {\"refs\": {NAME: DESCRIPTOR}}");
  for (const auto& [name, value] : j["refs"].items()) {
    auto d = parse_descriptor(value, cat("refs[", json_quote(name), "]"));
    if (!d) return bad(d.error().message());
    refs.emplace(name, std::move(*d));
  }
  return refs;
}

Result<void> Store::write_refs(const std::map<std::string, Descriptor>& refs) const {
  Json j = {{"version", 1}, {"refs", Json::object()}};
  for (const auto& [name, d] : refs) j["refs"][name] = to_json(d);
  return write_file_atomic(root_ + "/refs.json", j.dump(2) + "\n", 0600);
}

Result<std::vector<Ref>> Store::refs() const {
  auto map = TRY(read_refs());
  std::vector<Ref> out;
  for (auto& [name, d] : map) out.push_back(Ref{name, std::move(d)});
  return out;
}

Result<void> Store::commit(Staging& staging, const std::vector<Digest>& blobs,
                           const std::vector<Ref>& refs) {
  auto held = TRY(lock(FileLock::Mode::kExclusive));
  std::set<Digest> available;
  std::vector<std::string> added;  // renamed in by this commit: undone on failure
  auto undo = [&] {
    for (const auto& p : added) ::unlink(p.c_str());
  };
  for (const Digest& d : blobs) {
    if (available.count(d)) continue;
    std::string dst = blob_path(d);
    if (staging.has(d)) {
      if (has_blob(d)) {
        available.insert(d);
        continue;
      }
      if (::rename(staging.path(d).c_str(), dst.c_str()) < 0) {
        Error e = errno_error("move blob ", d.str(), " into the store");
        undo();
        return e;
      }
      added.push_back(dst);
    } else if (!has_blob(d)) {
      // Present when the import began, collected since (a concurrent prune): try again.
      undo();
      return error("blob ", d.str(), " is missing (removed by a concurrent prune?); try again");
    }
    available.insert(d);
  }
  for (const auto& r : refs) {
    if (!available.count(r.target.digest) && !has_blob(r.target.digest)) {
      undo();
      return error("reference ", quote(r.name), " points at ", r.target.digest.str(),
                   ", which is not in the store");
    }
  }
  auto current = read_refs();
  if (current) {
    for (const auto& r : refs) (*current)[r.name] = r.target;
    if (auto fsynced = fsync_dir(root_ + "/blobs/sha256"); !fsynced) current = fsynced.error();
  }
  Result<void> written = current ? write_refs(*current) : Result<void>(current.error());
  if (!written) {
    undo();
    return std::move(written.error().wrap("update image references"));
  }
  return ok();
}

Result<void> Store::remove_refs(const std::vector<std::string>& names) {
  auto held = TRY(lock(FileLock::Mode::kExclusive));
  auto current = TRY(read_refs());
  for (const auto& n : names)
    if (!current.count(n)) return error("image ", quote(n), " not found");
  for (const auto& n : names) current.erase(n);
  return write_refs(current);
}

Result<std::pair<size_t, int64_t>> Store::remove_blobs_except_locked(
    const std::vector<Digest>& keep) {
  std::set<std::string> keep_hex;
  for (const auto& d : keep) keep_hex.insert(d.hex);
  size_t count = 0;
  int64_t bytes = 0;
  std::string dir = root_ + "/blobs/sha256";
  for (const auto& name : TRY(list_dir(dir))) {
    if (keep_hex.count(name)) continue;
    std::string path = cat(dir, '/', name);
    struct stat st;
    if (::lstat(path.c_str(), &st) < 0) continue;
    if (S_ISDIR(st.st_mode)) {
      TRY(remove_tree(path));
    } else if (::unlink(path.c_str()) < 0 && errno != ENOENT) {
      return errno_error("remove blob ", quote(path));
    }
    if (is_sha256_hex(name)) ++count, bytes += st.st_size;
  }
  // Staging areas whose owner is gone (crashed): their lock is free.
  std::string ingest = root_ + "/ingest";
  for (const auto& name : TRY(list_dir(ingest))) {
    std::string path = cat(ingest, '/', name);
    auto l = FileLock::acquire(path + "/lock", FileLock::Mode::kExclusive, true);
    if (!l) {
      if (l.error().code() == EWOULDBLOCK) continue;  // an import in progress
      // Not a staging directory we made (or no lock file could be created): leave it.
      log::debug("prune: skipping ", quote(path), ": ", l.error().what());
      continue;
    }
    TRY(remove_tree(path));
  }
  return std::make_pair(count, bytes);
}

}  // namespace skiff::image
