// POP3 login choices and encodings: which mechanism `auth = auto` picks,
// the APOP digest (RFC 1939 section 7) and the SASL PLAIN initial response
// (RFC 4616, RFC 5034). Pure functions. The rule that matters: a password
// goes in clear text (USER/PASS, PLAIN) only over TLS or to loopback.
#pragma once

#include <string>
#include <string_view>

#include "daemon/pop3/pop3_reply.hpp"
#include "spool/config.hpp"
#include "spool/result.hpp"

namespace mailqd {

// auto: SASL PLAIN if offered, else USER/PASS (offered, or CAPA unknown),
// else APOP when the greeting had a timestamp; clear-text mechanisms only
// when cleartext_ok. An explicit choice is checked against the same rules.
// Never returns MailboxAuth::automatic.
Result<MailboxAuth> choose_pop3_auth(MailboxAuth wanted, const Pop3Capabilities& caps,
                                     bool has_apop_timestamp, bool cleartext_ok);

// Lower-case hex MD5 of timestamp + secret.
std::string apop_digest(std::string_view timestamp, std::string_view secret);

// base64("\0" user "\0" secret)
std::string sasl_plain_response(std::string_view user, std::string_view secret);

}  // namespace mailqd
