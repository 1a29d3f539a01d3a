// Parsing of SMTP replies and EHLO capabilities (see smtp_reply.hpp).
#include "spool/smtp_reply.hpp"

#include <algorithm>
#include <cctype>

#include "spool/text_sanitize.hpp"

namespace mailqd {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Length of a run of 1..3 digits at the start of text, 0 if none.
std::size_t digit_run(std::string_view text)
{
    std::size_t n = 0;
    while (n < text.size() && n < 4 && is_digit(text[n])) ++n;
    return n >= 1 && n <= 3 ? n : 0;
}

// Length of an RFC 3463 code "c.sss.ddd" at the start of text whose class
// matches the reply's, followed by a space or the end; 0 if there is none.
std::size_t enhanced_code_length(std::string_view text, int reply_code)
{
    if (text.size() < 5 || text[0] != static_cast<char>('0' + reply_code / 100) || text[1] != '.') return 0;
    std::size_t pos = 2;
    std::size_t subject = digit_run(text.substr(pos));
    if (subject == 0 || pos + subject >= text.size() || text[pos + subject] != '.') return 0;
    pos += subject + 1;
    std::size_t detail = digit_run(text.substr(pos));
    if (detail == 0) return 0;
    pos += detail;
    if (pos < text.size() && text[pos] != ' ') return 0;
    return pos;
}

std::string upper(std::string_view text)
{
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return out;
}

std::vector<std::string> split_words(std::string_view text)
{
    std::vector<std::string> words;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t end = text.find(' ', pos);
        if (end == std::string_view::npos) end = text.size();
        if (end > pos) words.emplace_back(text.substr(pos, end - pos));
        pos = end + 1;
    }
    return words;
}

}  // namespace

std::string SmtpReply::to_string() const
{
    std::string out = std::to_string(code);
    if (!enhanced.empty()) out += " " + enhanced;
    if (!text.empty()) out += " " + text;
    return out;
}

SmtpReplyParser::Status SmtpReplyParser::fail(std::string message)
{
    error_ = std::move(message);
    return Status::error;
}

SmtpReplyParser::Status SmtpReplyParser::feed(std::string_view line)
{
    if (line.size() > max_reply_line_length) return fail("reply line too long");
    if (reply_.lines.size() >= max_reply_lines) return fail("reply has too many lines");
    if (line.size() < 3 || !is_digit(line[0]) || !is_digit(line[1]) || !is_digit(line[2]) || line[0] < '2' ||
        line[0] > '5')
        return fail("malformed reply line: " + printable(line.substr(0, 80)));
    int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    char separator = line.size() > 3 ? line[3] : ' ';
    if (separator != ' ' && separator != '-')
        return fail("malformed reply line: " + printable(line.substr(0, 80)));
    if (!reply_.lines.empty() && code != reply_.code)
        return fail("reply code changed within a multi-line reply");
    reply_.code = code;

    std::string_view text = line.size() > 4 ? line.substr(4) : std::string_view{};
    if (std::size_t n = enhanced_code_length(text, code); n > 0) {
        if (reply_.lines.empty()) reply_.enhanced = std::string(text.substr(0, n));
        text.remove_prefix(std::min(text.size(), n + 1));
    }
    reply_.lines.push_back(printable(text));
    if (separator == '-') return Status::more;

    for (const auto& l : reply_.lines) {
        if (l.empty()) continue;
        if (!reply_.text.empty()) reply_.text += ' ';
        reply_.text += l;
    }
    return Status::done;
}

SmtpReply SmtpReplyParser::take()
{
    SmtpReply out = std::move(reply_);
    reset();
    return out;
}

void SmtpReplyParser::reset()
{
    reply_ = SmtpReply{};
    error_.clear();
}

bool EhloCapabilities::offers_auth(std::string_view mechanism) const
{
    return std::find(auth.begin(), auth.end(), upper(mechanism)) != auth.end();
}

EhloCapabilities parse_ehlo(const SmtpReply& reply)
{
    EhloCapabilities caps;
    for (std::size_t i = 1; i < reply.lines.size(); ++i) {
        std::vector<std::string> words = split_words(reply.lines[i]);
        if (words.empty()) continue;
        std::string keyword = upper(words[0]);
        if (keyword.rfind("AUTH=", 0) == 0) {  // old syntax: "AUTH=LOGIN PLAIN"
            words[0] = keyword.substr(5);
            keyword = "AUTH";
        } else {
            words.erase(words.begin());
        }
        if (keyword == "PIPELINING")
            caps.pipelining = true;
        else if (keyword == "STARTTLS")
            caps.starttls = true;
        else if (keyword == "8BITMIME")
            caps.eight_bit_mime = true;
        else if (keyword == "SMTPUTF8")
            caps.smtputf8 = true;
        else if (keyword == "DSN")
            caps.dsn = true;
        else if (keyword == "ENHANCEDSTATUSCODES")
            caps.enhanced_status_codes = true;
        else if (keyword == "SIZE") {
            std::uint64_t limit = 0;
            if (!words.empty() && !words[0].empty() && words[0].size() < 20 &&
                std::all_of(words[0].begin(), words[0].end(), is_digit))
                limit = std::stoull(words[0]);
            caps.size = limit;
        } else if (keyword == "AUTH") {
            for (const auto& w : words) {
                std::string mech = upper(w);
                if (!mech.empty() && !caps.offers_auth(mech)) caps.auth.push_back(mech);
            }
        }
    }
    return caps;
}

}  // namespace mailqd
