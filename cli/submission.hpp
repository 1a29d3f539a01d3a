// Turns a message read on stdin into what the submit socket is given:
// envelope sender, recipients and data, with the sendmail conventions
// (-t, -f, -F, bare user names, a From: added when missing, Bcc: removed when
// the recipients come from the headers). Shared by "mailqctl submit" and
// sendmail mode.
// Trusts nothing in the message or the arguments: headers go through the
// spool/ parsers, and a display name cannot inject a header line.
#pragma once

#include <istream>
#include <optional>
#include <string>
#include <vector>

#include "spool/queue_types.hpp"
#include "spool/result.hpp"

namespace mailqd {

struct LocalIdentity {
    std::string user;      // the invoking Unix user
    std::string hostname;  // the domain for bare names
};

// getuid()'s name (or "uidN"), hostname as given.
LocalIdentity local_identity(std::string hostname);

struct SubmitRequest {
    std::optional<std::string> sender;     // -f; "" or "<>" is the null sender
    std::vector<std::string> recipients;   // from the command line
    bool recipients_from_headers = false;  // -t: To, Cc, Bcc (added to the command line's)
    bool sender_from_headers = false;      // no -f: Sender: else From: (mailqctl submit)
    bool add_from = false;                 // sendmail: From: added when missing
    bool lenient_headers = false;          // sendmail: a non-header line starts the body
    std::string full_name;                 // -F: the added From:'s display name
    MessageDsn dsn;                        // -R, -V (RFC 3461 RET, ENVID)
    DsnNotify notify;                      // -N: every recipient's NOTIFY
};

struct Submission {
    std::string sender;
    std::vector<std::string> recipients;
    std::string data;  // CRLF; Date and Message-ID are added by the daemon
};

// Errors are bad_message (65): a header that does not parse, an address that
// does not parse, no recipients at all.
Result<Submission> prepare_submission(std::string_view raw, const SubmitRequest& request,
                                      const LocalIdentity& me);

// Reads the message. dot_ends (sendmail without -i): a line holding only
// "." ends it, as sendmail does.
std::string read_message(std::istream& in, bool dot_ends);

// "user@host" for a bare "user"; anything with an @ is parsed as an address
// list ("a@b, Name <c@d>"). Error (bad_message) when it does not parse.
Result<std::vector<std::string>> parse_recipient_argument(std::string_view text, const std::string& hostname);

// The From: line (with CRLF) for an address and an optional display name:
// a quoted string, or RFC 2047 UTF-8 when it is not ASCII.
std::string make_from_header(const std::string& address, std::string_view full_name);

}  // namespace mailqd
