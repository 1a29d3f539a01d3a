// The DSN parameters of RFC 3461: which outcomes a sender wants to be told
// about (NOTIFY), how much of the message a bounce returns (RET), the
// sender's own transaction ID (ENVID) and a recipient's original address
// (ORCPT), with their text forms: xtext on the wire (section 4), plain words
// in the store. One parser for the submit door, the sendmail flags, the
// store and the relay client alike. Pure.
// Trusts nothing it parses: values are bounded, and a decoded ENVID or ORCPT
// is printable ASCII (section 4: it ends up in a DSN's header), so it cannot
// break a header line or an SMTP command.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace mailqd {

// RET: unspecified is "as the MTA likes" (mailqd: the header only).
enum class DsnRet { unspecified, full, hdrs };

// NOTIFY: absent (given = false) means the MTA's default, a DSN on failure
// only (RFC 3461 4.1); NEVER is given with none of the three set.
struct DsnNotify {
    bool given = false;
    bool success = false;
    bool failure = false;
    bool delay = false;

    bool never() const { return given && !success && !failure && !delay; }
    bool wants_failure() const { return !given || failure; }
    bool operator==(const DsnNotify&) const = default;
};

// What a message's envelope carries (MAIL FROM).
struct MessageDsn {
    DsnRet ret = DsnRet::unspecified;
    std::string envid;  // decoded; empty when not given
    bool operator==(const MessageDsn&) const = default;
};

// What one recipient carries (RCPT TO).
struct RecipientDsn {
    DsnNotify notify;
    std::string orcpt;  // decoded "addr-type;address" ("rfc822;a@b"); empty when not given
    bool operator==(const RecipientDsn&) const = default;
};

// RFC 3461 4.4: an ENVID is at most 100 characters; 4.2 bounds ORCPT at 500.
// Both are counted decoded, so what sendmail -V takes the door takes too.
inline constexpr std::size_t max_envid_length = 100;
inline constexpr std::size_t max_orcpt_length = 500;

// "NEVER" or a comma list of SUCCESS, FAILURE, DELAY, case-insensitive
// (repeats allowed, NEVER only alone). nullopt when bad. given is set.
std::optional<DsnNotify> parse_dsn_notify(std::string_view text);
// "NEVER", "SUCCESS,FAILURE,DELAY" (in that order, those set); "" when not given.
std::string to_string(const DsnNotify& notify);

// "FULL" or "HDRS", case-insensitive.
std::optional<DsnRet> parse_dsn_ret(std::string_view text);
// "FULL", "HDRS", "" for unspecified.
std::string_view to_string(DsnRet ret);

// Printable ASCII (space to tilde), not empty, at most max_envid_length.
bool valid_envid(std::string_view envid);
// "addr-type;address": an atom of letters, digits and '-', a ';', and a
// printable ASCII address, at most max_orcpt_length in all.
bool valid_orcpt(std::string_view orcpt);

// xtext (RFC 3461 4): '!'..'~' as themselves except '+' and '=', every
// other byte as "+XX" (upper-case hex).
std::string xtext_encode(std::string_view text);
// The reverse; nullopt when the text is not xtext (a byte outside '!'..'~',
// a raw '=', a '+' without two hex digits).
std::optional<std::string> xtext_decode(std::string_view xtext);

// The wire values: ENVID=xtext and ORCPT=addr-type;xtext, decoded and
// checked (valid_envid, valid_orcpt); nullopt when bad.
std::optional<std::string> parse_envid_param(std::string_view value);
std::optional<std::string> parse_orcpt_param(std::string_view value);
// And back: the value of ORCPT= for a decoded "addr-type;address".
std::string orcpt_param(std::string_view orcpt);

}  // namespace mailqd
