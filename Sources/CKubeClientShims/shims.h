// POSIX calls KubeClient makes without Foundation that Swift cannot reach directly: a variadic
// function (prctl) and a glibc extension that Swift's Glibc module declares only under _GNU_SOURCE.
#ifndef CKUBECLIENTSHIMS_H
#define CKUBECLIENTSHIMS_H

#include <errno.h>
#include <spawn.h>

#if defined(__linux__)
#include <sys/prctl.h>

/// Names the calling thread (at most 15 bytes show), as Foundation's `Thread.name` did.
static inline void ckubeclient_set_thread_name(const char *name) { (void)prctl(PR_SET_NAME, name, 0, 0, 0); }

#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
extern int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *, int);
#endif
#endif

/// Closes every descriptor from `lowest` up in the child, so it inherits no socket or pipe of ours
/// (Apple's POSIX_SPAWN_CLOEXEC_DEFAULT; Foundation's `Process` emulates it on Linux). Returns
/// ENOSYS where the C library cannot (musl; Darwin has POSIX_SPAWN_CLOEXEC_DEFAULT instead).
static inline int ckubeclient_spawn_closefrom(posix_spawn_file_actions_t *actions, int lowest) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
  return posix_spawn_file_actions_addclosefrom_np(actions, lowest);
#else
  (void)actions; (void)lowest;
  return ENOSYS;
#endif
}

#endif
