// MIME encodings used to compose messages (mailqctl send): base64 and
// quoted-printable bodies (RFC 2045), RFC 2047 encoded words for non-ASCII
// header text, RFC 2231 parameters for non-ASCII file names, and header
// folding under 78 columns. Pure functions: no I/O, no state.
// Inputs are trusted to be free of CR/LF where a header value is expected;
// the MIME builder checks that before calling.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailqd {

// ---- bodies (mime_encoding.cpp) ----

// Lines of line_length characters joined and ended by CRLF; line_length 0
// gives one line without CRLF (for header use).
std::string base64_encode(std::string_view data, std::size_t line_length = 76);
// Ignores whitespace and line breaks; nullopt on any other non-alphabet byte
// or bad padding.
std::optional<std::string> base64_decode(std::string_view text);

// Text mode: CRLF in the input is a hard line break, everything else is
// data. Encoded lines are at most 76 characters (soft breaks "=" CRLF);
// space and tab before a line end are encoded.
std::string quoted_printable_encode(std::string_view text);
std::optional<std::string> quoted_printable_decode(std::string_view text);

enum class BodyEncoding { seven_bit, quoted_printable, base64 };
std::string_view to_string(BodyEncoding encoding);  // "7bit", "quoted-printable", "base64"

// For CRLF text: 7bit when it is printable ASCII with lines of at most 78
// characters, quoted-printable when few bytes need escaping, else base64.
BodyEncoding choose_text_encoding(std::string_view text);
std::string encode_body(std::string_view data, BodyEncoding encoding);

// ---- headers (mime_header.cpp) ----

constexpr std::size_t header_line_limit = 78;

// "Name: p1 p2\r\n p3\r\n": pieces joined by single spaces, a fold (CRLF
// SP) replacing the space before a piece that would pass 78 columns.
std::string fold_header(std::string_view name, const std::vector<std::string>& pieces);

// RFC 2047 encoded words ("=?UTF-8?B?...?=" or "=?UTF-8?Q?...?="), each of
// at most max_word characters and holding whole UTF-8 characters. Q (with
// the set that is safe in phrases too) when at most a third of the bytes
// need escaping, so mostly-Latin text stays readable; else B.
std::vector<std::string> encoded_words(std::string_view utf8, std::size_t max_word = 66);

// An unstructured field (Subject, X-...): plain and folded at spaces when
// that keeps it exact and within the limit, else encoded words.
std::string unstructured_header(std::string_view name, std::string_view utf8_value);

// A display name as header pieces: atoms as they are, a quoted string when
// it holds specials, encoded words when it is not plain ASCII.
std::vector<std::string> display_name_pieces(std::string_view utf8_name);

// RFC 2231: "name*=UTF-8''%E4%B8%AD.txt" or continuations
// "name*0*=...;" "name*1*=..." for a long value, or name="value" when the
// value is short printable ASCII. Each piece fits a folded line; all but
// the last end in ';'.
std::vector<std::string> parameter_pieces(std::string_view name, std::string_view utf8_value);

}  // namespace mailqd
