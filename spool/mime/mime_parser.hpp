// Reading MIME messages (RFC 2045-2047, 2231, 5322) as fetched into a
// Maildir: header fields with folding, encoded words, parameters, transfer
// encodings, and the multipart tree, with text converted to UTF-8.
// Pure (no I/O) and bounded: nesting depth, part count and header size are
// limited; beyond them the rest is kept undecoded. Trusts nothing in the
// message: malformed input (unterminated boundaries, bad base64, unknown
// charsets) is decoded as far as it goes and noted in `problems`, never
// thrown. Lines may end in LF (Maildir) or CRLF.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace mailqd {

constexpr std::size_t mime_max_depth = 20;
constexpr std::size_t mime_max_parts = 1000;
constexpr std::size_t mime_max_header_bytes = 1024 * 1024;

struct MimeField {
    std::string name;   // as written
    std::string value;  // unfolded raw value (line breaks removed), trimmed
};

// "type/subtype; a=b" split: value lowercased, parameter names lowercased,
// parameter values decoded to UTF-8 (RFC 2231, and encoded words inside
// quoted values, which many mailers write).
struct MimeParams {
    std::string value;
    std::map<std::string, std::string> params;

    std::string param(const std::string& name) const;  // "" when absent
};

struct MimePart {
    std::vector<MimeField> headers;
    std::string content_type = "text/plain";  // lowercase type/subtype
    MimeParams type;                          // the whole Content-Type
    std::string disposition;                  // lowercase; "" when absent
    std::string filename;                     // UTF-8; from filename= or name=
    std::string content_id;                   // without <>
    std::string charset;                      // lowercase; "" when not declared
    std::string transfer_encoding;            // lowercase; "" when absent
    std::string body;                         // leaf: bytes after transfer decoding
    std::vector<MimePart> children;           // multipart: the parts

    bool is_multipart() const { return content_type.rfind("multipart/", 0) == 0; }
    // First field with that name (case-insensitive), or nullptr.
    const MimeField* field(std::string_view name) const;
    // A leaf that is a file rather than the message's text: disposition
    // attachment, a file name, or a type that is neither text nor multipart.
    bool is_attachment() const;
    // A text leaf's body converted to UTF-8 with LF line ends.
    std::string text() const;
};

struct MimeMessage {
    MimePart root;
    std::vector<std::string> problems;  // what was malformed, for --json and tests
};

// Never throws (std::bad_alloc aside, which callers treat as fatal).
MimeMessage parse_mime(std::string_view raw);

// ---- header values (mime_header_decode.cpp) ----

// RFC 2047: encoded words (B and Q, any charset iconv knows) decoded to
// UTF-8; whitespace between adjacent encoded words dropped, and their bytes
// joined before conversion so a character split across words survives.
// Unencoded 8-bit text is taken as UTF-8, else Windows-1252.
std::string decode_header_text(std::string_view value);

// Base64 that decodes what it can: stray bytes dropped, padding repaired.
std::string base64_decode_lenient(std::string_view text);

// Content-Type / Content-Disposition values with RFC 2231 parameters
// (continuations name*0, name*1*, and charset'lang'%XX values).
MimeParams parse_mime_params(std::string_view value);

// ---- what a reader wants from a message (mime_parser.cpp) ----

// The leaves in document order (depth first).
std::vector<const MimePart*> mime_leaves(const MimePart& root);
// The first text/plain (resp. text/html) leaf that is not an attachment.
const MimePart* find_text_part(const MimePart& root, std::string_view content_type);
std::vector<const MimePart*> mime_attachments(const MimePart& root);

// ---- HTML to text (html_text.cpp) ----

// Readable text from HTML: script, style and head dropped, block elements
// become line breaks, list items "- ", entities decoded, whitespace
// collapsed. Not a renderer: a reading aid for `mailqctl inbox show`.
std::string html_to_text(std::string_view html);

}  // namespace mailqd
