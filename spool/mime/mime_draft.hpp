// What a MIME message is made from (see mime_builder.hpp): the parts of a
// draft, shared by the builder and its body renderer (mime_parts.hpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "spool/queue_types.hpp"

namespace mailqd {

struct MimeFile {
    std::string file_name;     // shown to the recipient (UTF-8, no directory)
    std::string data;          // the bytes, sent as base64
    std::string content_type;  // empty: content_type_for(file_name)
};

struct MimeDraft {
    std::string from;                      // "a@b" or "Name <a@b>"
    std::vector<std::string> to, cc, bcc;  // each an address list; Bcc only in the envelope
    std::string subject;
    std::optional<std::string> text;  // UTF-8, any line endings
    std::optional<std::string> html;  // UTF-8, any line endings
    std::vector<MimeFile> attachments;
    std::vector<MimeFile> inline_images;  // need html; referenced as "cid:" + content_id_for(name)
    std::vector<std::pair<std::string, std::string>> headers;  // extra fields, in order
    std::string hostname;  // Message-ID's right side; domain of bare names
    TimePoint now;
    std::uint64_t seed = 0;  // drives the boundaries
};

}  // namespace mailqd
