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
