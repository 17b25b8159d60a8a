#include "common/error.hpp"

#include <cstring>

namespace skiff {

std::string Error::what() const {
  if (code_ == 0) return message_;
  return cat(message_, ": ", std::strerror(code_));
}

Error& Error::wrap(std::string_view context) {
  message_ = cat(context, ": ", message_);
  return *this;
}

}  // namespace skiff
