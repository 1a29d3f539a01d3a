// What a queued message looks like on the wire: the DATA payload (CRLF-clean,
// dot-stuffed, ending in CRLF.CRLF) and the envelope commands, and the
// reverse, a DATA payload as the submit door receives it. Pure code.
// Trusts nothing in the stored message: whatever bytes it holds, the payload
// cannot end DATA early or smuggle a command (a bare LF or CR becomes CRLF
// before dot-stuffing, so "\n.\n" is sent as "\r\n..\r\n").
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "spool/dsn_params.hpp"

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

// Receives a DATA payload (RFC 5321 4.1.1.4) in pieces as they arrive,
// without buffering lines: undoes dot-stuffing, stores CRLF line ends, and
// finds the end. A client that sends CRLF (decided by the caller from its
// commands) ends DATA only with CRLF "." CRLF; a bare LF or CR in its data
// is a line end like CRLF, as Postfix's smtpd_forbid_bare_newline =
// normalize has it, so "text\n.\nMAIL FROM:..." stays text inside the
// message instead of ending it (SMTP smuggling). A client that sends bare
// LFs throughout may end with LF "." LF. A line that is a lone "." but does
// not end the data is kept as ".".
class DataDecoder {
public:
    // RFC 5322 2.1.1: no header line longer than this (without CRLF).
    static constexpr std::size_t max_header_line = 998;

    explicit DataDecoder(bool crlf_client) : crlf_client_(crlf_client) {}

    // Decodes input onto *out (or drops it when out is null: past a limit,
    // the rest is read only to find the end). Returns the bytes consumed:
    // all of input, or up to and including the end marker once found (what
    // follows is the client's next command).
    std::size_t feed(std::string_view input, std::string* out);

    bool done() const { return done_; }
    // Some line of the header section (before the first empty line) was
    // longer than max_header_line.
    bool header_line_too_long() const { return header_too_long_; }

private:
    void end_line(bool proper, std::string* out);

    bool crlf_client_;
    bool done_ = false;
    bool line_start_ = true;   // the DATA command's own line end came before
    bool clean_start_ = true;  // the current line began after a line end that may precede the end marker
    bool dot_line_ = false;    // the current line is "." so far (its dot not yet written)
    bool pending_cr_ = false;  // a CR was the last byte: a CRLF, or a bare CR
    bool in_header_ = true;
    bool header_too_long_ = false;
    std::size_t line_length_ = 0;
};

struct MailParameters {
    bool size = false;  // server offered SIZE: send SIZE=size_value
    std::size_t size_value = 0;
    bool body_8bitmime = false;
    bool smtputf8 = false;
    // Only to a server that offered DSN: RET= and ENVID= (xtext) when set.
    MessageDsn dsn;
};

// "MAIL FROM:<a@b> SIZE=123 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=x" ("" sender: "<>").
std::string mail_from_command(std::string_view sender, const MailParameters& params);
// "RCPT TO:<a@b>", with " NOTIFY=... ORCPT=rfc822;xtext" for what dsn sets
// (only to a server that offered DSN).
std::string rcpt_to_command(std::string_view recipient, const RecipientDsn& dsn = {});

}  // namespace mailqd
