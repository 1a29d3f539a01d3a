// The MIME tree (see mime_parser.hpp): header block, transfer decoding and
// multipart splitting, bounded by depth, part count and header size.
#include "spool/mime/mime_parser.hpp"

#include <cctype>
#include <cstring>

#include "spool/message.hpp"
#include "spool/message_text.hpp"
#include "spool/mime/mime_charset.hpp"
#include "spool/mime/mime_encoding.hpp"

namespace mailqd {

namespace {

struct Line {
    std::string_view text;  // without its line ending
    std::size_t next = 0;   // offset of the following line
};

Line line_at(std::string_view s, std::size_t at)
{
    const void* nl = std::memchr(s.data() + at, '\n', s.size() - at);
    std::size_t end = nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - s.data()) : s.size();
    std::size_t next = nl ? end + 1 : end;
    if (end > at && s[end - 1] == '\r') --end;
    return {s.substr(at, end - at), next};
}

class Parser {
public:
    explicit Parser(MimeMessage& message) : message_(message) {}

    void parse(std::string_view raw, MimePart& part, std::size_t depth);

private:
    std::size_t parse_header(std::string_view raw, MimePart& part);
    void describe(MimePart& part);
    void decode_leaf(std::string_view body, MimePart& part);
    void split_multipart(std::string_view body, MimePart& part, std::size_t depth);
    void problem(std::string text)
    {
        if (message_.problems.size() < 50) message_.problems.push_back(std::move(text));
    }

    MimeMessage& message_;
    std::size_t parts_ = 0;
};

// Fields until the empty line; returns the body's offset. A line that is
// neither a field nor a continuation (an mbox "From " line, garbage) is
// skipped, as readers do.
std::size_t Parser::parse_header(std::string_view raw, MimePart& part)
{
    std::size_t at = 0;
    while (at < raw.size()) {
        Line line = line_at(raw, at);
        if (line.text.empty()) return line.next;
        if (at > mime_max_header_bytes) {
            problem("header block over " + std::to_string(mime_max_header_bytes) + " bytes");
            return at;
        }
        at = line.next;
        if (is_wsp(line.text.front())) {
            if (!part.headers.empty()) part.headers.back().value += line.text;
            continue;
        }
        std::size_t colon = line.text.find(':');
        std::string_view name = trim_wsp(line.text.substr(0, colon == std::string_view::npos ? 0 : colon));
        if (name.empty() || name.find_first_of(" \t") != std::string_view::npos) continue;  // "From " lines
        part.headers.push_back({std::string(name), std::string(line.text.substr(colon + 1))});
    }
    return raw.size();
}

void Parser::describe(MimePart& part)
{
    for (auto& f : part.headers) f.value = std::string(trim_wsp(f.value));
    if (const MimeField* f = part.field("Content-Type")) {
        part.type = parse_mime_params(f->value);
        if (part.type.value.find('/') != std::string::npos)
            part.content_type = part.type.value;
        else
            problem("bad Content-Type: " + part.type.value);
    }
    part.charset = ascii_lowercase(part.type.param("charset"));
    part.filename = part.type.param("name");
    if (const MimeField* f = part.field("Content-Disposition")) {
        MimeParams d = parse_mime_params(f->value);
        part.disposition = d.value;
        if (!d.param("filename").empty()) part.filename = d.param("filename");
    }
    if (const MimeField* f = part.field("Content-Transfer-Encoding"))
        part.transfer_encoding = ascii_lowercase(trim_wsp(f->value));
    if (const MimeField* f = part.field("Content-ID")) {
        std::string_view id = trim_wsp(f->value);
        if (id.size() >= 2 && id.front() == '<' && id.back() == '>') id = id.substr(1, id.size() - 2);
        part.content_id = std::string(id);
    }
}

// Quoted-printable with LF or CRLF line ends; a stray "=" is kept as it is
// rather than losing the part.
std::string decode_qp(std::string_view body)
{
    std::string crlf = normalize_crlf(body);
    // normalize_crlf ends the last line; the part may not.
    if (!body.empty() && body.back() != '\n' && crlf.size() >= 2) crlf.resize(crlf.size() - 2);
    if (auto d = quoted_printable_decode(crlf)) return *d;
    std::string repaired;
    for (std::size_t i = 0; i < crlf.size(); ++i) {
        bool hex = i + 2 < crlf.size() && std::isxdigit(static_cast<unsigned char>(crlf[i + 1])) &&
                   std::isxdigit(static_cast<unsigned char>(crlf[i + 2]));
        bool soft = crlf.compare(i + 1, 2, "\r\n") == 0;
        repaired += (crlf[i] == '=' && !hex && !soft) ? std::string("=3D") : std::string(1, crlf[i]);
    }
    return quoted_printable_decode(repaired).value_or(std::string(body));
}

void Parser::decode_leaf(std::string_view body, MimePart& part)
{
    const std::string& cte = part.transfer_encoding;
    if (cte == "base64") {
        if (auto d = base64_decode(body)) {
            part.body = std::move(*d);
            return;
        }
        problem("bad base64 in a " + part.content_type + " part");
        part.body = base64_decode_lenient(body);
    } else if (cte == "quoted-printable") {
        part.body = decode_qp(body);
    } else {
        if (!cte.empty() && cte != "7bit" && cte != "8bit" && cte != "binary")
            problem("unknown Content-Transfer-Encoding " + cte);
        part.body = std::string(body);
    }
}

void Parser::split_multipart(std::string_view body, MimePart& part, std::size_t depth)
{
    std::string boundary = part.type.param("boundary");
    if (boundary.empty() || boundary.size() > 200) {
        problem("multipart without a usable boundary");
        part.content_type = "text/plain";
        decode_leaf(body, part);
        return;
    }
    std::string dash = "--" + boundary;
    std::size_t start = std::string_view::npos, at = 0;
    bool closed = false;
    while (at < body.size() && !closed) {
        Line line = line_at(body, at);
        std::string_view t = line.text;
        if (t.size() >= dash.size() && t.compare(0, dash.size(), dash) == 0) {
            std::string_view rest = t.substr(dash.size());
            bool close = rest.size() >= 2 && rest.compare(0, 2, "--") == 0;
            if (close) rest.remove_prefix(2);
            if (trim_wsp(rest).empty()) {
                // The line break before a delimiter belongs to the delimiter.
                if (start != std::string_view::npos) {
                    std::size_t end = at;
                    if (end > start && body[end - 1] == '\n') --end;
                    if (end > start && body[end - 1] == '\r') --end;
                    part.children.emplace_back();
                    parse(body.substr(start, end - start), part.children.back(), depth + 1);
                }
                start = line.next;
                closed = close;
            }
        }
        at = line.next;
        if (parts_ > mime_max_parts) return;
    }
    if (!closed) {
        problem("multipart boundary " + boundary + " not closed");
        if (start != std::string_view::npos && start < body.size()) {
            part.children.emplace_back();
            parse(body.substr(start), part.children.back(), depth + 1);
        }
    }
    if (part.children.empty()) problem("multipart with no parts");
}

}  // namespace

