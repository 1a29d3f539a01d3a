// "sendmail -bs": SMTP on stdin and stdout (Symfony Mailer's and Laravel's
// default). Not a second SMTP server: the conversation is relayed byte for
// byte to the daemon's submit socket, so the client talks to the submit
// door's own session code (DESIGN.md section 3.1), the daemon sees this
// process's credentials (SO_PEERCRED) as for any other submitter, and a
// 250 after DATA means the message is committed.
// Trusts nothing on either side: it keeps no state of the conversation
// beyond the greeting's code; the daemon's timeouts bound a stalled client.
#pragma once

#include <filesystem>

#include "spool/result.hpp"

namespace mailqd {

// Relays until the daemon ends the session (QUIT, timeout, refusal) or the
// client's input ends and the daemon has answered what it had. Errors: the
// socket cannot be reached (69/77; a "421" line is written to the client
// first so it sees an SMTP failure, not silence); the greeting refused this
// user (554: permission, 77) or was a 421 (temporary, 75).
Status relay_smtp_session(const std::filesystem::path& socket, int client_in, int client_out);

}  // namespace mailqd
