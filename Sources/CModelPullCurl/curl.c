#include "CModelPullCurl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

// The few libcurl types this file needs, as libcurl's headers declare them (curl/curl.h,
// curl/multi.h). Handles stay opaque.
typedef int CURLcode;
typedef int CURLMcode;
typedef struct {
    int msg;        // CURLMSG: 1 is CURLMSG_DONE
    void *easy_handle;
    union {
        void *whatever;
        CURLcode result;
    } data;
} CURLMsg;

#define MP_CURL_GLOBAL_ALL 3L
#define MP_CURLMSG_DONE 1

static struct {
    CURLcode (*global_init)(long flags);
    void *(*easy_init)(void);
    void (*easy_cleanup)(void *);
    CURLcode (*easy_setopt)(void *, int, ...);
    const char *(*easy_strerror)(CURLcode);
    void *(*slist_append)(void *, const char *);
    void (*slist_free_all)(void *);
    void *(*multi_init)(void);
    CURLMcode (*multi_setopt)(void *, int, ...);
    CURLMcode (*multi_add_handle)(void *, void *);
    CURLMcode (*multi_remove_handle)(void *, void *);
    CURLMcode (*multi_perform)(void *, int *);
    CURLMcode (*multi_poll)(void *, void *, unsigned int, int, int *);
    CURLMcode (*multi_wakeup)(void *);
    CURLMsg *(*multi_info_read)(void *, int *);
} curl;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static int loaded = 0;
static char load_error[256] = "not loaded";
static const char *missing_symbol = NULL;

static void *find(void *library, const char *name) {
    void *symbol = dlsym(library, name);
    if (!symbol && !missing_symbol) missing_symbol = name;
    return symbol;
}

static void load(void) {
    // The soname FoundationNetworking links on Linux, then the names macOS and other systems use.
    static const char *const names[] = {"libcurl.so.4", "libcurl.so", "libcurl.4.dylib", "libcurl.dylib"};
    void *library = NULL;
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !library; i++) library = dlopen(names[i], RTLD_NOW);
    if (!library) {
        snprintf(load_error, sizeof load_error, "dlopen: %s", dlerror());
        return;
    }
#define RESOLVE(field, name) *(void **)(&curl.field) = find(library, name)
    RESOLVE(global_init, "curl_global_init");
    RESOLVE(easy_init, "curl_easy_init");
    RESOLVE(easy_cleanup, "curl_easy_cleanup");
    RESOLVE(easy_setopt, "curl_easy_setopt");
    RESOLVE(easy_strerror, "curl_easy_strerror");
    RESOLVE(slist_append, "curl_slist_append");
    RESOLVE(slist_free_all, "curl_slist_free_all");
    RESOLVE(multi_init, "curl_multi_init");
    RESOLVE(multi_setopt, "curl_multi_setopt");
    RESOLVE(multi_add_handle, "curl_multi_add_handle");
    RESOLVE(multi_remove_handle, "curl_multi_remove_handle");
    RESOLVE(multi_perform, "curl_multi_perform");
    // curl_multi_poll and curl_multi_wakeup arrived in libcurl 7.66 and 7.68 (2019).
    RESOLVE(multi_poll, "curl_multi_poll");
    RESOLVE(multi_wakeup, "curl_multi_wakeup");
    RESOLVE(multi_info_read, "curl_multi_info_read");
#undef RESOLVE
    if (missing_symbol) {
        snprintf(load_error, sizeof load_error, "libcurl has no %s", missing_symbol);
        return;
    }
    if (curl.global_init(MP_CURL_GLOBAL_ALL) != 0) {
        snprintf(load_error, sizeof load_error, "curl_global_init failed");
        return;
    }
    load_error[0] = '\0';
    loaded = 1;
}

int mp_curl_load(void) {
    pthread_once(&load_once, load);
    return loaded;
}

const char *mp_curl_load_error(void) { return load_error; }

void *mp_curl_easy_init(void) { return curl.easy_init(); }
void mp_curl_easy_cleanup(void *easy) { curl.easy_cleanup(easy); }
int mp_curl_easy_setopt_long(void *easy, int option, long value) { return curl.easy_setopt(easy, option, value); }
int mp_curl_easy_setopt_pointer(void *easy, int option, const void *value) { return curl.easy_setopt(easy, option, value); }
int mp_curl_easy_setopt_callback(void *easy, int option, mp_curl_data_callback callback) {
    return curl.easy_setopt(easy, option, callback);
}
const char *mp_curl_easy_strerror(int code) { return curl.easy_strerror(code); }

void *mp_curl_slist_append(void *list, const char *line) { return curl.slist_append(list, line); }
void mp_curl_slist_free_all(void *list) { curl.slist_free_all(list); }

void *mp_curl_multi_init(void) { return curl.multi_init(); }
int mp_curl_multi_setopt_long(void *multi, int option, long value) { return curl.multi_setopt(multi, option, value); }
int mp_curl_multi_add_handle(void *multi, void *easy) { return curl.multi_add_handle(multi, easy); }
int mp_curl_multi_remove_handle(void *multi, void *easy) { return curl.multi_remove_handle(multi, easy); }
int mp_curl_multi_perform(void *multi, int *running) { return curl.multi_perform(multi, running); }
int mp_curl_multi_poll(void *multi, int timeout_ms) {
    int ready = 0;
    return curl.multi_poll(multi, NULL, 0, timeout_ms, &ready);
}
int mp_curl_multi_wakeup(void *multi) { return curl.multi_wakeup(multi); }

int mp_curl_multi_next_done(void *multi, void **easy, int *result) {
    int left = 0;
    CURLMsg *message;
    while ((message = curl.multi_info_read(multi, &left)) != NULL) {
        if (message->msg != MP_CURLMSG_DONE) continue;
        *easy = message->easy_handle;
        *result = message->data.result;
        return 1;
    }
    return 0;
}
