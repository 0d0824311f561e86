/*
 * pjproject build-time limits for Omnigate, a gateway that holds thousands of
 * calls. scripts/setup.sh copies this file to pjlib/include/pj/config_site.h
 * before building, and `make install` installs it with the other headers, so
 * the library and the headers Swift imports always agree. Changing it changes
 * the setup stamp, and the next setup rebuilds pjproject.
 *
 * Defaults that would break a gateway: PJSUA_MAX_CALLS is 4 (the fifth call
 * gets 486), PJ_IOQUEUE_MAX_HANDLES is 64 (each call leg holds an RTP and an
 * RTCP socket). The descriptor limit on the target machines is 20000.
 */

#define PJ_HAS_IPV6                     1
#define PJ_DEBUG                        0
#define PJ_OS_HAS_CHECK_STACK           0
#define PJ_SCANNER_USE_BITWISE          0
#define PJ_HAS_STRICMP_ALNUM            0

/* Calls and the sockets they hold: 4000 calls x (RTP + RTCP) + transports. */
#define PJSUA_MAX_CALLS                 4000
#define PJSUA_MAX_ACC                   64
#define PJ_IOQUEUE_MAX_HANDLES          16384
#define PJ_IOQUEUE_MAX_EVENTS_IN_SINGLE_POLL 64

/* Media: every call can be bridged, played to and recorded at once. */
#define PJSUA_MAX_CONF_PORTS            (2 * PJSUA_MAX_CALLS + 256)
#define PJSUA_MAX_PLAYERS               PJSUA_MAX_CALLS
#define PJSUA_MAX_RECORDERS             PJSUA_MAX_CALLS

/* Transactions and dialogs linger after a call (Timer J, 32 s): size the
 * tables for a few thousand calls a second. */
#define PJSIP_MAX_TSX_COUNT             ((256 * 1024) - 1)
#define PJSIP_MAX_DIALOG_COUNT          ((256 * 1024) - 1)
/* The timer heap starts small and doubles when it fills (pjlib's grow_heap);
 * the default sizes it for every transaction and dialog above at once, 84 MB
 * before the first call. */
#define PJSIP_MAX_TIMER_COUNT           32768
#define PJSIP_UDP_SO_SNDBUF_SIZE        (8 * 1024 * 1024)
#define PJSIP_UDP_SO_RCVBUF_SIZE        (8 * 1024 * 1024)
#define PJSIP_SAFE_MODULE               0

/* Message size: SIP messages up to 64 KB over TCP and TLS, and any UDP
 * datagram (long SMS, large SDP offers). Each TCP/TLS connection holds a
 * receive buffer of this size, which is why connections per source are
 * limited. An outgoing message gets a buffer this large only when it does not
 * fit in 4,000 bytes (patches/0001-tx-buffer-grows-on-demand.patch). */
#define PJSIP_MAX_PKT_LEN               65536

/* No video, no sound device: a server. */
#define PJMEDIA_HAS_VIDEO               0
#define PJSUA_HAS_VIDEO                 0
