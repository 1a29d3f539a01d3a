// What a queued message looks like on the wire: the DATA payload (CRLF-clean,
// dot-stuffed, ending in CRLF.CRLF) and the envelope commands. Pure functions.
// Trusts nothing in the stored message: whatever bytes it holds, the payload
// cannot end DATA early or smuggle a command (a bare LF or CR becomes CRLF
// before dot-stuffing, so "\n.\n" is sent as "\r\n..\r\n").
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mailqd {

// Every CRLF, bare CR and bare LF becomes CRLF; a line starting with "."
// gets another "."; the last line gets a CRLF if it has none; then ".\r\n".
// The whole string is one buffer, so the final "." leaves with the data.
std::string to_wire_data(std::string_view message);

// True if any byte has the high bit set (BODY=8BITMIME is then worth saying).
bool has_8bit(std::string_view text);

// True if the address can go inside <...> in a command: no control
// characters, spaces, or angle brackets.
bool wire_safe_address(std::string_view address);

struct MailParameters {
    bool size = false;  // server offered SIZE: send SIZE=size_value
    std::size_t size_value = 0;
    bool body_8bitmime = false;
    bool smtputf8 = false;
};

// "MAIL FROM:<a@b> SIZE=123 BODY=8BITMIME SMTPUTF8" ("" sender: "<>").
std::string mail_from_command(std::string_view sender, const MailParameters& params);
// "RCPT TO:<a@b>"
std::string rcpt_to_command(std::string_view recipient);

}  // namespace mailqd