void Parser::parse(std::string_view raw, MimePart& part, std::size_t depth)
{
    if (++parts_ > mime_max_parts) {
        if (parts_ == mime_max_parts + 1) problem("more than " + std::to_string(mime_max_parts) + " parts");
        return;
    }
    std::size_t body_at = parse_header(raw, part);
    describe(part);
    std::string_view body = raw.substr(body_at);
    if (part.is_multipart() && depth < mime_max_depth) {
        split_multipart(body, part, depth);
        return;
    }
    if (part.is_multipart()) {
        problem("multipart nested deeper than " + std::to_string(mime_max_depth));
        part.content_type = "application/octet-stream";
    }
    decode_leaf(body, part);
}

const MimeField* MimePart::field(std::string_view name) const
{
    for (const auto& f : headers)
        if (iequals(f.name, name)) return &f;
    return nullptr;
}

bool MimePart::is_attachment() const
{
    if (is_multipart()) return false;
    if (disposition == "attachment" || !filename.empty()) return true;
    return content_type.rfind("text/", 0) != 0;
}

std::string MimePart::text() const
{
    std::string utf8 = to_utf8(body, charset);
    std::string out;
    out.reserve(utf8.size());
    for (std::size_t i = 0; i < utf8.size(); ++i)
        if (!(utf8[i] == '\r' && i + 1 < utf8.size() && utf8[i + 1] == '\n')) out += utf8[i];
    return out;
}

MimeMessage parse_mime(std::string_view raw)
{
    MimeMessage message;
    Parser(message).parse(raw, message.root, 0);
    return message;
}

std::vector<const MimePart*> mime_leaves(const MimePart& root)
{
    std::vector<const MimePart*> out;
    std::vector<const MimePart*> stack{&root};
    while (!stack.empty()) {
        const MimePart* p = stack.back();
        stack.pop_back();
        if (!p->is_multipart()) out.push_back(p);
        for (auto it = p->children.rbegin(); it != p->children.rend(); ++it) stack.push_back(&*it);
    }
    return out;
}

const MimePart* find_text_part(const MimePart& root, std::string_view content_type)
{
    for (const MimePart* p : mime_leaves(root))
        if (p->content_type == content_type && !p->is_attachment()) return p;
    return nullptr;
}

std::vector<const MimePart*> mime_attachments(const MimePart& root)
{
    std::vector<const MimePart*> out;
    for (const MimePart* p : mime_leaves(root))
        if (p->is_attachment()) out.push_back(p);
    return out;
}

}  // namespace mailqd
