// The body side of the MIME builder: the part tree chosen from what the
// draft holds, rendered with its Content-* header lines. Internal to
// mime_builder.cpp and its tests.
#pragma once

#include <string>

#include "spool/mime/mime_draft.hpp"
#include "spool/result.hpp"

namespace mailqd {

struct RenderedBody {
    std::string headers;  // Content-Type and Content-Transfer-Encoding lines (CRLF)
    std::string content;  // what follows the empty line
};

// Expects text, HTML and file names already checked (UTF-8, no control
// characters in names). Error (usage) for inline images without HTML.
Result<RenderedBody> render_body(const MimeDraft& draft);

}  // namespace mailqd
