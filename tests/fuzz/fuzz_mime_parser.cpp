// libFuzzer target: reading fetched mail (spool/mime/mime_parser.cpp,
// mime_header_decode.cpp, mime_charset.cpp, html_text.cpp) as
// `mailqctl inbox` does: the MIME tree, each leaf's text, header text,
// parameters and HTML to text. Bounds of mime_parser.hpp are checked.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "spool/mime/mime_parser.hpp"

namespace {

std::size_t count_parts(const mailqd::MimePart& part, std::size_t depth)
{
    if (depth > mailqd::mime_max_depth + 1) std::abort();
    std::size_t n = 1;
    for (const auto& child : part.children) n += count_parts(child, depth + 1);
    return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    std::string_view raw(reinterpret_cast<const char*>(data), size);
    mailqd::MimeMessage message = mailqd::parse_mime(raw);
    if (count_parts(message.root, 0) > mailqd::mime_max_parts + 1) std::abort();
    for (const mailqd::MimePart* leaf : mailqd::mime_leaves(message.root)) {
        (void)leaf->text();
        leaf->is_attachment();
        for (const auto& field : leaf->headers) (void)mailqd::decode_header_text(field.value);
    }
    (void)mailqd::mime_attachments(message.root);
    if (const auto* html = mailqd::find_text_part(message.root, "text/html"))
        (void)mailqd::html_to_text(html->text());
    (void)mailqd::parse_mime_params(raw.substr(0, 2000));
    (void)mailqd::html_to_text(raw);
    return 0;
}
