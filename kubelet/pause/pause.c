// skiff-pause: the small static processes a pod keeps besides its shim.
//
// Without arguments, the process that holds a pod's namespaces (net, ipc, uts) while its
// containers come and go. PID 1 of the sandbox's pid namespace: it reaps every zombie re-parented
// to it and exits 0 on SIGTERM or SIGINT (kubernetes' pause.c does the same). Plain C, linked
// statically: it runs in an empty root with nothing but itself.
//
// `--fd-store PATH` (name skiff-fdstore): the pod's fd store (kubelet/engine/fd_store.hpp), which
// holds the containers' pipes so that they outlive a shim that dies. The shim hands it the
// SOCK_SEQPACKET socket listening at PATH as fd 3; it serves "put NAME" (+ one fd, SCM_RIGHTS),
// "get NAME" (-> "ok" + the fd, or "none"), "drop NAME" and "exit", one client at a time, and
// ends by itself once PATH is gone. Here rather than in the shim: exec'd (posix_spawn), a few
// pages of its own, where a fork of the shim kept every page of the shim shared copy-on-write.

#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested = 0;

static void on_stop(int sig) {
  (void)sig;
  stop_requested = 1;
}

static void on_child(int sig) {
  (void)sig;
  int saved = errno;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
  errno = saved;
}

// --- the fd store ---

static void send_msg(int sock, const char* text, int fd) {
  struct iovec iov = {(void*)text, strlen(text)};
  struct msghdr m = {0};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int))];
  } control;
  memset(&control, 0, sizeof control);
  if (fd >= 0) {
    m.msg_control = control.buf;
    m.msg_controllen = sizeof control.buf;
    struct cmsghdr* c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
  }
  while (sendmsg(sock, &m, MSG_NOSIGNAL) < 0 && errno == EINTR) {
  }
}

// One message into text (NUL-terminated) and the fd it carried (-1 when none); its length, 0 at
// EOF or on error.
static ssize_t recv_msg(int sock, char* text, size_t size, int* fd) {
  struct iovec iov = {text, size - 1};
  struct msghdr m = {0};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int))];
  } control;
  m.msg_control = control.buf;
  m.msg_controllen = sizeof control.buf;
  ssize_t n;
  while ((n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {
  }
  *fd = -1;
  if (n <= 0) return 0;
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) memcpy(fd, CMSG_DATA(c), sizeof(int));
  text[n] = 0;
  return n;
}

struct held {
  char* name;
  int fd;
};
static struct held* held;
static size_t held_count, held_cap;

static struct held* find(const char* name) {
  for (size_t i = 0; i < held_count; ++i)
    if (strcmp(held[i].name, name) == 0) return &held[i];
  return NULL;
}

static void forget(struct held* h) {
  close(h->fd);
  free(h->name);
  *h = held[--held_count];
}

static int fd_store(const char* path) {
  enum { kListener = 3 };
  prctl(PR_SET_NAME, "skiff-fdstore", 0, 0, 0);
  signal(SIGPIPE, SIG_IGN);
  for (;;) {
    struct pollfd p = {kListener, POLLIN, 0};
    int ready = poll(&p, 1, 10000);
    if (ready == 0) {
      if (access(path, F_OK) != 0) return 0;  // the pod's run directory was removed
      continue;
    }
    if (ready < 0) {
      if (errno == EINTR) continue;
      perror("skiff-fdstore: poll");
      return 1;
    }
    int c = accept4(kListener, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0) continue;
    char text[4096];
    int fd;
    while (recv_msg(c, text, sizeof text, &fd) > 0) {
      char* name = strchr(text, ' ');
      if (name) *name++ = 0;
      else name = text + strlen(text);
      struct held* h = find(name);
      if (strcmp(text, "put") == 0 && fd >= 0) {
        if (!h && held_count == held_cap) {
          size_t cap = held_cap ? held_cap * 2 : 16;
          struct held* grown = realloc(held, cap * sizeof *held);
          if (grown) held = grown, held_cap = cap;
        }
        char* copy = h || held_count == held_cap ? NULL : strdup(name);
        if (!h && copy) {
          h = &held[held_count++];
          *h = (struct held){copy, -1};
        }
        if (h) {
          if (h->fd >= 0) close(h->fd);
          h->fd = fd;
          fd = -1;
        }
      } else if (strcmp(text, "get") == 0) {
        send_msg(c, h ? "ok" : "none", h ? h->fd : -1);
      } else if (strcmp(text, "drop") == 0) {
        if (h) forget(h);
      } else if (strcmp(text, "exit") == 0) {
        return 0;
      }
      if (fd >= 0) close(fd);
    }
    close(c);
  }
}

int main(int argc, char** argv) {
  if (argc > 1 && (strcmp(argv[1], "-v") == 0 || strcmp(argv[1], "--version") == 0)) {
    puts("skiff-pause");
    return 0;
  }
  if (argc == 3 && strcmp(argv[1], "--fd-store") == 0) return fd_store(argv[2]);
  // Not dumpable: a process sharing the pod's PID namespace may not ptrace it nor open its /proc
  // root, cwd or fds (it stays uid 0, though with no capability). The shim spawns it with every
  // signal blocked: they are unblocked once its handlers are in place.
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  prctl(PR_SET_NAME, "pause", 0, 0, 0);  // exec'd through a descriptor, its name was the fd's
  struct sigaction stop = {0};
  stop.sa_handler = on_stop;
  sigemptyset(&stop.sa_mask);
  struct sigaction child = {0};
  child.sa_handler = on_child;
  child.sa_flags = SA_NOCLDSTOP | SA_RESTART;
  sigemptyset(&child.sa_mask);
  if (sigaction(SIGTERM, &stop, NULL) < 0 || sigaction(SIGINT, &stop, NULL) < 0 ||
      sigaction(SIGCHLD, &child, NULL) < 0) {
    perror("skiff-pause: sigaction");
    return 1;
  }
  sigset_t none;  // what arrived while blocked is delivered to the handlers now
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  if (getpid() != 1) fputs("skiff-pause: warning: not running as PID 1\n", stderr);
  // Stop signals stay blocked except inside sigsuspend: one arriving between the check and the
  // wait cannot be lost.
  sigset_t block, wait_mask;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGINT);
  sigprocmask(SIG_BLOCK, &block, &wait_mask);
  sigdelset(&wait_mask, SIGTERM);
  sigdelset(&wait_mask, SIGINT);
  while (!stop_requested) sigsuspend(&wait_mask);
  return 0;
}
