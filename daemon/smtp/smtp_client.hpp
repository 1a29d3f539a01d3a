// The outbound SMTP client: one Asio coroutine per session that connects to
// a relay, sets up TLS and AUTH, then delivers the messages a caller feeds it
// over that one connection, and reports per-recipient outcomes.
// Knows neither config nor store: the caller (the relay pool) fills
// SmtpClientOptions, owns the messages and records the outcomes, classifying
// them with classify() from smtp_classify.hpp.
// Trusts nothing the server sends (bounded, sanitised replies, a deadline on
// every read and write); trusts the caller's options and message views.
// The types it speaks in are in smtp_types.hpp.
#pragma once

#include <memory>

#include "daemon/net/asio.hpp"
#include "daemon/smtp/smtp_types.hpp"

namespace mailqd {

// Runs one session: connect, greeting, EHLO (HELO fallback), STARTTLS and
// EHLO again, AUTH, then up to max_messages messages pulled from source
// (RSET after a transaction that did not reach its end of data), QUIT. With
// PIPELINING a message's envelope leaves with the previous message's data,
// so a message costs one round trip; the session limit and abort() stop the
// pulling. Every network failure is a value in the result; nothing is
// thrown for it.
awaitable<SessionResult> run_smtp_session(SmtpClientOptions options, MessageSource source,
                                          MessageSink sink = {},
                                          std::shared_ptr<SmtpSessionControl> control = {});

}  // namespace mailqd
