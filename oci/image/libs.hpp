#pragma once
// libarchive and libcrypto, loaded with dlopen on first use. The `skiff` binary starts twice per
// container, and linking these libraries would cost every start, image verbs or not: libarchive
// pulls in libxml2 and ICU (measured here: 0.57 ms → 2.50 ms per exec of an empty program;
// libcrypto alone 1.08 ms). Only skiff_image's .cpp files include this header.

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

#include "common/error.hpp"

namespace skiff::image {

// The libarchive functions skiff uses; each becomes a member with the library's own name and type.
#define SKIFF_LIBARCHIVE_FUNCTIONS(X) \
  X(archive_read_new)                 \
  X(archive_read_free)                \
  X(archive_read_support_format_tar)  \
  X(archive_read_support_format_raw)  \
  X(archive_read_support_filter_gzip) \
  X(archive_read_support_filter_zstd) \
  X(archive_read_open_fd)             \
  X(archive_read_open)                \
  X(archive_read_next_header)         \
  X(archive_read_data_block)          \
  X(archive_read_data)                \
  X(archive_read_data_skip)           \
  X(archive_error_string)             \
  X(archive_errno)                    \
  X(archive_set_error)                \
  X(archive_entry_pathname)           \
  X(archive_entry_pathname_utf8)      \
  X(archive_entry_hardlink)           \
  X(archive_entry_hardlink_utf8)      \
  X(archive_entry_symlink)            \
  X(archive_entry_symlink_utf8)       \
  X(archive_entry_filetype)           \
  X(archive_entry_perm)               \
  X(archive_entry_uid)                \
  X(archive_entry_gid)                \
  X(archive_entry_size)               \
  X(archive_entry_mtime)              \
  X(archive_entry_mtime_nsec)         \
  X(archive_entry_mtime_is_set)       \
  X(archive_entry_atime)              \
  X(archive_entry_atime_nsec)         \
  X(archive_entry_atime_is_set)       \
  X(archive_entry_rdevmajor)          \
  X(archive_entry_rdevminor)          \
  X(archive_entry_xattr_reset)        \
  X(archive_entry_xattr_next)

#define SKIFF_LIBCRYPTO_FUNCTIONS(X) \
  X(EVP_MD_fetch)                    \
  X(EVP_MD_CTX_new)                  \
  X(EVP_MD_CTX_free)                 \
  X(EVP_DigestInit_ex)               \
  X(EVP_DigestUpdate)                \
  X(EVP_DigestFinal_ex)

#define SKIFF_DECLARE_FUNCTION(name) decltype(&::name) name = nullptr;

struct LibArchive {
  SKIFF_LIBARCHIVE_FUNCTIONS(SKIFF_DECLARE_FUNCTION)
};

struct LibCrypto {
  SKIFF_LIBCRYPTO_FUNCTIONS(SKIFF_DECLARE_FUNCTION)
  EVP_MD* sha256 = nullptr;  // fetched once
};

#undef SKIFF_DECLARE_FUNCTION

// The loaded library (once per process, thread-safe); an error names the missing library or
// symbol and the Debian package that provides it.
Result<const LibArchive*> libarchive();
Result<const LibCrypto*> libcrypto();

// libarchive's last error on `a` ("truncated gzip input"), or `fallback` when it has none.
std::string archive_error(const LibArchive& la, struct archive* a, std::string_view fallback = "");

}  // namespace skiff::image
