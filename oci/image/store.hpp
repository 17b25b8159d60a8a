#pragma once
// The content-addressable image store (containerd's content store, podman's storage):
//
//   ROOT/blobs/sha256/<hex>   every manifest, index, config and layer, named by its digest
//   ROOT/refs.json            names ("docker.io/library/busybox:latest") -> target descriptors
//   ROOT/ingest/<random>/     a staging area per import: blobs are verified while written there,
//                             fsynced, then renamed into blobs/ by one commit; a crash or an error
//                             leaves nothing in blobs/ or refs.json
//   ROOT/lock                 flock: shared by readers that need blobs to stay, exclusive for
//                             commits, removals and garbage collection
//
// Every root is configurable, so tests use temporary ones.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/json_util.hpp"
#include "common/unique_fd.hpp"
#include "oci/image/digest.hpp"
#include "oci/image/file_lock.hpp"
#include "oci/image/image_spec.hpp"

namespace skiff::image {

inline constexpr const char* kDefaultImageRoot = "/var/lib/skiff/images";
// Manifests, indexes and configs are read into memory; anything larger is refused.
inline constexpr size_t kMaxJsonBlob = 16 << 20;

struct BlobInfo {
  Digest digest;
  int64_t size = 0;
};

class Staging;

// Writes one blob into a staging area, hashing as it goes; commit() checks it against what the
// descriptor promised and names it by its digest. Destroyed uncommitted, it leaves nothing.
class BlobWriter {
 public:
  BlobWriter(BlobWriter&&) noexcept = default;
  BlobWriter& operator=(BlobWriter&&) noexcept = default;
  ~BlobWriter();
  Result<void> write(const void* data, size_t size);
  // Copies `fd` to its end (at most `limit` bytes + 1, so an endless file cannot fill the disk).
  Result<void> write_from_fd(int fd, int64_t limit = INT64_MAX);
  int64_t size() const { return size_; }
  // fsyncs, verifies against `expected` (digest and size) when given and renames the file to its
  // digest. The error names both digests or both sizes ("truncated?").
  Result<BlobInfo> commit(const Descriptor* expected = nullptr);

 private:
  friend class Staging;
  BlobWriter(std::string dir, std::string tmp, UniqueFd fd, Sha256 hash)
      : dir_(std::move(dir)), tmp_(std::move(tmp)), fd_(std::move(fd)), hash_(std::move(hash)) {}
  std::string dir_, tmp_;
  UniqueFd fd_;
  Sha256 hash_;
  int64_t size_ = 0;
  int64_t flushed_ = 0;  // bytes handed to writeback early (see write())
};

// A private staging directory under ROOT/ingest, locked while the object lives (so prune leaves
// it alone) and removed with everything in it on destruction.
class Staging {
 public:
  Staging(Staging&&) noexcept = default;
  Staging& operator=(Staging&&) noexcept = default;
  ~Staging();
  const std::string& dir() const { return dir_; }
  Result<BlobWriter> writer();
  bool has(const Digest& d) const;
  std::string path(const Digest& d) const { return cat(dir_, '/', d.hex); }

 private:
  friend class Store;
  Staging(std::string dir, FileLock lock) : dir_(std::move(dir)), lock_(std::move(lock)) {}
  std::string dir_;
  FileLock lock_;
  int counter_ = 0;
};

// A name and what it points at: an index (a multi-platform image) or a manifest.
struct Ref {
  std::string name;
  Descriptor target;
};

class Store {
 public:
  // Opens (creating) the store at `root`.
  static Result<Store> open(const std::string& root = kDefaultImageRoot);
  const std::string& root() const { return root_; }
  std::string blob_path(const Digest& d) const { return cat(root_, "/blobs/sha256/", d.hex); }
  bool has_blob(const Digest& d) const;

  // Opens a blob for reading and checks its size against the descriptor's.
  Result<UniqueFd> open_blob(const Descriptor& d) const;
  // Reads a JSON blob (manifest, index, config), checking its size and digest.
  Result<Json> read_json_blob(const Descriptor& d) const;

  // A new staging area for an import (see Staging).
  Result<Staging> staging() const;
  // Makes `blobs` (each in `staging` or already in the store) part of the store and points `refs`
  // at their targets, under the exclusive lock. Every target must be among the blobs or the store.
  Result<void> commit(Staging& staging, const std::vector<Digest>& blobs,
                      const std::vector<Ref>& refs);

  // All names, sorted.
  Result<std::vector<Ref>> refs() const;
  // Removes names (exclusive lock); blobs stay until garbage collection. Unknown names are errors
  // and nothing is removed then.
  Result<void> remove_refs(const std::vector<std::string>& names);

  Result<FileLock> lock(FileLock::Mode mode) const;

  // Garbage collection of blobs, for gc.cpp; the caller holds the exclusive lock. Deletes every
  // blob not in `keep`, stray temp files and abandoned staging areas; returns count and bytes.
  Result<std::pair<size_t, int64_t>> remove_blobs_except_locked(const std::vector<Digest>& keep);

 private:
  explicit Store(std::string root) : root_(std::move(root)) {}
  Result<std::map<std::string, Descriptor>> read_refs() const;
  Result<void> write_refs(const std::map<std::string, Descriptor>& refs) const;
  std::string root_;
};

}  // namespace skiff::image
