#pragma once
// CNI errors as the spec shapes them: a numeric code, a message and details. Plugins print them on
// stdout with a non-zero exit; the invoker reads them back. CniResult<T> carries one; a plain
// skiff::Error converts to the generic code 999 (libcni's ErrInternal), so TRY works across both.

#include <cstdint>
#include <string>
#include <utility>
#include <variant>

#include "common/error.hpp"
#include "common/json_util.hpp"

namespace skiff::cni {

// Error codes of the CNI spec 1.1.0 (section "Error"); 100+ are plugin-specific.
enum ErrorCode : uint32_t {
  kErrIncompatibleVersion = 1,
  kErrUnsupportedField = 2,
  kErrUnknownContainer = 3,
  kErrInvalidEnvironment = 4,
  kErrIoFailure = 5,
  kErrDecodingFailure = 6,
  kErrInvalidNetworkConfig = 7,
  kErrTryAgainLater = 11,
  kErrPluginNotAvailable = 50,
  kErrLimitedConnectivity = 51,
  kErrInternal = 999,
};

struct CniError {
  uint32_t code = kErrInternal;
  std::string msg;
  std::string details;

  // Adds the caller's context in front of msg (the TRY_CTX contract).
  CniError& wrap(std::string_view context);
  // "msg: details (CNI error N)" — what a person reads.
  std::string what() const;
  // {"cniVersion":…,"code":…,"msg":…,"details":…}: what a plugin prints.
  Json to_json(std::string_view cni_version) const;
  // Reads a plugin's error output; anything unparsable becomes code 999 with the raw text.
  static CniError from_output(std::string_view output);
  // A skiff::Error (errno text included) as a CNI error with `code`.
  static CniError from(const Error& e, uint32_t code = kErrInternal);
};

template <typename... Args>
CniError cni_error(uint32_t code, Args&&... args) {
  return CniError{code, cat(std::forward<Args>(args)...), {}};
}

template <typename T>
class [[nodiscard]] CniResult {
 public:
  CniResult(T value) : v_(std::in_place_index<0>, std::move(value)) {}          // NOLINT: implicit
  CniResult(CniError e) : v_(std::in_place_index<1>, std::move(e)) {}           // NOLINT
  CniResult(const Error& e) : v_(std::in_place_index<1>, CniError::from(e)) {}  // NOLINT
  CniResult(Result<T>&& r)  // NOLINT: a plain Result lifts with code 999
      : v_(r.ok() ? std::variant<T, CniError>(std::in_place_index<0>, std::move(r).value())
                  : std::variant<T, CniError>(std::in_place_index<1>, CniError::from(r.error()))) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  CniError& error() & { return std::get<1>(v_); }
  const CniError& error() const& { return std::get<1>(v_); }
  CniError&& error() && { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, CniError> v_;
};

template <>
class [[nodiscard]] CniResult<void> {
 public:
  CniResult() = default;
  CniResult(CniError e) : e_(std::move(e)) {}           // NOLINT
  CniResult(const Error& e) : e_(CniError::from(e)) {}  // NOLINT
  CniResult(Result<void>&& r) {                         // NOLINT
    if (!r.ok()) e_ = CniError::from(r.error());
  }
  bool ok() const { return !e_.has_value(); }
  explicit operator bool() const { return ok(); }
  void value() const {}
  void operator*() const {}
  CniError& error() & { return *e_; }
  const CniError& error() const& { return *e_; }
  CniError&& error() && { return std::move(*e_); }

 private:
  std::optional<CniError> e_;
};

}  // namespace skiff::cni
