// libcurl for Swift: typed wrappers for the variadic setopt/getinfo calls.
#pragma once
#include <curl/curl.h>

static inline CURLcode ccurl_easy_setopt_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode ccurl_easy_setopt_ptr(CURL *h, CURLoption o, const void *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode ccurl_easy_setopt_off(CURL *h, CURLoption o, curl_off_t v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode ccurl_easy_getinfo_long(CURL *h, CURLINFO i, long *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode ccurl_easy_getinfo_ptr(CURL *h, CURLINFO i, char **v) { return curl_easy_getinfo(h, i, v); }
static inline CURLMcode ccurl_multi_setopt_long(CURLM *m, CURLMoption o, long v) { return curl_multi_setopt(m, o, v); }

typedef size_t (*ccurl_data_callback)(char *data, size_t size, size_t count, void *context);
typedef int (*ccurl_progress_callback)(void *context, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow);

static inline CURLcode ccurl_easy_setopt_data_callback(CURL *h, CURLoption o, ccurl_data_callback f) { return curl_easy_setopt(h, o, f); }
static inline CURLcode ccurl_easy_setopt_progress_callback(CURL *h, ccurl_progress_callback f) {
    return curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, f);
}
/// The debug callback, through which a recorder sees the request headers libcurl sent.
static inline CURLcode ccurl_easy_setopt_debug_callback(CURL *h, curl_debug_callback f) { return curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, f); }
static inline CURLcode ccurl_easy_getinfo_off(CURL *h, CURLINFO i, curl_off_t *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLSHcode ccurl_share_setopt_long(CURLSH *s, CURLSHoption o, long v) { return curl_share_setopt(s, o, v); }

/// curl_multi_info_read without the union: the finished easy handle and its result, or 0.
static inline int ccurl_multi_next_done(CURLM *multi, CURL **easy, CURLcode *result) {
    int queued = 0;
    CURLMsg *message;
    while ((message = curl_multi_info_read(multi, &queued)) != NULL) {
        if (message->msg == CURLMSG_DONE) {
            *easy = message->easy_handle;
            *result = message->data.result;
            return 1;
        }
    }
    return 0;
}

/// libcurl and OpenSSL initialised once; OpenSSL without its atexit handler.
static inline CURLcode ccurl_global_init(void) { return curl_global_init(CURL_GLOBAL_ALL); }

/// The SSH host-key check (CURLOPT_SSH_KEYFUNCTION): the known key, the server's and how they compare.
typedef int (*ccurl_ssh_key_callback)(CURL *handle, const struct curl_khkey *known, const struct curl_khkey *found, enum curl_khmatch match,
                                      void *context);
static inline CURLcode ccurl_easy_setopt_ssh_key_callback(CURL *h, ccurl_ssh_key_callback f) {
    return curl_easy_setopt(h, CURLOPT_SSH_KEYFUNCTION, f);
}
static inline CURLcode ccurl_easy_setopt_slist(CURL *h, CURLoption o, struct curl_slist *list) { return curl_easy_setopt(h, o, list); }

// An event loop over curl_multi_socket_action: libcurl names the sockets it waits on and the
// next timeout, an epoll set waits on them, and only the sockets that are ready are processed
// (curl_multi_perform visits and polls every transfer on every wake-up).
#include <errno.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

/// Milliseconds on the monotonic clock.
static inline int64_t ccurl_monotonic_ms(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/// The loop's state: its epoll set, the descriptor that wakes it, and when libcurl's timeout
/// falls due (monotonic milliseconds, or -1 when libcurl has none).
typedef struct {
    int epoll;
    int wake;
    int64_t deadline;
} ccurl_event_loop;

static int ccurl_event_loop_socket(CURL *easy, curl_socket_t socket, int what, void *context, void *socket_context) {
    (void)easy;
    (void)socket_context;
    ccurl_event_loop *loop = (ccurl_event_loop *)context;
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(loop->epoll, EPOLL_CTL_DEL, socket, NULL);
        return 0;
    }
    struct epoll_event event = {0};
    event.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0);
    event.data.fd = socket;
    if (epoll_ctl(loop->epoll, EPOLL_CTL_MOD, socket, &event) != 0 && errno == ENOENT) {
        epoll_ctl(loop->epoll, EPOLL_CTL_ADD, socket, &event);
    }
    return 0;
}

static int ccurl_event_loop_timer(CURLM *multi, long timeout_ms, void *context) {
    (void)multi;
    ccurl_event_loop *loop = (ccurl_event_loop *)context;
    loop->deadline = timeout_ms < 0 ? -1 : ccurl_monotonic_ms() + timeout_ms;
    return 0;
}

/// Opens the loop's epoll set and wake-up descriptor and hands libcurl its callbacks; 0 on success.
static inline int ccurl_event_loop_open(ccurl_event_loop *loop, CURLM *multi) {
    loop->deadline = -1;
    loop->epoll = epoll_create1(EPOLL_CLOEXEC);
    loop->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (loop->epoll < 0 || loop->wake < 0) return -1;
    struct epoll_event event = {0};
    event.events = EPOLLIN;
    event.data.fd = loop->wake;
    if (epoll_ctl(loop->epoll, EPOLL_CTL_ADD, loop->wake, &event) != 0) return -1;
    curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, ccurl_event_loop_socket);
    curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, loop);
    curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, ccurl_event_loop_timer);
    curl_multi_setopt(multi, CURLMOPT_TIMERDATA, loop);
    return 0;
}

/// Wakes the loop from any thread.
static inline void ccurl_event_loop_wake(ccurl_event_loop *loop) {
    uint64_t one = 1;
    ssize_t written = write(loop->wake, &one, sizeof one);
    (void)written;
}

/// Waits at most `longest_ms` (less when libcurl's timeout falls due sooner), then hands every
/// ready socket to libcurl and, when the timeout is due, the timeout too. Returns whether it
/// was woken (new work queued).
static inline int ccurl_event_loop_step(ccurl_event_loop *loop, CURLM *multi, int longest_ms) {
    int wait = longest_ms;
    if (loop->deadline >= 0) {
        int64_t left = loop->deadline - ccurl_monotonic_ms();
        wait = left <= 0 ? 0 : (left < longest_ms ? (int)left : longest_ms);
    }
    struct epoll_event events[128];
    int count = epoll_wait(loop->epoll, events, 128, wait);
    int woken = 0;
    int running = 0;
    for (int index = 0; index < count; index++) {
        int socket = events[index].data.fd;
        if (socket == loop->wake) {
            uint64_t value;
            ssize_t got = read(loop->wake, &value, sizeof value);
            (void)got;
            woken = 1;
            continue;
        }
        uint32_t ready = events[index].events;
        int bits = ((ready & EPOLLIN) ? CURL_CSELECT_IN : 0) | ((ready & EPOLLOUT) ? CURL_CSELECT_OUT : 0)
            | ((ready & (EPOLLERR | EPOLLHUP)) ? CURL_CSELECT_ERR : 0);
        curl_multi_socket_action(multi, socket, bits, &running);
    }
    if (loop->deadline >= 0 && loop->deadline <= ccurl_monotonic_ms()) {
        // The deadline stays until libcurl names the next one: it tells only of a change, and
        // when its own clock finds the timer not yet due it acts on nothing and says nothing,
        // so the timeout is handed to it again on the next step.
        curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
    }
    return woken;
}
