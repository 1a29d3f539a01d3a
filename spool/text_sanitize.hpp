// The one sanitizer of text from outside (server and client replies,
// addresses, file names, config values, message headers) before it goes
// into a log line, a reply, a DSN, a file or onto a terminal. Each variant
// is named for where its result goes; all replace the same bytes: C0
// controls, DEL, and the C1 controls of UTF-8 (U+0080..U+009F, CSI among
// them), so no text can forge a log line or move a terminal's cursor.
// Other UTF-8 and 8-bit bytes are kept.
#pragma once

#include <cstddef>
#include <limits>
#include <string>
#include <string_view>

namespace mailqd {

inline constexpr std::size_t no_length_cap = std::numeric_limits<std::size_t>::max();

// For logs and terminals: each unsafe character becomes '?'. Longer than
// max_length bytes: cut there, "..." appended.
std::string printable(std::string_view text, std::size_t max_length = no_length_cap);

// For text that goes back to a peer or into a message on one line (an SMTP
// reply's text, a DSN's quoted reply, a spool door's error file): each
// unsafe character becomes a space, so words stay apart. Cut as printable().
std::string one_line(std::string_view text, std::size_t max_length = no_length_cap);

// True if printable() would change nothing (no length cap).
bool is_printable(std::string_view text);

}  // namespace mailqd
