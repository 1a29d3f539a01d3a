// The part tree of a composed message and its rendering: leaves encoded
// (text as 7bit, quoted-printable or base64, files always base64 so their
// bytes survive any line-ending conversion), multiparts with boundaries
// checked against everything inside them.
#include <cctype>
#include <cstdio>
#include <optional>
#include <random>

#include "spool/message.hpp"
#include "spool/message_text.hpp"
#include "spool/mime/mime_builder.hpp"
#include "spool/mime/mime_encoding.hpp"
#include "spool/mime/mime_parts.hpp"

namespace mailqd {

namespace {

struct Part {
    std::string headers;     // Content-* lines; for a multipart, all but Content-Type
    std::string content;     // leaf: encoded body
    std::string multipart;   // "mixed", "alternative", "related"; empty for a leaf
    std::string type_param;  // multipart/related's type=
    std::vector<Part> children;
};

std::string encoding_line(BodyEncoding encoding)
{
    return "Content-Transfer-Encoding: " + std::string(to_string(encoding)) + "\r\n";
}

Part text_part(const std::string& text, std::string_view subtype)
{
    std::string crlf = normalize_crlf(text);
    BodyEncoding encoding = choose_text_encoding(crlf);
    Part p;
    p.headers =
        "Content-Type: text/" + std::string(subtype) + "; charset=utf-8\r\n" + encoding_line(encoding);
    p.content = encode_body(crlf, encoding);
    return p;
}

// "Content-Type: TYPE; [charset=utf-8;] name=..." folded.
std::string file_content_type(const MimeFile& file)
{
    std::string type =
        file.content_type.empty() ? std::string(content_type_for(file.file_name)) : file.content_type;
    std::vector<std::string> pieces{type + ";"};
    if (type.rfind("text/", 0) == 0 && valid_utf8(file.data)) pieces.push_back("charset=utf-8;");
    for (auto& p : parameter_pieces("name", file.file_name)) pieces.push_back(std::move(p));
    return fold_header("Content-Type", pieces);
}

Part file_part(const MimeFile& file, bool inline_image)
{
    Part p;
    std::vector<std::string> disposition{inline_image ? "inline;" : "attachment;"};
    for (auto& piece : parameter_pieces("filename", file.file_name)) disposition.push_back(std::move(piece));
    p.headers = file_content_type(file) + encoding_line(BodyEncoding::base64) +
                fold_header("Content-Disposition", disposition);
    if (inline_image) p.headers += "Content-ID: <" + content_id_for(file.file_name) + ">\r\n";
    p.content = base64_encode(file.data);
    return p;
}

Part multipart(std::string subtype, std::vector<Part> children)
{
    Part p;
    p.multipart = std::move(subtype);
    p.children = std::move(children);
    return p;
}

class Renderer {
public:
    explicit Renderer(std::uint64_t seed) : random_(seed) {}

    // Fills in the Content-Type of multiparts, bottom-up, and returns the
    // part's header lines and body.
    RenderedBody render(const Part& part)
    {
        if (part.multipart.empty()) return {part.headers, part.content};
        std::vector<RenderedBody> children;
        for (const auto& child : part.children) children.push_back(render(child));
        std::string boundary = fresh_boundary(children);
        std::string content;
        for (const auto& child : children)
            content += "--" + boundary + "\r\n" + child.headers + "\r\n" + child.content + "\r\n";
        content += "--" + boundary + "--\r\n";
        std::vector<std::string> pieces{"multipart/" + part.multipart + ";"};
        if (!part.type_param.empty()) pieces.push_back("type=\"" + part.type_param + "\";");
        pieces.push_back("boundary=\"" + boundary + "\"");
        return {fold_header("Content-Type", pieces) + part.headers, content};
    }

private:
    // "=_" never occurs in base64 or quoted-printable output; the check
    // covers 7bit text and nested multiparts too.
    std::string fresh_boundary(const std::vector<RenderedBody>& children)
    {
        for (;;) {
            char buf[40];
            std::snprintf(buf, sizeof buf, "=_mailqd_%016llx%08llx",
                          static_cast<unsigned long long>(random_()),
                          static_cast<unsigned long long>(random_() & 0xFFFFFFFF));
            std::string boundary = buf;
            bool clash = false;
            for (const auto& c : children)
                clash = clash || c.headers.find(boundary) != std::string::npos ||
                        c.content.find(boundary) != std::string::npos;
            if (!clash) return boundary;
        }
    }

    std::mt19937_64 random_;
};

// The text/HTML side: alternative and related as the draft asks.
std::optional<Part> main_part(const MimeDraft& draft)
{
    std::optional<Part> html;
    if (draft.html) html = text_part(*draft.html, "html");
    if (!draft.inline_images.empty()) {
        std::vector<Part> related{std::move(*html)};
        for (const auto& image : draft.inline_images) related.push_back(file_part(image, true));
        html = multipart("related", std::move(related));
        html->type_param = "text/html";
    }
    std::optional<Part> text;
    if (draft.text) text = text_part(*draft.text, "plain");
    if (text && html) return multipart("alternative", {std::move(*text), std::move(*html)});
    if (html) return html;
    return text;
}

}  // namespace

Result<RenderedBody> render_body(const MimeDraft& draft)
{
    if (!draft.inline_images.empty() && !draft.html)
        return make_error(ErrorKind::usage, "inline images need an HTML part to refer to them");
    std::optional<Part> body = main_part(draft);
    if (!draft.attachments.empty()) {
        std::vector<Part> mixed;
        if (body) mixed.push_back(std::move(*body));
        for (const auto& file : draft.attachments) mixed.push_back(file_part(file, false));
        body = multipart("mixed", std::move(mixed));
    }
    if (!body) body = text_part("", "plain");
    return Renderer(draft.seed).render(*body);
}

std::string content_id_for(std::string_view file_name)
{
    static constexpr std::string_view hex = "0123456789ABCDEF";
    std::string out;
    for (char c : file_name) {
        auto b = static_cast<unsigned char>(c);
        bool keep = b < 0x80 && b != '%' &&
                    (c == '.' || std::isalnum(b) ||
                     std::string_view("!#$&'*+-/=?^_`{|}~").find(c) != std::string_view::npos);
        if (keep)
            out += c;
        else
            out += {'%', hex[b >> 4], hex[b & 0xF]};
    }
    return out;
}

}  // namespace mailqd
