#include "oci/registry/progress.hpp"

#include <unistd.h>

#include <cstdio>
#include <iterator>

#include "common/strings.hpp"

namespace skiff::registry {

std::string human_size(int64_t bytes) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  double v = static_cast<double>(bytes);
  size_t u = 0;
  while (v >= 1000 && u + 1 < std::size(units)) v /= 1000, ++u;
  char buf[32];
  snprintf(buf, sizeof buf,
           v < 10 && u > 0    ? "%.2f%s"
           : v < 100 && u > 0 ? "%.1f%s"
                              : "%.0f%s",
           v, units[u]);
  return buf;
}

void Progress::add_total(int64_t bytes, int blobs) {
  total_bytes_ += bytes;
  total_blobs_ += blobs;
  draw(true);
}

void Progress::add_bytes(int64_t bytes) {
  done_bytes_ += bytes;
  draw(false);
}

void Progress::blob_done() {
  ++done_blobs_;
  draw(true);
}

void Progress::finish() {
  if (!enabled_) return;
  std::lock_guard lock(mu_);
  if (finished_ || !drawn_) return;
  finished_ = true;
  std::string line = "\n";
  (void)!::write(STDERR_FILENO, line.data(), line.size());
}

void Progress::draw(bool force) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mu_);
  if (finished_ || (!force && now - last_ < std::chrono::milliseconds(100))) return;
  last_ = now;
  drawn_ = true;
  // \r and "erase to end of line": one line, redrawn in place.
  std::string line = cat("\r\33[K", name_, ": ", done_blobs_.load(), '/', total_blobs_.load(),
                         " blobs, ", human_size(done_bytes_), '/', human_size(total_bytes_));
  (void)!::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace skiff::registry
