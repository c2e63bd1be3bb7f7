#ifndef CMODELPULLCURL_H
#define CMODELPULLCURL_H

// A narrow window onto libcurl, the library FoundationNetworking itself is built on, for
// ModelPullCore's bulk body transport.
//
// libcurl is loaded with dlopen at run time, never linked and never needed to build: on Linux it
// is already in the process (libFoundationNetworking.so links libcurl.so.4), so there is nothing
// new to install or fetch. When it cannot be loaded, `mp_curl_load` says so and ModelPull stays on
// URLSession. Only this file knows libcurl's C signatures; option and info numbers are part of
// libcurl's stable ABI and live in Swift (`CurlOption`).

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// libcurl's write and header callback: (bytes, 1, count, user data) -> bytes taken.
typedef size_t (*mp_curl_data_callback)(char *bytes, size_t size, size_t count, void *user);

/// Loads libcurl and resolves every function below; 1 on success, 0 otherwise (then
/// `mp_curl_load_error` says why). Safe to call from any thread, any number of times.
int mp_curl_load(void);
const char *mp_curl_load_error(void);

void *mp_curl_easy_init(void);
void mp_curl_easy_cleanup(void *easy);
int mp_curl_easy_setopt_long(void *easy, int option, long value);
int mp_curl_easy_setopt_pointer(void *easy, int option, const void *value);
int mp_curl_easy_setopt_callback(void *easy, int option, mp_curl_data_callback callback);
const char *mp_curl_easy_strerror(int code);

void *mp_curl_slist_append(void *list, const char *line);
void mp_curl_slist_free_all(void *list);

void *mp_curl_multi_init(void);
int mp_curl_multi_setopt_long(void *multi, int option, long value);
int mp_curl_multi_add_handle(void *multi, void *easy);
int mp_curl_multi_remove_handle(void *multi, void *easy);
int mp_curl_multi_perform(void *multi, int *running);
/// Waits for socket activity, `mp_curl_multi_wakeup` or the timeout.
int mp_curl_multi_poll(void *multi, int timeout_ms);
int mp_curl_multi_wakeup(void *multi);
/// The next finished transfer: returns 1 and fills `easy` and `result`, or 0 when none is left.
int mp_curl_multi_next_done(void *multi, void **easy, int *result);

#ifdef __cplusplus
}
#endif

#endif
