#pragma once
// Error and Result<T>: everything that can fail returns a Result. An Error keeps the errno (when
// there is one) and a message with context, wrapped on the way up (crun's crun_error_wrap).

#include <cerrno>
#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "common/strings.hpp"

namespace skiff {

class Error {
 public:
  explicit Error(std::string message, int code = 0) : message_(std::move(message)), code_(code) {}

  // Captures errno now; call it right after the failing syscall.
  static Error from_errno(std::string message) {
    int code = errno;
    return Error(std::move(message), code);
  }

  int code() const { return code_; }
  const std::string& message() const { return message_; }
  // "message: strerror(code)" — what a person reads.
  std::string what() const;

  // Adds the caller's context in front: "context: message: strerror".
  Error& wrap(std::string_view context);

 private:
  std::string message_;
  int code_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T value_or(T other) const& { return ok() ? value() : std::move(other); }

  Error& error() & { return std::get<1>(v_); }
  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : e_(std::move(error)) {}  // NOLINT

  bool ok() const { return !e_.has_value(); }
  explicit operator bool() const { return ok(); }
  void value() const {}
  void operator*() const {}

  Error& error() & { return *e_; }
  const Error& error() const& { return *e_; }
  Error&& error() && { return std::move(*e_); }

 private:
  std::optional<Error> e_;
};

inline Result<void> ok() { return {}; }

// Error with errno captured now and the message built from the arguments.
template <typename... Args>
Error errno_error(Args&&... args) {
  int code = errno;
  return Error(cat(std::forward<Args>(args)...), code);
}

template <typename... Args>
Error error(Args&&... args) {
  return Error(cat(std::forward<Args>(args)...));
}

}  // namespace skiff

// Propagates an error to the caller; evaluates to the value otherwise (GNU statement expression,
// as in Envoy's RETURN_IF_NOT_OK / nsjail's RETURN_ON_FAILURE).
#define TRY(expr)                                              \
  ({                                                           \
    auto&& skiff_try_result_ = (expr);                         \
    if (!skiff_try_result_.ok())                               \
      return std::move(skiff_try_result_).error();             \
    *std::move(skiff_try_result_);                             \
  })

// TRY, adding context to the error on the way up.
#define TRY_CTX(expr, ...)                                                        \
  ({                                                                              \
    auto&& skiff_try_result_ = (expr);                                            \
    if (!skiff_try_result_.ok())                                                  \
      return std::move(skiff_try_result_.error().wrap(::skiff::cat(__VA_ARGS__))); \
    *std::move(skiff_try_result_);                                                \
  })
