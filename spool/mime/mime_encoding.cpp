// Body encodings of RFC 2045: base64 and quoted-printable, and the choice
// between them and 7bit for a text part. Pure functions on byte strings.
#include "spool/mime/mime_encoding.hpp"

#include <algorithm>
#include <cstdint>

namespace mailqd {

namespace {

constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view hex_digits = "0123456789ABCDEF";
constexpr std::size_t qp_line_limit = 76;

int base64_value(char c)
{
    auto pos = alphabet.find(c);
    return pos == std::string_view::npos ? -1 : static_cast<int>(pos);
}

int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

void append_line_broken(std::string& out, std::string_view encoded, std::size_t line_length)
{
    for (std::size_t i = 0; i < encoded.size(); i += line_length) {
        out.append(encoded.substr(i, line_length));
        out += "\r\n";
    }
}

// One byte of a line as quoted-printable: itself or "=XX".
std::string qp_token(unsigned char b, bool at_line_end)
{
    bool literal = (b >= 33 && b <= 126 && b != '=') || ((b == ' ' || b == '\t') && !at_line_end);
    if (literal) return std::string(1, static_cast<char>(b));
    return {'=', hex_digits[b >> 4], hex_digits[b & 0xF]};
}

void qp_encode_line(std::string& out, std::string_view line)
{
    std::size_t column = 0;
    for (std::size_t i = 0; i < line.size(); ++i) {
        bool last = i + 1 == line.size();
        std::string token = qp_token(static_cast<unsigned char>(line[i]), last);
        // The last token may use the 76th column; others must leave it for "=".
        std::size_t limit = last ? qp_line_limit : qp_line_limit - 1;
        if (column + token.size() > limit) {
            out += "=\r\n";
            column = 0;
        }
        out += token;
        column += token.size();
    }
}

struct TextStats {
    std::size_t escaped = 0;  // bytes quoted-printable must escape
    std::size_t longest = 0;  // longest line, without CRLF
    bool plain_ascii = true;  // printable ASCII, tab and CRLF only
};

TextStats text_stats(std::string_view text)
{
    TextStats s;
    std::size_t line = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        auto b = static_cast<unsigned char>(text[i]);
        if (b == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
            s.longest = std::max(s.longest, line);
            line = 0;
            ++i;
            continue;
        }
        ++line;
        bool printable = (b >= 32 && b <= 126) || b == '\t';
        if (!printable) s.plain_ascii = false;
        if (!printable || b == '=') ++s.escaped;
    }
    s.longest = std::max(s.longest, line);
    return s;
}

}  // namespace

std::string base64_encode(std::string_view data, std::size_t line_length)
{
    std::string encoded;
    encoded.reserve((data.size() + 2) / 3 * 4);
    for (std::size_t i = 0; i < data.size(); i += 3) {
        std::uint32_t n = static_cast<unsigned char>(data[i]) << 16;
        if (i + 1 < data.size()) n |= static_cast<unsigned char>(data[i + 1]) << 8;
        if (i + 2 < data.size()) n |= static_cast<unsigned char>(data[i + 2]);
        encoded += alphabet[(n >> 18) & 63];
        encoded += alphabet[(n >> 12) & 63];
        encoded += i + 1 < data.size() ? alphabet[(n >> 6) & 63] : '=';
        encoded += i + 2 < data.size() ? alphabet[n & 63] : '=';
    }
    if (line_length == 0) return encoded;
    std::string out;
    out.reserve(encoded.size() + encoded.size() / line_length * 2 + 2);
    append_line_broken(out, encoded, line_length);
    return out;
}

std::optional<std::string> base64_decode(std::string_view text)
{
    std::string out;
    std::uint32_t bits = 0;
    int count = 0, padding = 0;
    for (char c : text) {
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
        if (c == '=') {
            ++padding;
            continue;
        }
        int v = base64_value(c);
        if (v < 0 || padding > 0) return std::nullopt;
        bits = (bits << 6) | static_cast<std::uint32_t>(v);
        if (++count == 4) {
            out += static_cast<char>((bits >> 16) & 0xFF);
            out += static_cast<char>((bits >> 8) & 0xFF);
            out += static_cast<char>(bits & 0xFF);
            bits = 0;
            count = 0;
        }
    }
    if (count == 1 || (count == 0 && padding > 0) || (count > 0 && count + padding != 4)) return std::nullopt;
    if (count == 2) out += static_cast<char>((bits >> 4) & 0xFF);
    if (count == 3) {
        out += static_cast<char>((bits >> 10) & 0xFF);
        out += static_cast<char>((bits >> 2) & 0xFF);
    }
    return out;
}

std::string quoted_printable_encode(std::string_view text)
{
    std::string out;
    out.reserve(text.size() + text.size() / 8);
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t eol = text.find("\r\n", pos);
        std::size_t end = eol == std::string_view::npos ? text.size() : eol;
        qp_encode_line(out, text.substr(pos, end - pos));
        if (eol == std::string_view::npos) break;
        out += "\r\n";
        pos = eol + 2;
    }
    return out;
}

std::optional<std::string> quoted_printable_decode(std::string_view text)
{
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c != '=') {
            out += c;
            continue;
        }
        if (text.substr(i + 1, 2) == "\r\n") {
            i += 2;
            continue;
        }  // soft break
        if (i + 2 >= text.size()) return std::nullopt;
        int hi = hex_value(text[i + 1]), lo = hex_value(text[i + 2]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
    }
    return out;
}

std::string_view to_string(BodyEncoding encoding)
{
    switch (encoding) {
        case BodyEncoding::seven_bit: return "7bit";
        case BodyEncoding::quoted_printable: return "quoted-printable";
        case BodyEncoding::base64: return "base64";
    }
    return "base64";
}

BodyEncoding choose_text_encoding(std::string_view text)
{
    TextStats s = text_stats(text);
    if (s.plain_ascii && s.longest <= header_line_limit) return BodyEncoding::seven_bit;
    // An escaped byte costs 3 in quoted-printable; base64 costs 4/3 for
    // every byte. Mostly-ASCII text stays readable in quoted-printable.
    if (s.escaped * 6 <= text.size()) return BodyEncoding::quoted_printable;
    return BodyEncoding::base64;
}

std::string encode_body(std::string_view data, BodyEncoding encoding)
{
    switch (encoding) {
        case BodyEncoding::seven_bit: return std::string(data);
        case BodyEncoding::quoted_printable: return quoted_printable_encode(data);
        case BodyEncoding::base64: return base64_encode(data);
    }
    return base64_encode(data);
}

}  // namespace mailqd
