#define CCURL_IMPL
#include "ccurl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

// One pointer per libcurl function we call, typed from libcurl's own declarations.
#define CCURL_FUNCTIONS(X) \
  X(curl_global_init) X(curl_easy_init) X(curl_easy_cleanup) X(curl_easy_strerror) X(curl_easy_setopt) \
  X(curl_easy_getinfo) X(curl_slist_append) X(curl_slist_free_all) X(curl_multi_init) X(curl_multi_cleanup) \
  X(curl_multi_setopt) X(curl_multi_add_handle) X(curl_multi_remove_handle) X(curl_multi_perform) \
  X(curl_multi_poll) X(curl_multi_wakeup) X(curl_multi_info_read)

#define CCURL_POINTER(name) static __typeof__(name) *p_##name;
CCURL_FUNCTIONS(CCURL_POINTER)

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char load_error[512];

static void load(void) {
  // The soname of libcurl 7.16 and later (Debian's libcurl4 packages).
  void *lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char *why = dlerror();
    snprintf(load_error, sizeof load_error, "cannot load libcurl.so.4: %s", why ? why : "unknown error");
    return;
  }
#define CCURL_RESOLVE(name)                                                                  \
  if (!(p_##name = (__typeof__(name) *)dlsym(lib, #name))) {                                 \
    snprintf(load_error, sizeof load_error, "libcurl.so.4 has no %s (libcurl too old?)", #name); \
    return;                                                                                  \
  }
  CCURL_FUNCTIONS(CCURL_RESOLVE)
  CURLcode code = p_curl_global_init(CURL_GLOBAL_DEFAULT);
  if (code != CURLE_OK) {
    snprintf(load_error, sizeof load_error, "curl_global_init failed: %s", p_curl_easy_strerror(code));
  }
}

int ccurl_load(char *error, size_t size) {
  pthread_once(&once, load);
  if (load_error[0] == 0) return 0;
  if (error && size > 0) snprintf(error, size, "%s", load_error);
  return 1;
}

CURL *ccurl_easy_init(void) { return p_curl_easy_init(); }
void ccurl_easy_cleanup(CURL *h) { p_curl_easy_cleanup(h); }
const char *ccurl_easy_strerror(CURLcode code) { return p_curl_easy_strerror(code); }
CURLcode ccurl_easy_setopt_long(CURL *h, CURLoption o, long v) { return p_curl_easy_setopt(h, o, v); }
CURLcode ccurl_easy_setopt_ptr(CURL *h, CURLoption o, void *v) { return p_curl_easy_setopt(h, o, v); }
CURLcode ccurl_easy_setopt_str(CURL *h, CURLoption o, const char *v) { return p_curl_easy_setopt(h, o, v); }
CURLcode ccurl_easy_setopt_blob(CURL *h, CURLoption o, struct curl_blob *v) { return p_curl_easy_setopt(h, o, v); }
CURLcode ccurl_easy_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v) { return p_curl_easy_setopt(h, o, v); }
CURLcode ccurl_easy_setopt_off(CURL *h, CURLoption o, curl_off_t v) { return p_curl_easy_setopt(h, o, v); }
CURLcode ccurl_easy_setopt_write(CURL *h, ccurl_data_callback f) { return p_curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, f); }
CURLcode ccurl_easy_setopt_header(CURL *h, ccurl_data_callback f) { return p_curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, f); }
CURLcode ccurl_easy_getinfo_long(CURL *h, CURLINFO i, long *v) { return p_curl_easy_getinfo(h, i, v); }
CURLcode ccurl_easy_getinfo_ptr(CURL *h, CURLINFO i, void **v) { return p_curl_easy_getinfo(h, i, v); }
struct curl_slist *ccurl_slist_append(struct curl_slist *list, const char *s) { return p_curl_slist_append(list, s); }
void ccurl_slist_free_all(struct curl_slist *list) { p_curl_slist_free_all(list); }
CURLM *ccurl_multi_init(void) { return p_curl_multi_init(); }
CURLMcode ccurl_multi_cleanup(CURLM *m) { return p_curl_multi_cleanup(m); }
CURLMcode ccurl_multi_setopt_long(CURLM *m, CURLMoption o, long v) { return p_curl_multi_setopt(m, o, v); }
CURLMcode ccurl_multi_add_handle(CURLM *m, CURL *h) { return p_curl_multi_add_handle(m, h); }
CURLMcode ccurl_multi_remove_handle(CURLM *m, CURL *h) { return p_curl_multi_remove_handle(m, h); }
CURLMcode ccurl_multi_perform(CURLM *m, int *running) { return p_curl_multi_perform(m, running); }
CURLMcode ccurl_multi_poll(CURLM *m, struct curl_waitfd extra[], unsigned int count, int timeout_ms, int *numfds) {
  return p_curl_multi_poll(m, extra, count, timeout_ms, numfds);
}
CURLMcode ccurl_multi_wakeup(CURLM *m) { return p_curl_multi_wakeup(m); }
CURLMsg *ccurl_multi_info_read(CURLM *m, int *queued) { return p_curl_multi_info_read(m, queued); }
