#pragma once
// One process-wide logger with levels and a component tag. Text lines for people, JSON lines for
// machines: containerd reads the runtime's --log file with --log-format json and reports the last
// {"level":"error","msg":…} line (crun's error.h does the same).

#include <string>
#include <string_view>

#include "common/strings.hpp"

namespace skiff::log {

enum class Level { kDebug = 0, kInfo, kWarn, kError };
enum class Format { kText, kJson };

struct Options {
  Level level = Level::kWarn;
  Format format = Format::kText;
  std::string path;  // empty: stderr
  std::string component = "skiff";
};

// Opens the log file (append, O_CLOEXEC) and sets level/format; safe to call again.
bool configure(const Options& options);
const Options& options();
bool enabled(Level level);
void write(Level level, std::string_view message);
// Writes to the log file when one is configured, and also to stderr when that is not the log.
// Used for the final error of a command, which both a person and containerd must see.
void write_error_everywhere(std::string_view message);

template <typename... Args>
void debug(Args&&... args) {
  if (enabled(Level::kDebug)) write(Level::kDebug, cat(std::forward<Args>(args)...));
}
template <typename... Args>
void info(Args&&... args) {
  if (enabled(Level::kInfo)) write(Level::kInfo, cat(std::forward<Args>(args)...));
}
template <typename... Args>
void warn(Args&&... args) {
  if (enabled(Level::kWarn)) write(Level::kWarn, cat(std::forward<Args>(args)...));
}
template <typename... Args>
void error(Args&&... args) {
  write(Level::kError, cat(std::forward<Args>(args)...));
}

}  // namespace skiff::log
