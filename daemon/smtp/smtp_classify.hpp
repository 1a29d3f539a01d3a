// The one place that decides sent / deferred / failed for an SMTP attempt
// (Postfix's smtp_trouble.c). The session records what happened as an
// SmtpOutcome (a server reply, or a local failure, and the stage); the
// scheduler calls classify() and describe() and never reads reply codes.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "spool/queue_types.hpp"
#include "spool/smtp_reply.hpp"

namespace mailqd {

// Where in the conversation something happened.
enum class SmtpStage {
    connect,  // DNS, TCP connect, and the TLS handshake of implicit TLS
    greeting,
    ehlo,      // EHLO, or the HELO fallback
    starttls,  // the STARTTLS command and its handshake
    auth,
    mail,
    rcpt,
    data,         // the DATA command, and sending the message
    end_of_data,  // the reply to the final "."
    rset,
    quit,
};

// A failure that is not a server reply.
enum class SmtpFailure {
    none,             // the outcome is a server reply
    dns,              // the relay's name did not resolve
    connect,          // no address of the relay accepted a connection
    connection_lost,  // EOF, reset, or a write that failed
    timeout,          // an operation or the whole session took too long
    tls,              // TLS set-up or handshake failed (certificate problems)
    protocol,         // the server said something that is not SMTP
    policy,           // we refused: STARTTLS not offered, AUTH over plaintext, ...
    unsendable,       // this message can never go to this relay (too large, bad address)
};

struct SmtpOutcome {
    SmtpStage stage = SmtpStage::connect;
    SmtpFailure failure = SmtpFailure::none;
    std::optional<SmtpReply> reply;  // set when failure == none
    std::string detail;              // what went wrong locally, when failure != none
};

SmtpOutcome reply_outcome(SmtpStage stage, SmtpReply reply);
SmtpOutcome failure_outcome(SmtpStage stage, SmtpFailure failure, std::string detail);

// 2xx to RCPT and to end-of-data: sent. 5xx to MAIL, RCPT, DATA or
// end-of-data, or a message this relay can never take: failed. Everything
// else is deferred: 4xx, lost connections, timeouts, TLS, DNS, and also a 5xx
// at greeting, EHLO, STARTTLS or AUTH, because those say the relay (or our
// configuration of it) is broken, not the message (Postfix defers these too:
// smtp_skip_5xx_greeting, smtp_sasl_auth_soft_bounce).
RecipientState classify(const SmtpOutcome& outcome);

// One line for logs and the store's last_reply: the server's reply
// ("451 4.3.0 try later") or the local reason. A connection lost after the
// final "." was sent says the message may have been delivered.
std::string describe(const SmtpOutcome& outcome);

std::string_view to_string(SmtpStage stage);      // "connect", ..., "end-of-data"
std::string_view to_string(SmtpFailure failure);  // "none", "dns", "connection-lost", ...

}  // namespace mailqd
