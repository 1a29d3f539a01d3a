// Header-side MIME encodings: folding under 78 columns, RFC 2047 encoded
// words, display names and RFC 2231 parameters. Every function keeps the
// text exact: what a decoder reads back is the UTF-8 it was given.
#include <algorithm>

#include "spool/mime/mime_encoding.hpp"

namespace mailqd {

namespace {

constexpr std::string_view hex_digits = "0123456789ABCDEF";
constexpr std::size_t word_overhead = 12;  // "=?UTF-8?Q?" + "?="

std::string percent(unsigned char b) { return {'%', hex_digits[b >> 4], hex_digits[b & 0xF]}; }

// UTF-8 text cut into characters, so no encoded word or parameter section
// splits one. A stray byte counts as a character of its own.
std::vector<std::string_view> utf8_chars(std::string_view s)
{
    std::vector<std::string_view> out;
    for (std::size_t i = 0; i < s.size();) {
        auto c = static_cast<unsigned char>(s[i]);
        std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 1;
        n = std::min(n, s.size() - i);
        out.push_back(s.substr(i, n));
        i += n;
    }
    return out;
}

// The Q set that RFC 2047 section 5 (3) allows even inside a phrase.
bool q_safe(unsigned char b)
{
    return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') || b == '!' ||
           b == '*' || b == '+' || b == '-' || b == '/';
}

std::string q_encode(std::string_view bytes)
{
    std::string out;
    for (char c : bytes) {
        auto b = static_cast<unsigned char>(c);
        if (b == ' ')
            out += '_';
        else if (q_safe(b))
            out += c;
        else
            out += {'=', hex_digits[b >> 4], hex_digits[b & 0xF]};
    }
    return out;
}

std::size_t b_length(std::size_t bytes) { return (bytes + 2) / 3 * 4; }

bool use_q(std::string_view s)
{
    std::size_t escaped = std::count_if(
        s.begin(), s.end(), [](char c) { return c != ' ' && !q_safe(static_cast<unsigned char>(c)); });
    return escaped * 3 <= s.size();
}

std::string finish_word(bool q, std::string_view bytes)
{
    return q ? "=?UTF-8?Q?" + q_encode(bytes) + "?=" : "=?UTF-8?B?" + base64_encode(bytes, 0) + "?=";
}

bool is_atext(unsigned char b)
{
    return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') ||
           std::string_view("!#$%&'*+-/=?^_`{|}~").find(static_cast<char>(b)) != std::string_view::npos;
}

// Printable ASCII that a decoder reads back unchanged when split at single
// spaces and folded: no "=?" that could pass for an encoded word, no
// leading, trailing or doubled spaces, no word too long for a line.
bool plain_foldable(std::string_view s, std::size_t max_word)
{
    if (s.find("=?") != std::string_view::npos || s.find("  ") != std::string_view::npos) return false;
    if (!s.empty() && (s.front() == ' ' || s.back() == ' ')) return false;
    std::size_t word = 0;
    for (char c : s) {
        auto b = static_cast<unsigned char>(c);
        if (b < 0x20 || b > 0x7E) return false;
        word = b == ' ' ? 0 : word + 1;
        if (word > max_word) return false;
    }
    return true;
}

std::vector<std::string> split_spaces(std::string_view s)
{
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos <= s.size() && !s.empty()) {
        std::size_t sp = s.find(' ', pos);
        if (sp == std::string_view::npos) sp = s.size();
        out.emplace_back(s.substr(pos, sp - pos));
        pos = sp + 1;
    }
    return out;
}

bool attr_char(unsigned char b)
{
    return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') ||
           std::string_view("!#$&+-.^_`|~").find(static_cast<char>(b)) != std::string_view::npos;
}

std::string quoted(std::string_view s)
{
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

}  // namespace

std::string fold_header(std::string_view name, const std::vector<std::string>& pieces)
{
    std::string out = std::string(name) + ":";
    std::size_t column = out.size();
    std::size_t on_line = 0;
    bool first_line = true;
    for (const auto& piece : pieces) {
        bool fits = column + 1 + piece.size() <= header_line_limit;
        // A continuation line always takes its first piece, however long:
        // folding again would only leave a line of white space.
        if (!fits && (on_line > 0 || first_line)) {
            out += "\r\n";
            column = 0;
            on_line = 0;
            first_line = false;
        }
        out += ' ';
        out += piece;
        column += 1 + piece.size();
        ++on_line;
    }
    return out + "\r\n";
}

std::vector<std::string> encoded_words(std::string_view utf8, std::size_t max_word)
{
    bool q = use_q(utf8);
    std::vector<std::string> words;
    std::size_t start = 0, length = 0, encoded = 0;
    for (std::string_view ch : utf8_chars(utf8)) {
        std::size_t cost = q ? q_encode(ch).size() : 0;
        std::size_t next = q ? encoded + cost : b_length(length + ch.size());
        if (length > 0 && word_overhead + next > max_word) {
            words.push_back(finish_word(q, utf8.substr(start, length)));
            start += length;
            length = 0;
            encoded = 0;
            next = q ? cost : b_length(ch.size());
        }
        length += ch.size();
        encoded = next;
    }
    if (length > 0 || words.empty()) words.push_back(finish_word(q, utf8.substr(start, length)));
    return words;
}

std::string unstructured_header(std::string_view name, std::string_view utf8_value)
{
    if (plain_foldable(utf8_value, header_line_limit - 2)) return fold_header(name, split_spaces(utf8_value));
    return fold_header(name, encoded_words(utf8_value));
}

std::vector<std::string> display_name_pieces(std::string_view utf8_name)
{
    if (utf8_name.empty()) return {};
    constexpr std::size_t max_quoted = 60;
    if (!plain_foldable(utf8_name, max_quoted)) return encoded_words(utf8_name);
    bool atoms = std::all_of(utf8_name.begin(), utf8_name.end(),
                             [](char c) { return c == ' ' || is_atext(static_cast<unsigned char>(c)); });
    if (atoms) return split_spaces(utf8_name);
    if (utf8_name.size() > max_quoted) return encoded_words(utf8_name);
    return {quoted(utf8_name)};
}

std::vector<std::string> parameter_pieces(std::string_view name, std::string_view utf8_value)
{
    constexpr std::size_t max_piece = header_line_limit - 3;  // " " + piece + ";"
    std::string simple = std::string(name) + "=" + quoted(utf8_value);
    if (plain_foldable(utf8_value, max_piece) && simple.size() <= max_piece) return {simple};

    std::vector<std::string> sections;  // percent-encoded, cut at characters
    std::string current;
    auto head = [&](std::size_t n) {
        return std::string(name) + "*" + std::to_string(n) + "*=" + (n == 0 ? "UTF-8''" : "");
    };
    for (std::string_view ch : utf8_chars(utf8_value)) {
        std::string enc;
        for (char c : ch) {
            auto b = static_cast<unsigned char>(c);
            enc += attr_char(b) ? std::string(1, c) : percent(b);
        }
        if (!current.empty() && head(sections.size()).size() + current.size() + enc.size() > max_piece) {
            sections.push_back(current);
            current.clear();
        }
        current += enc;
    }
    sections.push_back(current);
    if (sections.size() == 1) return {std::string(name) + "*=UTF-8''" + sections[0]};
    std::vector<std::string> pieces;
    for (std::size_t i = 0; i < sections.size(); ++i)
        pieces.push_back(head(i) + sections[i] + (i + 1 < sections.size() ? ";" : ""));
    return pieces;
}

}  // namespace mailqd
