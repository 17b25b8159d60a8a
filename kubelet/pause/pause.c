// skiff-pause: the process that holds a pod's namespaces (net, ipc, uts) while its containers come
// and go. PID 1 of the sandbox's pid namespace: it reaps every zombie re-parented to it and exits
// 0 on SIGTERM or SIGINT (kubernetes' pause.c does the same). Plain C, linked statically: it runs
// in an empty root with nothing but itself.

#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
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

int main(int argc, char** argv) {
  if (argc > 1 && (strcmp(argv[1], "-v") == 0 || strcmp(argv[1], "--version") == 0)) {
    puts("skiff-pause");
    return 0;
  }
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
