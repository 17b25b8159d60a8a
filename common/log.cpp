#include "common/log.hpp"

#include <fcntl.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>

#include "common/json_util.hpp"

namespace skiff::log {
namespace {

Options g_options;
int g_fd = STDERR_FILENO;

const char* level_name(Level l) {
  switch (l) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warning";
    case Level::kError: return "error";
  }
  return "info";
}

std::string timestamp() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  char buf[64];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf + n, sizeof buf - n, ".%09ldZ", ts.tv_nsec);
  return buf;
}

std::string render(Level level, std::string_view message) {
  if (g_options.format == Format::kJson) {
    std::string line = cat("{\"level\":\"", level_name(level), "\",\"msg\":", json_quote(message),
                           ",\"time\":\"", timestamp(), "\"}\n");
    return line;
  }
  return cat(g_options.component, ": ", level == Level::kError ? "" : level_name(level),
             level == Level::kError ? "" : ": ", message, "\n");
}

void write_fd(int fd, const std::string& line) {
  size_t off = 0;
  while (off < line.size()) {
    ssize_t n = ::write(fd, line.data() + off, line.size() - off);
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

}  // namespace

bool configure(const Options& options) {
  g_options = options;
  if (g_fd != STDERR_FILENO) ::close(g_fd);
  g_fd = STDERR_FILENO;
  if (!options.path.empty()) {
    int fd = ::open(options.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return false;
    g_fd = fd;
  }
  return true;
}

const Options& options() { return g_options; }

bool enabled(Level level) { return level >= g_options.level; }

void write(Level level, std::string_view message) { write_fd(g_fd, render(level, message)); }

void write_error_everywhere(std::string_view message) {
  write_fd(g_fd, render(Level::kError, message));
  if (g_fd != STDERR_FILENO) {
    Format saved = g_options.format;
    g_options.format = Format::kText;
    write_fd(STDERR_FILENO, render(Level::kError, message));
    g_options.format = saved;
  }
}

}  // namespace skiff::log
