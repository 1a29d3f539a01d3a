// Composes a MIME message from what "mailqctl send" is given: addresses,
// subject, text and/or HTML, attachments and inline images (issue 5).
// Pure: the caller reads the files and supplies the time and a seed for the
// boundaries; nothing here does I/O.
// Trusts nothing it is given: every header value is checked for line
// breaks and control characters (header injection), addresses go through
// the RFC 5322 parser, and non-ASCII text is encoded, never written raw.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "spool/mime/mime_draft.hpp"
#include "spool/result.hpp"

namespace mailqd {

struct ComposedMessage {
    std::string sender;                   // From's address
    std::vector<std::string> recipients;  // To, Cc, Bcc, deduplicated, in that order
    std::string data;                     // CRLF lines, no Bcc
};

// Structure: text -> text/plain; HTML -> text/html; both ->
// multipart/alternative; inline images -> the HTML inside multipart/related;
// attachments -> all of it inside multipart/mixed.
// Errors: bad_message for a value with CR, LF or control characters, text
// that is not UTF-8, or an address that does not parse; usage for no
// recipients, inline images without HTML, or an extra header the builder
// writes itself (From, To, Cc, Bcc, Subject, Date, Message-ID, MIME-Version,
// Content-*).
Result<ComposedMessage> compose_message(const MimeDraft& draft);

// mime_types.cpp: from the extension (case-insensitive); else
// application/octet-stream.
std::string_view content_type_for(std::string_view file_name);

// The Content-ID of an inline image, without angle brackets: the file name,
// with bytes outside atext and '.' as %XX (RFC 2392), so the HTML refers to
// it as "cid:" + this.
std::string content_id_for(std::string_view file_name);

}  // namespace mailqd
