#pragma once
// Runs a function in a forked child, so tests of identity, rlimits, personality and the like never
// change the test process itself; the child's text (or error) comes back over a pipe.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <string>

#include "common/error.hpp"

namespace skiff::test {

struct ChildReport {
  int status = -1;   // raw wait status
  std::string text;  // fn's result, or its error's what()
  bool ok() const { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }
};

// The child exits 0 when fn succeeded, 1 when it returned an error.
inline ChildReport run_in_child(const std::function<Result<std::string>()>& fn) {
  int p[2];
  EXPECT_EQ(pipe2(p, O_CLOEXEC), 0);
  pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    auto r = fn();
    std::string text = r.ok() ? *r : r.error().what();
    (void)!write(p[1], text.data(), text.size());
    _exit(r.ok() ? 0 : 1);
  }
  close(p[1]);
  ChildReport c;
  char buf[4096];
  ssize_t n;
  while ((n = read(p[0], buf, sizeof buf)) > 0) c.text.append(buf, static_cast<size_t>(n));
  close(p[0]);
  waitpid(pid, &c.status, 0);
  return c;
}

}  // namespace skiff::test
