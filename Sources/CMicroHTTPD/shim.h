// libmicrohttpd for Swift: MHD_start_daemon, MHD_get_connection_info and MHD_get_daemon_info
// are variadic, so the daemon's settings travel in a struct and each lookup gets a typed function.
#pragma once
#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <microhttpd.h>

/// What `cmhd_start` needs to start a daemon.
struct cmhd_settings {
    /// An IPv4 (`struct sockaddr_in`) or IPv6 (`struct sockaddr_in6`) address to listen on.
    const struct sockaddr *address;
    int ipv6;
    /// Bytes of memory per connection: request line and headers must fit.
    size_t connection_memory_limit;
    unsigned int connection_limit;
    /// 0: no limit per client address.
    unsigned int per_ip_connection_limit;
    unsigned int connection_timeout_seconds;
    /// PEM texts for HTTPS (GnuTLS); both NULL for plain HTTP.
    const char *tls_key_pem;
    const char *tls_certificate_pem;
};

/// Hands the path and query arguments to the application exactly as the client sent them, so
/// that percent-encoding is decoded (and refused when malformed) in one place, by the application.
static inline size_t cmhd_keep_escaped(void *context, struct MHD_Connection *connection, char *text) {
    (void)context; (void)connection;
    return strlen(text);
}

/// Starts a daemon: one thread per connection (a handler may block without stalling others),
/// polled with poll(2). Returns NULL when it cannot start (address in use, bad TLS key...).
static inline struct MHD_Daemon *cmhd_start(const struct cmhd_settings *settings,
                                            MHD_AccessHandlerCallback handler, void *handler_context,
                                            MHD_RequestCompletedCallback completed, void *completed_context) {
    unsigned int flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
    if (settings->ipv6) flags |= MHD_USE_IPv6;
    uint16_t port = 0;
    if (settings->ipv6) port = ntohs(((const struct sockaddr_in6 *)settings->address)->sin6_port);
    else port = ntohs(((const struct sockaddr_in *)settings->address)->sin_port);
    if (settings->tls_key_pem != NULL && settings->tls_certificate_pem != NULL) {
        return MHD_start_daemon(flags | MHD_USE_TLS, port, NULL, NULL, handler, handler_context,
                                MHD_OPTION_SOCK_ADDR, settings->address,
                                MHD_OPTION_CONNECTION_MEMORY_LIMIT, settings->connection_memory_limit,
                                MHD_OPTION_CONNECTION_LIMIT, settings->connection_limit,
                                MHD_OPTION_PER_IP_CONNECTION_LIMIT, settings->per_ip_connection_limit,
                                MHD_OPTION_CONNECTION_TIMEOUT, settings->connection_timeout_seconds,
                                MHD_OPTION_NOTIFY_COMPLETED, completed, completed_context,
                                MHD_OPTION_UNESCAPE_CALLBACK, cmhd_keep_escaped, NULL,
                                MHD_OPTION_HTTPS_MEM_KEY, settings->tls_key_pem,
                                MHD_OPTION_HTTPS_MEM_CERT, settings->tls_certificate_pem,
                                MHD_OPTION_HTTPS_PRIORITIES, "SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2",
                                MHD_OPTION_END);
    }
    return MHD_start_daemon(flags, port, NULL, NULL, handler, handler_context,
                            MHD_OPTION_SOCK_ADDR, settings->address,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, settings->connection_memory_limit,
                            MHD_OPTION_CONNECTION_LIMIT, settings->connection_limit,
                            MHD_OPTION_PER_IP_CONNECTION_LIMIT, settings->per_ip_connection_limit,
                            MHD_OPTION_CONNECTION_TIMEOUT, settings->connection_timeout_seconds,
                            MHD_OPTION_NOTIFY_COMPLETED, completed, completed_context,
                            MHD_OPTION_UNESCAPE_CALLBACK, cmhd_keep_escaped, NULL,
                            MHD_OPTION_END);
}

/// The port the daemon listens on (the one the system chose when asked for port 0), or 0.
static inline uint16_t cmhd_bound_port(struct MHD_Daemon *daemon) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info == NULL ? 0 : info->port;
}

/// The client's address as text (`127.0.0.1`, `::1`) into `buffer`; 0 on success.
static inline int cmhd_client_address(struct MHD_Connection *connection, char *buffer, socklen_t length) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (info == NULL || info->client_addr == NULL) return -1;
    const struct sockaddr *address = info->client_addr;
    if (address->sa_family == AF_INET) {
        return inet_ntop(AF_INET, &((const struct sockaddr_in *)address)->sin_addr, buffer, length) == NULL ? -1 : 0;
    }
    if (address->sa_family == AF_INET6) {
        return inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)address)->sin6_addr, buffer, length) == NULL ? -1 : 0;
    }
    return -1;
}

/// Whether this libmicrohttpd was built with TLS (GnuTLS).
static inline int cmhd_supports_tls(void) { return MHD_is_feature_supported(MHD_FEATURE_TLS) == MHD_YES; }
