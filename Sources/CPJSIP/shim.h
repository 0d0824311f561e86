// pjproject was configured with autoconf; pkg-config passes these as -D flags,
// which SwiftPM drops for system libraries, so the headers Swift sees would
// otherwise take a different compat path than the library was built with.
#define PJ_AUTOCONF 1
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define PJ_IS_BIG_ENDIAN 1
#define PJ_IS_LITTLE_ENDIAN 0
#else
#define PJ_IS_BIG_ENDIAN 0
#define PJ_IS_LITTLE_ENDIAN 1
#endif
#include <pjsua-lib/pjsua.h>

#include <stddef.h>
// Swift does not import `pkt_info.packet` (a char array of PJSIP_MAX_PKT_LEN,
// too large for a tuple), so its offset comes from C.
static inline size_t omnigate_rdata_packet_offset(void) {
    return offsetof(pjsip_rx_data, pkt_info.packet);
}

// PJSIP_ERXOVERFLOW is a macro expression Swift cannot import.
static inline pj_status_t omnigate_status_rx_overflow(void) {
    return PJSIP_ERXOVERFLOW;
}

// PJSIP_EAUTHACCNOTFOUND is a macro expression Swift cannot import.
static inline pj_status_t omnigate_status_auth_account_not_found(void) {
    return PJSIP_EAUTHACCNOTFOUND;
}

// Adds TCP_NODELAY to a transport's socket options: SIP messages are small
// and each waits for its answer, so Nagle's coalescing only adds delay.
// (The options array is a tuple in Swift; the value must outlive the socket.)
static inline void omnigate_sockopt_nodelay(pj_sockopt_params *params) {
    static int on = 1;
    if (params->cnt >= PJ_MAX_SOCKOPT_PARAMS) return;
    params->options[params->cnt].level = pj_SOL_TCP();
    params->options[params->cnt].optname = pj_TCP_NODELAY();
    params->options[params->cnt].optval = &on;
    params->options[params->cnt].optlen = sizeof(on);
    params->cnt++;
}
