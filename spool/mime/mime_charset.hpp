// Text from the wire to UTF-8: iconv (glibc) from a declared charset, with
// fallbacks for charsets that are missing, unknown or wrong. Pure apart
// from iconv's tables; never throws; invalid sequences become U+FFFD.
// Trusts nothing in its input: it comes from mail anyone can send.
#pragma once

#include <string>
#include <string_view>

namespace mailqd {

// Converts bytes declared as `charset` to UTF-8.
// - empty, "us-ascii" or unknown charset: the bytes as they are when they
//   are valid UTF-8, else Windows-1252 (what mail clients assume);
// - a charset iconv knows: converted; undecodable bytes become U+FFFD;
// - labels are mapped to their usual supersets first, as browsers and
//   mail readers do (GB2312 -> GB18030, ISO-8859-1 -> Windows-1252,
//   Shift_JIS -> CP932, KS_C_5601-1987 -> CP949).
std::string to_utf8(std::string_view bytes, std::string_view charset);

// True when iconv can convert from this charset (after the label mapping).
bool charset_known(std::string_view charset);

}  // namespace mailqd
