// Line endings, the header block, and the Date / Message-ID values of
// RFC 5322 messages. Input comes from untrusted local users: lines and field
// counts are bounded and every failure is a bad_message value naming the line.
#include "spool/message.hpp"

#include <sys/random.h>

#include <cstdio>
#include <ctime>
#include <optional>
#include <random>

#include "spool/message_text.hpp"

namespace mailqd {

namespace {

constexpr std::size_t max_line_octets = 998;  // RFC 5322 section 2.1.1
constexpr std::size_t max_fields = 1000;

Error header_error(std::size_t line_no, std::string_view what)
{
    return make_error(ErrorKind::bad_message,
                      "line " + std::to_string(line_no) + " of the header " + std::string(what));
}

// field-name = 1*ftext (printable ASCII except ':'). Whitespace before the
// colon is the obsolete form (RFC 5322 section 4.5) and is accepted.
std::optional<std::string_view> field_name(std::string_view line)
{
    auto colon = line.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    std::string_view name = line.substr(0, colon);
    while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
    if (name.empty()) return std::nullopt;
    for (char c : name) {
        auto u = static_cast<unsigned char>(c);
        if (u < 33 || u > 126) return std::nullopt;
    }
    return name;
}

}  // namespace

// Line by line with memchr rather than char by char: every message taken in
// passes here (4 KB of mostly CRLF text per submission).
std::string normalize_crlf(std::string_view text)
{
    std::string out;
    out.reserve(text.size() + text.size() / 32 + 2);
    // Inside a line (up to the LF, less the CR just before it) every CR is a
    // bare one and becomes CRLF too.
    auto append_line = [&out](std::string_view line) {
        for (std::size_t cr; (cr = line.find('\r')) != std::string_view::npos; line.remove_prefix(cr + 1)) {
            out.append(line.substr(0, cr));
            out += "\r\n";
        }
        out.append(line);
    };
    while (!text.empty()) {
        const std::size_t lf = text.find('\n');
        if (lf == std::string_view::npos) {
            append_line(text);
            break;
        }
        append_line(text.substr(0, lf > 0 && text[lf - 1] == '\r' ? lf - 1 : lf));
        out += "\r\n";
        text.remove_prefix(lf + 1);
    }
    if (!out.empty() && out.back() != '\n') out += "\r\n";
    return out;
}

bool is_crlf_normal(std::string_view text)
{
    if (text.empty()) return true;
    if (!text.ends_with("\r\n")) return false;
    for (std::size_t i = 0; (i = text.find_first_of("\r\n", i)) != std::string_view::npos; i += 2) {
        if (text[i] == '\n' || i + 1 == text.size() || text[i + 1] != '\n') return false;
    }
    return true;
}

const HeaderField* HeaderBlock::find(std::string_view name) const
{
    for (const auto& f : fields)
        if (iequals(f.name, name)) return &f;
    return nullptr;
}

std::vector<const HeaderField*> HeaderBlock::find_all(std::string_view name) const
{
    std::vector<const HeaderField*> out;
    for (const auto& f : fields)
        if (iequals(f.name, name)) out.push_back(&f);
    return out;
}

Result<HeaderBlock> parse_headers(std::string_view message)
{
    HeaderBlock block;
    std::size_t pos = 0;
    std::size_t line_no = 0;
    block.body_offset = message.size();  // a message that is all header
    while (pos < message.size()) {
        ++line_no;
        std::size_t eol = message.find("\r\n", pos);
        std::size_t line_end = eol == std::string_view::npos ? message.size() : eol;
        std::size_t next = eol == std::string_view::npos ? message.size() : eol + 2;
        std::string_view line = message.substr(pos, line_end - pos);
        if (line.empty()) {
            block.body_offset = next;
            break;
        }
        if (line.size() > max_line_octets) return header_error(line_no, "is longer than 998 octets");
        if (line.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos)
            return header_error(line_no, "contains a bare CR, LF or NUL");
        if (is_wsp(line.front())) {
            if (block.fields.empty())
                return header_error(line_no, "is a continuation line with no field before it");
            block.fields.back().value += line;  // CRLF + WSP unfolds to WSP
            block.fields.back().end = next;
        } else {
            auto name = field_name(line);
            if (!name) return header_error(line_no, "is not a field");
            if (block.fields.size() == max_fields)
                return make_error(ErrorKind::bad_message, "the header has more than 1000 fields");
            HeaderField field;
            field.name = std::string(*name);
            field.value = std::string(line.substr(line.find(':') + 1));
            field.begin = pos;
            field.end = next;
            block.fields.push_back(std::move(field));
        }
        pos = next;
    }
    for (auto& f : block.fields) f.value = std::string(trim_wsp(f.value));
    return block;
}

std::string rfc5322_date(TimePoint t)
{
    static constexpr const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    std::time_t tt = Clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday,
                  months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return buf;
}

std::string make_message_id(std::string_view hostname, TimePoint t)
{
    std::uint64_t random = 0;
    if (getrandom(&random, sizeof random, 0) != static_cast<ssize_t>(sizeof random)) {
        std::random_device device;
        random = (static_cast<std::uint64_t>(device()) << 32) ^ device();
    }
    std::time_t tt = Clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d%02d%02d%02d%02d%02d.%016llX", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<unsigned long long>(random));
    return "<" + std::string(buf) + "@" + std::string(hostname.empty() ? "localhost" : hostname) + ">";
}

}  // namespace mailqd
