#pragma once
// The pod's fd store: the pod's pause (skiff-pause --fd-store; kubelet/pause/pause.c) also holds
// a dup of every container's stdout/stderr pipe read end, so the pipes outlive a shim that
// crashes or is killed. Without it the container's next write would meet a pipe with no reader
// (SIGPIPE); with it the output waits in the pipe (the writer blocks once it is full) until the
// shim that re-adopts the pod takes the read ends back with get(). The store serves
// SOCK_SEQPACKET requests on <run dir>/fds.sock: "put NAME" (+ one fd, SCM_RIGHTS), "get NAME"
// (→ "ok" + the fd, or "none"), "drop NAME", "exit". The pod's first shim makes the listening
// socket (listen) and hands it to the pause it spawns, then connects.
//
// The engine calls put/drop through this process-wide client; when no store is configured (unit
// tests, tools) every call is a no-op.

#include <sys/types.h>

#include <string>

#include "common/error.hpp"
#include "common/unique_fd.hpp"

namespace skiff::kubelet::fd_store {

// The store's listening socket at `socket_path`, for the pause (close-on-exec; the spawn hands
// it over).
Result<UniqueFd> listen(const std::string& socket_path);
// Connects to the running store (once the pause has it, and when a shim re-adopts its pod).
Result<void> connect(const std::string& socket_path);
// Hands the store a copy of `fd` under `name` (replacing what the name held).
void put(const std::string& name, int fd);
// A copy of what the store holds under `name`; an invalid fd when nothing.
UniqueFd get(const std::string& name);
void drop(const std::string& name);
// Ends the store (the pod has ended) and forgets it.
void shutdown();

}  // namespace skiff::kubelet::fd_store
