#pragma once
// Runs a program to completion: argv, env, bytes on stdin, an optional timeout. Used for OCI hooks,
// CNI plugins and for tools the tests and scripts drive. The child starts with no blocked signals
// and SIGPIPE at its default action.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace skiff {

struct SubprocessOptions {
  std::string path;  // program to exec (absolute); argv[0] if empty
  std::vector<std::string> argv;
  std::optional<std::vector<std::string>> env;  // inherit when unset
  std::string stdin_data;
  std::optional<std::chrono::milliseconds> timeout;
  bool capture_output = true;     // collect stdout+stderr (else inherit)
  bool capture_stderr = true;     // with capture_output: false collects stdout only, stderr
                                  // stays ours (a CNI plugin's result vs its diagnostics)
  bool new_process_group = true;  // the child leads a process group; a timeout kills it all
};

struct SubprocessResult {
  int status = 0;  // raw wait status
  bool timed_out = false;
  std::string output;            // stdout and stderr, interleaved
  bool exited_ok() const;        // exited with 0
  std::string describe() const;  // "exit status 3", "killed by signal 9", "timed out"
};

// Spawns (posix_spawn), waits. An error means it could not be started; a non-zero exit is a result.
Result<SubprocessResult> run_subprocess(const SubprocessOptions& options);

}  // namespace skiff
