// A blocking SMTP client for mailqd's submit socket (DESIGN.md section 3.1),
// used by "mailqctl submit", sendmail mode and "mailqctl send": connect,
// EHLO, MAIL FROM, RCPT TO each, DATA (dot-stuffed, CRLF), and the queue ID
// from "250 2.0.0 Ok: queued as ID". Replies, EHLO and the DATA payload are
// the daemon's own wire format (spool/smtp_reply.hpp, spool/smtp_data.hpp).
// Trusts nothing the server sends: replies are bounded and their text is
// sanitised before it becomes an error message.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "spool/dsn_params.hpp"
#include "spool/result.hpp"

namespace mailqd {

struct SubmitClientOptions {
    std::string helo = "localhost";
    std::chrono::seconds timeout{300};  // per reply
    // What the envelope asks of DSNs (sendmail -N -R -V): RET and ENVID on
    // MAIL, NOTIFY on every RCPT, when set and the daemon offers DSN.
    MessageDsn dsn;
    DsnNotify notify;
};

// Submits one message and returns its queue ID. sender "" is the null sender.
// Errors: cannot connect -> unavailable (69) or permission (77); any 4xx ->
// temporary (75); a 5xx to MAIL, RCPT or DATA -> bad_message (65) with the
// server's text; a broken conversation -> unavailable.
Result<std::string> submit_message(const std::filesystem::path& socket, const std::string& sender,
                                   const std::vector<std::string>& recipients, std::string_view data,
                                   const SubmitClientOptions& options = {});

// "ID" from "2.0.0 Ok: queued as ID" (the text after the code); empty if the
// reply does not name one.
std::string queue_id_from_reply(std::string_view text);

}  // namespace mailqd
