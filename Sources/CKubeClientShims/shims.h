// POSIX calls KubeClient makes without Foundation that Swift cannot reach directly: a variadic
// function (prctl) and glibc extensions that Swift's Glibc module declares only under _GNU_SOURCE.
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
extern int pipe2(int pipefd[2], int flags);
#endif

#include <fcntl.h>
#include <unistd.h>

/// A pipe whose ends close on exec (pipe2 with O_CLOEXEC, a Linux call Swift's Glibc declares only
/// under _GNU_SOURCE; elsewhere pipe, then FD_CLOEXEC on each end).
static inline int ckubeclient_pipe_cloexec(int fds[2]) {
#if defined(__linux__)
  return pipe2(fds, O_CLOEXEC);
#else
  if (pipe(fds) != 0) return -1;
  (void)fcntl(fds[0], F_SETFD, FD_CLOEXEC);
  (void)fcntl(fds[1], F_SETFD, FD_CLOEXEC);
  return 0;
#endif
}

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


#if defined(__linux__)
#include <stddef.h>
#include <stdint.h>
// dl_iterate_phdr(3) and struct dl_phdr_info are declared only under _GNU_SOURCE; the call is
// reached under our own name (an asm label, so no prototype can clash) and only the struct's first
// two members are read, whose layout is the ELF ABI's: dlpi_addr (an ElfW(Addr)), dlpi_name.
struct ckubeclient_phdr_head { uintptr_t addr; const char *name; };
extern int ckubeclient_dl_iterate_phdr(int (*callback)(void *info, size_t size, void *data), void *data) __asm__("dl_iterate_phdr");
typedef void (*ckubeclient_object_visitor)(const char *name, void *context);
struct ckubeclient_object_visit { ckubeclient_object_visitor visit; void *context; };
static inline int ckubeclient_visit_object(void *info, size_t size, void *data) {
  (void)size;
  const struct ckubeclient_object_visit *v = (const struct ckubeclient_object_visit *)data;
  const char *name = ((const struct ckubeclient_phdr_head *)info)->name;
  if (name) v->visit(name, v->context);
  return 0;
}
/// Calls `visit` with the path of every loaded object, as the loader opened it ("" for the program).
static inline void ckubeclient_loaded_objects(ckubeclient_object_visitor visit, void *context) {
  struct ckubeclient_object_visit v = { visit, context };
  ckubeclient_dl_iterate_phdr(ckubeclient_visit_object, &v);
}
#endif

#endif
