// A small C interface to libphonenumber's C++ API (Debian libphonenumber-dev),
// for the store's identity rules: Swift calls these; only Timeline imports it.
#ifndef OMNIGATE_PHONE_NUMBERS_H
#define OMNIGATE_PHONE_NUMBERS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// What became of a number.
typedef enum {
    OMNIGATE_PHONE_OK = 0,
    /// libphonenumber's parse errors.
    OMNIGATE_PHONE_INVALID_COUNTRY_CODE = 1,
    OMNIGATE_PHONE_NOT_A_NUMBER = 2,
    OMNIGATE_PHONE_TOO_SHORT_AFTER_IDD = 3,
    OMNIGATE_PHONE_TOO_SHORT_NSN = 4,
    OMNIGATE_PHONE_TOO_LONG_NSN = 5,
    /// Parsed, but no number of its country has that length.
    OMNIGATE_PHONE_TOO_SHORT = 6,
    OMNIGATE_PHONE_TOO_LONG = 7,
    OMNIGATE_PHONE_INVALID_LENGTH = 8,
    /// The right length, but not in a range the country's numbering plan uses.
    OMNIGATE_PHONE_NOT_IN_PLAN = 9,
    /// `out` or `region` too small.
    OMNIGATE_PHONE_BUFFER = 10,
} omnigate_phone_status;

/// Parses `text` as written in `region` (ISO 3166-1 alpha-2, the country a national
/// number belongs to) and writes its E.164 form (`+4930123456`) to `e164`, the ISO
/// code of the number's own country to `number_region` (for a number in no range,
/// the main country of its calling code; "ZZ" when none), both NUL-terminated, and
/// its calling code to `calling_code`, also when the number is not valid (then as
/// far as it parsed).
omnigate_phone_status omnigate_phone_e164(const char *text, const char *region, char *e164, size_t e164_size,
                                          char *number_region, size_t number_region_size, int *calling_code);

/// 1 when libphonenumber knows `region` (such as "DE"), else 0.
int omnigate_phone_region_known(const char *region);

/// The country calling code of `region` (49 for "DE"), 0 when unknown.
int omnigate_phone_calling_code(const char *region);

#ifdef __cplusplus
}
#endif

#endif
