#ifndef OMNIGATE_MICROHTTPD_SHIM_H
#define OMNIGATE_MICROHTTPD_SHIM_H
#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <microhttpd.h>

// libmicrohttpd's daemon is started with a variadic call Swift cannot make: this
// wrapper passes Omnigate's fixed set of options.

typedef enum MHD_Result (*omnigate_http_handler)(void *cls, struct MHD_Connection *connection, const char *url,
                                                 const char *method, const char *version, const char *upload_data,
                                                 size_t *upload_data_size, void **request);
typedef void (*omnigate_http_completed)(void *cls, struct MHD_Connection *connection, void **request,
                                        enum MHD_RequestTerminationCode code);

// A daemon on host:port (an IPv4 or IPv6 literal; port 0: the kernel picks), a thread per
// connection, at most `connection_limit` connections (`per_ip_limit` from one address), each
// closed after `timeout_seconds` idle. With a certificate and key (PEM text), HTTPS only.
// NULL when it cannot start (a bad address, the port in use, bad TLS material).
static inline struct MHD_Daemon *omnigate_http_start(const char *host, uint16_t port, const char *cert_pem,
                                                     const char *key_pem, unsigned int connection_limit,
                                                     unsigned int per_ip_limit, unsigned int timeout_seconds,
                                                     size_t memory_limit, omnigate_http_handler handler,
                                                     omnigate_http_completed completed, void *cls) {
    struct sockaddr_in v4;
    struct sockaddr_in6 v6;
    const struct sockaddr *address;
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ITC;
    memset(&v4, 0, sizeof v4);
    memset(&v6, 0, sizeof v6);
    if (inet_pton(AF_INET, host, &v4.sin_addr) == 1) {
        v4.sin_family = AF_INET;
        v4.sin_port = htons(port);
        address = (const struct sockaddr *)&v4;
    } else if (inet_pton(AF_INET6, host, &v6.sin6_addr) == 1) {
        v6.sin6_family = AF_INET6;
        v6.sin6_port = htons(port);
        address = (const struct sockaddr *)&v6;
        flags |= MHD_USE_IPv6;
    } else {
        return NULL;
    }
    if (cert_pem && key_pem) {
        return MHD_start_daemon(flags | MHD_USE_TLS, port, NULL, NULL, handler, cls,
                                MHD_OPTION_SOCK_ADDR, address,
                                MHD_OPTION_CONNECTION_LIMIT, connection_limit,
                                MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip_limit,
                                MHD_OPTION_CONNECTION_TIMEOUT, timeout_seconds,
                                MHD_OPTION_CONNECTION_MEMORY_LIMIT, memory_limit,
                                MHD_OPTION_NOTIFY_COMPLETED, completed, cls,
                                MHD_OPTION_HTTPS_MEM_CERT, cert_pem,
                                MHD_OPTION_HTTPS_MEM_KEY, key_pem,
                                MHD_OPTION_END);
    }
    return MHD_start_daemon(flags, port, NULL, NULL, handler, cls,
                            MHD_OPTION_SOCK_ADDR, address,
                            MHD_OPTION_CONNECTION_LIMIT, connection_limit,
                            MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip_limit,
                            MHD_OPTION_CONNECTION_TIMEOUT, timeout_seconds,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, memory_limit,
                            MHD_OPTION_NOTIFY_COMPLETED, completed, cls,
                            MHD_OPTION_END);
}

// The port the daemon listens on (the one the kernel picked for port 0).
static inline uint16_t omnigate_http_port(struct MHD_Daemon *daemon) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info ? info->port : 0;
}

// The client's address as text ("" when unknown).
static inline void omnigate_http_client(struct MHD_Connection *connection, char *out, size_t size) {
    out[0] = 0;
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!info || !info->client_addr) return;
    const struct sockaddr *sa = info->client_addr;
    if (sa->sa_family == AF_INET) inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)size);
    else if (sa->sa_family == AF_INET6) inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, (socklen_t)size);
}
#endif
