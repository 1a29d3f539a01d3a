#include "daemon/pop3/pop3_reply.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "spool/text_sanitize.hpp"

namespace mailqd {
namespace {

std::string upper(std::string_view s)
{
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

std::string_view trim(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

// The first space-separated word of s; s keeps the rest.
std::string_view next_word(std::string_view& s)
{
    s = trim(s);
    auto end = s.find_first_of(" \t");
    std::string_view word = s.substr(0, end);
    s = end == std::string_view::npos ? std::string_view{} : s.substr(end);
    return word;
}

std::optional<std::uint64_t> parse_number(std::string_view word)
{
    std::uint64_t value = 0;
    if (word.empty()) return std::nullopt;
    auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), value);
    if (ec != std::errc{} || end != word.data() + word.size()) return std::nullopt;
    return value;
}

// Two numbers: "3 1200" (extra words after them are allowed by RFC 1939).
std::optional<std::pair<std::uint64_t, std::uint64_t>> parse_two_numbers(std::string_view s)
{
    auto a = parse_number(next_word(s));
    auto b = parse_number(next_word(s));
    if (!a || !b) return std::nullopt;
    return std::pair{*a, *b};
}

}  // namespace

std::optional<Pop3Status> parse_pop3_status(std::string_view line)
{
    Pop3Status status;
    std::string_view rest;
    if (line.substr(0, 3) == "+OK" && (line.size() == 3 || line[3] == ' ')) {
        status.ok = true;
        rest = line.substr(3);
    } else if (line.substr(0, 4) == "-ERR" && (line.size() == 4 || line[4] == ' ')) {
        rest = line.substr(4);
    } else {
        return std::nullopt;
    }
    rest = trim(rest);
    if (!status.ok && rest.starts_with('[')) {
        auto close = rest.find(']');
        if (close != std::string_view::npos) {
            status.code = printable(upper(rest.substr(1, close - 1)), 64);
            rest = trim(rest.substr(close + 1));
        }
    }
    status.text = printable(rest, 200);
    return status;
}

std::optional<std::string> apop_timestamp(std::string_view greeting)
{
    auto open = greeting.find('<');
    if (open == std::string_view::npos) return std::nullopt;
    auto close = greeting.find('>', open);
    if (close == std::string_view::npos) return std::nullopt;
    std::string_view stamp = greeting.substr(open, close - open + 1);
    // RFC 1939: a msg-id, so it has an "@"; it is hashed, so no spaces.
    if (stamp.find('@') == std::string_view::npos || stamp.find(' ') != std::string_view::npos)
        return std::nullopt;
    return std::string(stamp);
}

bool Pop3Capabilities::has_sasl(std::string_view mechanism) const
{
    return std::find(sasl.begin(), sasl.end(), upper(mechanism)) != sasl.end();
}

Pop3Capabilities parse_pop3_capa(std::string_view body)
{
    Pop3Capabilities caps;
    caps.known = true;
    for_each_line(body, [&](std::string_view line) {
        std::string_view rest = line;
        std::string word = upper(next_word(rest));
        if (word == "STLS")
            caps.stls = true;
        else if (word == "USER")
            caps.user = true;
        else if (word == "UIDL")
            caps.uidl = true;
        else if (word == "PIPELINING")
            caps.pipelining = true;
        else if (word == "RESP-CODES")
            caps.resp_codes = true;
        else if (word == "SASL")
            for (auto m = next_word(rest); !m.empty(); m = next_word(rest)) caps.sasl.push_back(upper(m));
    });
    return caps;
}

std::optional<std::pair<std::uint64_t, std::uint64_t>> parse_pop3_stat(std::string_view text)
{
    return parse_two_numbers(text);
}

std::optional<std::pair<std::uint64_t, std::uint64_t>> parse_pop3_list_line(std::string_view line)
{
    return parse_two_numbers(line);
}

std::optional<std::pair<std::uint64_t, std::string>> parse_pop3_uidl_line(std::string_view line)
{
    auto number = parse_number(next_word(line));
    std::string_view uidl = next_word(line);
    if (!number || uidl.empty() || uidl.size() > 70 || !trim(line).empty()) return std::nullopt;
    for (char c : uidl)
        if (c < 0x21 || c > 0x7e) return std::nullopt;
    return std::pair{*number, std::string(uidl)};
}

std::size_t MultilineDecoder::feed(std::string_view data, std::string& out, Step& step)
{
    std::size_t pos = 0;
    step = Step::more;
    while (pos < data.size()) {
        auto nl = data.find('\n', pos);
        if (nl == std::string_view::npos) {
            std::size_t rest = data.size() - pos;
            if (rest < kChunk) break;
            // A long line: decode its front, keeping a final CR that may be
            // half of the line ending. It cannot be the "." terminator.
            std::string_view chunk = data.substr(pos, data.back() == '\r' ? rest - 1 : rest);
            pos += chunk.size();
            if (at_line_start_ && chunk.front() == '.') chunk.remove_prefix(1);
            out.append(chunk);
            at_line_start_ = false;
        } else {
            std::string_view line = data.substr(pos, nl - pos);
            pos = nl + 1;
            if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
            if (at_line_start_ && line == ".") {
                step = Step::done;
                return pos;
            }
            if (at_line_start_ && !line.empty() && line.front() == '.') line.remove_prefix(1);
            out.append(line);
            out.push_back('\n');
            at_line_start_ = true;
        }
        if (out.size() > max_bytes_) {
            step = Step::too_big;
            return pos;
        }
    }
    return pos;
}

}  // namespace mailqd
