#include "oci/image/libs.hpp"

#include <dlfcn.h>

#include <initializer_list>
#include <mutex>

namespace skiff::image {
namespace {

void* open_library(std::initializer_list<const char*> names, std::string& tried) {
  for (const char* name : names) {
    if (void* handle = ::dlopen(name, RTLD_NOW | RTLD_LOCAL)) return handle;
    if (!tried.empty()) tried += ", ";
    tried += quote(name);
  }
  return nullptr;
}

template <typename T>
Result<void> resolve(void* handle, const char* library, const char* name, T& slot) {
  slot = reinterpret_cast<T>(::dlsym(handle, name));
  if (!slot) return error("symbol ", quote(name), " missing from ", quote(library));
  return ok();
}

}  // namespace

Result<const LibArchive*> libarchive() {
  static LibArchive lib;
  static std::optional<Error> failure;
  static std::once_flag once;
  std::call_once(once, [] {
    std::string tried;
    void* h = open_library({"libarchive.so.13", "libarchive.so"}, tried);
    if (!h) {
      failure = error("cannot load libarchive (tried ", tried,
                      "; apt-get install libarchive13): needed to read archives and layers");
      return;
    }
#define SKIFF_RESOLVE(name)                                     \
  if (auto r = resolve(h, "libarchive", #name, lib.name); !r) { \
    failure = std::move(r.error());                             \
    return;                                                     \
  }
    SKIFF_LIBARCHIVE_FUNCTIONS(SKIFF_RESOLVE)
#undef SKIFF_RESOLVE
  });
  if (failure) return *failure;
  return &lib;
}

Result<const LibCrypto*> libcrypto() {
  static LibCrypto lib;
  static std::optional<Error> failure;
  static std::once_flag once;
  std::call_once(once, [] {
    std::string tried;
    void* h = open_library({"libcrypto.so.3", "libcrypto.so"}, tried);
    if (!h) {
      failure = error("cannot load libcrypto (tried ", tried,
                      "; apt-get install libssl3): needed for sha256 digests");
      return;
    }
#define SKIFF_RESOLVE(name)                                    \
  if (auto r = resolve(h, "libcrypto", #name, lib.name); !r) { \
    failure = std::move(r.error());                            \
    return;                                                    \
  }
    SKIFF_LIBCRYPTO_FUNCTIONS(SKIFF_RESOLVE)
#undef SKIFF_RESOLVE
    lib.sha256 = lib.EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (!lib.sha256) failure = error("libcrypto has no SHA256 implementation");
  });
  if (failure) return *failure;
  return &lib;
}

std::string archive_error(const LibArchive& la, struct archive* a, std::string_view fallback) {
  const char* s = a ? la.archive_error_string(a) : nullptr;
  if (s && *s) return s;
  return fallback.empty() ? std::string("unknown libarchive error") : std::string(fallback);
}

}  // namespace skiff::image
