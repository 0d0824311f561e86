// libphonenumber behind the C interface of include/CPhoneNumbers.h. The parsing
// and the numbering plans are libphonenumber's; this only copies results out.
#include "CPhoneNumbers.h"

#include <phonenumbers/phonenumberutil.h>
#include <cstring>
#include <set>
#include <string>

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

namespace {

bool copy(const std::string &value, char *out, size_t size) {
    if (out == nullptr || size == 0) return false;
    if (value.size() + 1 > size) {
        out[0] = '\0';
        return false;
    }
    std::memcpy(out, value.c_str(), value.size() + 1);
    return true;
}

}  // namespace

extern "C" omnigate_phone_status omnigate_phone_e164(const char *text, const char *region, char *e164, size_t e164_size,
                                                     char *number_region, size_t number_region_size, int *calling_code) {
    const PhoneNumberUtil *util = PhoneNumberUtil::GetInstance();
    if (e164 != nullptr && e164_size > 0) e164[0] = '\0';
    if (number_region != nullptr && number_region_size > 0) number_region[0] = '\0';
    if (calling_code != nullptr) *calling_code = 0;
    PhoneNumber number;
    switch (util->Parse(text, region, &number)) {
    case PhoneNumberUtil::NO_PARSING_ERROR: break;
    case PhoneNumberUtil::INVALID_COUNTRY_CODE_ERROR: return OMNIGATE_PHONE_INVALID_COUNTRY_CODE;
    case PhoneNumberUtil::TOO_SHORT_AFTER_IDD: return OMNIGATE_PHONE_TOO_SHORT_AFTER_IDD;
    case PhoneNumberUtil::TOO_SHORT_NSN: return OMNIGATE_PHONE_TOO_SHORT_NSN;
    case PhoneNumberUtil::TOO_LONG_NSN: return OMNIGATE_PHONE_TOO_LONG_NSN;
    default: return OMNIGATE_PHONE_NOT_A_NUMBER;
    }
    std::string formatted, own;
    util->Format(number, PhoneNumberUtil::E164, &formatted);
    util->GetRegionCodeForNumber(number, &own);
    if (own.empty() || own == "ZZ") util->GetRegionCodeForCountryCode(number.country_code(), &own);
    if (calling_code != nullptr) *calling_code = number.country_code();
    if (!copy(formatted, e164, e164_size) || !copy(own, number_region, number_region_size)) return OMNIGATE_PHONE_BUFFER;
    switch (util->IsPossibleNumberWithReason(number)) {
    case PhoneNumberUtil::IS_POSSIBLE: break;
    case PhoneNumberUtil::INVALID_COUNTRY_CODE: return OMNIGATE_PHONE_INVALID_COUNTRY_CODE;
    case PhoneNumberUtil::TOO_SHORT: return OMNIGATE_PHONE_TOO_SHORT;
    case PhoneNumberUtil::TOO_LONG: return OMNIGATE_PHONE_TOO_LONG;
    default: return OMNIGATE_PHONE_INVALID_LENGTH;
    }
    return util->IsValidNumber(number) ? OMNIGATE_PHONE_OK : OMNIGATE_PHONE_NOT_IN_PLAN;
}

extern "C" int omnigate_phone_region_known(const char *region) {
    const PhoneNumberUtil *util = PhoneNumberUtil::GetInstance();
    std::set<std::string> regions;
    util->GetSupportedRegions(&regions);
    return regions.count(region) > 0 ? 1 : 0;
}

extern "C" int omnigate_phone_calling_code(const char *region) {
    return PhoneNumberUtil::GetInstance()->GetCountryCodeForRegion(region);
}
