// The submit door's command lines (RFC 5321 section 4.1, RFC 2033 LHLO,
// RFC 1870 SIZE, RFC 6152 8BITMIME, RFC 6531 SMTPUTF8, RFC 3461 DSN): one line in, a verb
// and its arguments out. Pure: no sockets, no state, so it is tested with a
// table. Reads lines from untrusted local clients: every input is bounded by
// the caller (the line reader) and nothing here throws on bad input.
// Address *syntax* (is "a@b" a plausible mailbox) is checked by the session
// with spool/message.hpp; this file only takes the path out of its brackets.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "spool/dsn_params.hpp"

namespace mailqd {

enum class SubmitVerb {
    ehlo,
    helo,
    lhlo,
    mail,
    rcpt,
    data,
    rset,
    noop,
    quit,
    vrfy,
    help,
    unknown,  // 500: not a command we know
};

enum class BodyType { unspecified, seven_bit, eight_bit_mime };

struct SubmitCommand {
    SubmitVerb verb = SubmitVerb::unknown;
    // EHLO/HELO/LHLO: the client's name. MAIL/RCPT: the address inside the
    // angle brackets (source route dropped; "" for MAIL FROM:<>).
    // VRFY/HELP/NOOP: the rest of the line, unchecked.
    std::string argument;
    // MAIL FROM parameters.
    std::optional<std::uint64_t> size;
    BodyType body = BodyType::unspecified;
    bool smtputf8 = false;
    MessageDsn dsn;  // RET and ENVID (decoded)
    // RCPT TO parameters: NOTIFY and ORCPT (decoded).
    RecipientDsn rcpt_dsn;
    // Not empty: the arguments are bad, reply 501 5.5.4 with this text.
    std::string error;
};

// Parses one command line (without its line ending). The verb is matched
// case-insensitively; "MAIL FROM: <a@b>" (space after the colon) and a bare
// "MAIL FROM:a@b" are tolerated, as Postfix does.
SubmitCommand parse_submit_command(std::string_view line);

std::string_view to_string(SubmitVerb verb);

}  // namespace mailqd
