// libcurl, loaded on first use.
//
// The types and constants come from <curl/curl.h>; every function our code calls goes through the
// ccurl_* wrappers below, which call libcurl through pointers that ccurl_load() resolves with
// dlopen/dlsym. A program therefore maps libcurl and the ~30 libraries it needs (OpenSSL, GnuTLS,
// Kerberos, LDAP, nghttp2…) only when it makes its first HTTP request: an `edgeml engine` init
// container fetching a file:// model never loads them. Loading them cost about 8 ms of CPU per
// process start on the development machine (a C program linked with -lcurl, `perf stat`).
//
// Swift also cannot call libcurl's variadic setopt/getinfo functions; the typed wrappers can be.
#ifndef CCURL_H
#define CCURL_H

#include <stddef.h>
#include <curl/curl.h>

#ifndef CCURL_IMPL
// Nothing links libcurl: a direct call would only fail when linking. Marked unavailable so it
// fails where it is written, naming the wrapper to use.
#define CCURL_USE(name) __attribute__((unavailable("libcurl is loaded on first use: call ccurl_" #name)))
CURLcode curl_global_init(long flags) CCURL_USE(load);
CURL *curl_easy_init(void) CCURL_USE(easy_init);
void curl_easy_cleanup(CURL *curl) CCURL_USE(easy_cleanup);
const char *curl_easy_strerror(CURLcode code) CCURL_USE(easy_strerror);
CURLcode curl_easy_setopt(CURL *curl, CURLoption option, ...) CCURL_USE(easy_setopt_TYPE);
CURLcode curl_easy_getinfo(CURL *curl, CURLINFO info, ...) CCURL_USE(easy_getinfo_TYPE);
CURLcode curl_easy_perform(CURL *curl) CCURL_USE(multi_perform);
struct curl_slist *curl_slist_append(struct curl_slist *list, const char *data) CCURL_USE(slist_append);
void curl_slist_free_all(struct curl_slist *list) CCURL_USE(slist_free_all);
CURLM *curl_multi_init(void) CCURL_USE(multi_init);
CURLMcode curl_multi_cleanup(CURLM *multi_handle) CCURL_USE(multi_cleanup);
CURLMcode curl_multi_setopt(CURLM *multi_handle, CURLMoption option, ...) CCURL_USE(multi_setopt_TYPE);
CURLMcode curl_multi_add_handle(CURLM *multi_handle, CURL *curl_handle) CCURL_USE(multi_add_handle);
CURLMcode curl_multi_remove_handle(CURLM *multi_handle, CURL *curl_handle) CCURL_USE(multi_remove_handle);
CURLMcode curl_multi_perform(CURLM *multi_handle, int *running_handles) CCURL_USE(multi_perform);
CURLMcode curl_multi_poll(CURLM *multi_handle, struct curl_waitfd extra_fds[], unsigned int extra_nfds, int timeout_ms,
                          int *ret) CCURL_USE(multi_poll);
CURLMcode curl_multi_wakeup(CURLM *multi_handle) CCURL_USE(multi_wakeup);
CURLMsg *curl_multi_info_read(CURLM *multi_handle, int *msgs_in_queue) CCURL_USE(multi_info_read);
#undef CCURL_USE
#endif

/// Loads libcurl (libcurl.so.4) once per process and runs curl_global_init. Returns 0 on success;
/// otherwise nonzero with the reason (dlerror's text, or the symbol that was missing) copied into
/// `error` (at most `size` bytes, NUL-terminated). Safe to call from any thread, any number of times.
int ccurl_load(char *error, size_t size);

// Each wrapper requires a successful ccurl_load() first.
CURL *ccurl_easy_init(void);
void ccurl_easy_cleanup(CURL *h);
const char *ccurl_easy_strerror(CURLcode code);
CURLcode ccurl_easy_setopt_long(CURL *h, CURLoption o, long v);
CURLcode ccurl_easy_setopt_ptr(CURL *h, CURLoption o, void *v);
CURLcode ccurl_easy_setopt_str(CURL *h, CURLoption o, const char *v);
CURLcode ccurl_easy_setopt_blob(CURL *h, CURLoption o, struct curl_blob *v);
CURLcode ccurl_easy_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v);
CURLcode ccurl_easy_setopt_off(CURL *h, CURLoption o, curl_off_t v);

typedef size_t (*ccurl_data_callback)(char *ptr, size_t size, size_t nmemb, void *userdata);
CURLcode ccurl_easy_setopt_write(CURL *h, ccurl_data_callback f);
CURLcode ccurl_easy_setopt_header(CURL *h, ccurl_data_callback f);

CURLcode ccurl_easy_getinfo_long(CURL *h, CURLINFO i, long *v);
CURLcode ccurl_easy_getinfo_ptr(CURL *h, CURLINFO i, void **v);

struct curl_slist *ccurl_slist_append(struct curl_slist *list, const char *string);
void ccurl_slist_free_all(struct curl_slist *list);

CURLM *ccurl_multi_init(void);
CURLMcode ccurl_multi_cleanup(CURLM *m);
CURLMcode ccurl_multi_setopt_long(CURLM *m, CURLMoption o, long v);
CURLMcode ccurl_multi_add_handle(CURLM *m, CURL *h);
CURLMcode ccurl_multi_remove_handle(CURLM *m, CURL *h);
CURLMcode ccurl_multi_perform(CURLM *m, int *running);
CURLMcode ccurl_multi_poll(CURLM *m, struct curl_waitfd extra[], unsigned int count, int timeout_ms, int *numfds);
CURLMcode ccurl_multi_wakeup(CURLM *m);
CURLMsg *ccurl_multi_info_read(CURLM *m, int *queued);

#endif
