// skiff-pause: the process that holds a pod's namespaces (net, ipc, uts) while its containers come
// and go. PID 1 of the sandbox's pid namespace: it reaps every zombie re-parented to it and exits
// 0 on SIGTERM or SIGINT (kubernetes' pause.c does the same). Plain C, linked statically: it runs
// in an empty root with nothing but itself.
//
// `--fd-store N`: it is also the pod's fd store (kubelet/engine/fd_store.hpp), which holds the
// containers' pipes so that they outlive a shim that dies. Fd N is a listening SOCK_SEQPACKET
// socket (the shim bound it at <run dir>/fds.sock); the store serves "put NAME" (+ one fd,
// SCM_RIGHTS), "get NAME" (-> "ok" + the fd, or "none"), "drop NAME" and "exit" (the store closes;
// the sandbox stays), one client at a time. In the pause, not a process of its own: one exec and
// one process a pod fewer, and the pipes live exactly as long as the pod.

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

// The entry for `name`, made when missing (its fd -1); NULL when out of memory.
static struct held* find_or_add(const char* name) {
  struct held* h = find(name);
  if (h) return h;
  if (held_count == held_cap) {
    size_t cap = held_cap ? held_cap * 2 : 16;
    struct held* grown = realloc(held, cap * sizeof *held);
    if (!grown) return NULL;
    held = grown;
    held_cap = cap;
  }
  char* copy = strdup(name);
  if (!copy) return NULL;
  held[held_count] = (struct held){copy, -1};
  return &held[held_count++];
}

static void forget(struct held* h) {
  close(h->fd);
  free(h->name);
  *h = held[--held_count];
}

// A message with room for one fd (SCM_RIGHTS).
struct message {
  struct msghdr hdr;
  struct iovec iov;
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int))];
  } control;
};

static void message_init(struct message* m, void* data, size_t size) {
  memset(m, 0, sizeof *m);
  m->iov = (struct iovec){data, size};
  m->hdr.msg_iov = &m->iov;
  m->hdr.msg_iovlen = 1;
  m->hdr.msg_control = m->control.buf;
  m->hdr.msg_controllen = sizeof m->control.buf;
}

static void reply(int sock, const char* text, int fd) {
  struct message m;
  message_init(&m, (void*)text, strlen(text));
  if (fd < 0) {
    m.hdr.msg_control = NULL;
    m.hdr.msg_controllen = 0;
  } else {
    struct cmsghdr* c = CMSG_FIRSTHDR(&m.hdr);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
  }
  while (sendmsg(sock, &m.hdr, MSG_NOSIGNAL) < 0 && errno == EINTR) {
  }
}

// Serves one request of the client. 0 when the connection ended, -1 on "exit", 1 otherwise.
static int serve_one(int client) {
  char text[4096];
  struct message m;
  message_init(&m, text, sizeof text - 1);
  ssize_t n = recvmsg(client, &m.hdr, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return 1;
  if (n <= 0) return 0;
  text[n] = 0;
  int fd = -1;
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&m.hdr); c; c = CMSG_NXTHDR(&m.hdr, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
      memcpy(&fd, CMSG_DATA(c), sizeof fd);
  char* name = strchr(text, ' ');
  if (name)
    *name++ = 0;
  else
    name = text + n;
  int result = 1;
  if (strcmp(text, "put") == 0 && fd >= 0) {
    struct held* h = find_or_add(name);
    if (h) {
      if (h->fd >= 0) close(h->fd);
      h->fd = fd;
      fd = -1;
    }
  } else if (strcmp(text, "get") == 0) {
    struct held* h = find(name);
    reply(client, h ? "ok" : "none", h ? h->fd : -1);
  } else if (strcmp(text, "drop") == 0) {
    struct held* h = find(name);
    if (h) forget(h);
  } else if (strcmp(text, "exit") == 0) {
    result = -1;
  }
  if (fd >= 0) close(fd);
  return result;
}

int main(int argc, char** argv) {
  if (argc > 1 && (strcmp(argv[1], "-v") == 0 || strcmp(argv[1], "--version") == 0)) {
    puts("skiff-pause");
    return 0;
  }
  int store = -1;  // the fd store's listening socket
  if (argc > 1) {
    char* end = NULL;
    long fd = argc == 3 && strcmp(argv[1], "--fd-store") == 0 ? strtol(argv[2], &end, 10) : -1;
    int type = 0;
    socklen_t len = sizeof type;
    if (fd < 3 || fd > 65535 || !end || *end ||
        getsockopt((int)fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_SEQPACKET) {
      fputs("usage: skiff-pause [--fd-store FD]  (FD: a listening SOCK_SEQPACKET socket, >= 3)\n",
            stderr);
      return 2;
    }
    store = (int)fd;
  }
  // Not dumpable: a process sharing the pod's PID namespace may not ptrace it nor open its /proc
  // root, cwd or fds (it stays uid 0, though with no capability).
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  prctl(PR_SET_NAME, "pause", 0, 0, 0);  // exec'd through a descriptor, its name was the fd's
  struct sigaction stop = {0};
  stop.sa_handler = on_stop;
  sigemptyset(&stop.sa_mask);
  struct sigaction child = {0};
  child.sa_handler = on_child;
  child.sa_flags = SA_NOCLDSTOP;
  sigemptyset(&child.sa_mask);
  if (sigaction(SIGTERM, &stop, NULL) < 0 || sigaction(SIGINT, &stop, NULL) < 0 ||
      sigaction(SIGCHLD, &child, NULL) < 0) {
    perror("skiff-pause: sigaction");
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);
  if (getpid() != 1) fputs("skiff-pause: warning: not running as PID 1\n", stderr);
  // The shim spawns it with every signal blocked. TERM, INT and CHLD stay blocked except inside
  // ppoll, so one arriving between the check and the wait is not lost; the rest are unblocked.
  sigset_t block, wait_mask;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGCHLD);
  sigprocmask(SIG_SETMASK, &block, NULL);
  sigemptyset(&wait_mask);
  int client = -1;
  while (!stop_requested) {
    struct pollfd p = {client >= 0 ? client : store, POLLIN, 0};
    if (ppoll(&p, store >= 0 ? 1 : 0, NULL, &wait_mask) <= 0) continue;  // a signal's handler ran
    if (client < 0) {
      client = accept4(store, NULL, NULL, SOCK_CLOEXEC);
      continue;
    }
    int served = serve_one(client);
    if (served <= 0) {
      close(client);
      client = -1;
    }
    if (served < 0) {  // "exit": the pod has ended; the store closes, the sandbox stays
      close(store);
      store = -1;
    }
  }
  return 0;
}
