// RFC 5322 messages as the intake doors see them: line-ending
// normalisation, the header block, address lists, the envelope taken from
// headers, and the headers every queued message must carry.
// Reads text written by untrusted local users: every parser is bounded and
// returns an error value instead of throwing.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "spool/queue_types.hpp"
#include "spool/result.hpp"

namespace mailqd {

// LF, CRLF or a bare CR all become CRLF. A final line without an ending gets
// one.
std::string normalize_crlf(std::string_view text);
// True when normalize_crlf would return text unchanged: every line ends in
// CRLF and no CR or LF stands alone.
bool is_crlf_normal(std::string_view text);

struct HeaderField {
    std::string name;                // as written
    std::string value;               // unfolded (CRLF + WSP -> WSP), leading space trimmed
    std::size_t begin = 0, end = 0;  // byte range of the whole field in the message, incl. its CRLF
};

struct HeaderBlock {
    std::vector<HeaderField> fields;
    std::size_t body_offset = 0;  // first byte of the body (after the empty line)

    // First field with that name (case-insensitive), or nullptr.
    const HeaderField* find(std::string_view name) const;
    std::vector<const HeaderField*> find_all(std::string_view name) const;
};

// Parses the header block of a CRLF-normalised message. Errors (kind
// bad_message): a line that is neither a field, a continuation nor the end
// of the header; a field line longer than 998 octets; more than 1000 fields.
Result<HeaderBlock> parse_headers(std::string_view message);

// Addresses (addr-spec only, "local@domain") from an address-list header value:
// handles display names, quoted strings, comments, groups and angle brackets.
// Error (bad_message) if the value does not parse. An address without a
// domain ("root") is an error unless default_domain is given, which is then
// appended ("root@default_domain").
Result<std::vector<std::string>> parse_address_list(std::string_view value,
                                                    std::string_view default_domain = {});

// A mailbox with its display name, for code that writes headers (the MIME
// builder). display_name is unquoted and unescaped ("Doe, John"), words
// joined by single spaces; encoded words are left as written.
struct Mailbox {
    std::string display_name;
    std::string address;  // addr-spec
};
Result<std::vector<Mailbox>> parse_mailbox_list(std::string_view value, std::string_view default_domain = {});

// A single address as given on a command line or in MAIL FROM / RCPT TO:
// "a@b", "<a@b>", "Name <a@b>". Empty string for "<>" when allow_null.
Result<std::string> parse_mailbox(std::string_view text, bool allow_null = false,
                                  std::string_view default_domain = {});

// True if the address is a plausible addr-spec with no control characters.
bool valid_address(std::string_view address);

struct Envelope {
    std::string sender;
    std::vector<std::string> recipients;  // deduplicated, in header order
};

// Sender: Sender: else From: (first address; "" when neither has one, the
// caller decides what to use). Recipients: To:, Cc:, Bcc:, in the order of
// the fields, deduplicated (local part exact, domain case-insensitive).
// Error (bad_message) when there are no recipients or a field does not parse.
// default_domain qualifies addresses without a domain, as in parse_address_list.
Result<Envelope> envelope_from_headers(const HeaderBlock& headers, std::string_view default_domain = {});

struct PrepareOptions {
    std::string hostname;  // for Message-ID
    TimePoint now;
    bool remove_bcc = false;  // true when the envelope came from the headers
};

// Returns the message as it is queued: CRLF-normalised, Bcc: removed when
// asked, Date: and Message-ID: added at the top when missing. The daemon's
// Intake calls it, once, for every door. Takes raw by value: text that is
// already CRLF-clean (the SMTP doors, the spool door) is not copied again.
Result<std::string> prepare_for_queue(std::string raw, const PrepareOptions& options);

// Cuts every field called name (case-insensitive, with its continuation
// lines) out of message, whose header was parsed into headers; the rest
// stays exactly as it was written.
void remove_header_fields(std::string& message, const HeaderBlock& headers, std::string_view name);

// "Mon, 23 Nov 2026 08:00:00 +0000"
std::string rfc5322_date(TimePoint t);
// "<20261123080000.1A2B3C4D5E6F7A8B@hostname>" (64 random bits; "localhost"
// when hostname is empty)
std::string make_message_id(std::string_view hostname, TimePoint t);

}  // namespace mailqd
