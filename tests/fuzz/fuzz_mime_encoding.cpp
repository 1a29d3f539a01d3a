// libFuzzer target: the MIME builder's encoders (spool/mime/mime_encoding.cpp,
// spool/mime/mime_header.cpp). Each encoding must decode back to its input:
// base64 and quoted-printable bodies with the library's decoders, encoded
// words, unstructured headers and RFC 2231 parameters with the small
// decoders below (RFC 2047 / 2231 as a mail reader applies them).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "spool/mime/mime_encoding.hpp"

namespace {

void require(bool condition)
{
    if (!condition) std::abort();
}

int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;  // the encoders write upper-case hex only
}

// "=XX" (or "%XX") escapes, and '_' as a space in Q.
std::optional<std::string> unescape(std::string_view text, char escape, bool underscore_space)
{
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == escape) {
            if (i + 2 >= text.size()) return std::nullopt;
            int hi = hex_value(text[i + 1]), lo = hex_value(text[i + 2]);
            if (hi < 0 || lo < 0) return std::nullopt;
            out += static_cast<char>(hi * 16 + lo);
            i += 2;
        } else {
            out += underscore_space && text[i] == '_' ? ' ' : text[i];
        }
    }
    return out;
}

std::optional<std::string> decode_word(std::string_view word)
{
    if (!word.starts_with("=?UTF-8?") || !word.ends_with("?=") || word.size() < 12) return std::nullopt;
    std::string_view payload = word.substr(10, word.size() - 12);
    if (word[8] == 'B') return mailqd::base64_decode(payload);
    if (word[8] == 'Q') return unescape(payload, '=', true);
    return std::nullopt;
}

std::string decode_words(const std::vector<std::string>& words, std::size_t max_word)
{
    std::string out;
    for (const auto& word : words) {
        require(word.size() <= std::max<std::size_t>(max_word, 24));  // a word holds one character at least
        auto text = decode_word(word);
        require(text.has_value());
        out += *text;
    }
    return out;
}

// A header field's value as a reader sees it: unfolded, then (when it is
// made of encoded words) decoded with the white space between words dropped.
std::string read_unstructured(std::string_view field, std::string_view name)
{
    require(field.starts_with(std::string(name) + ":") && field.ends_with("\r\n"));
    std::string value;
    std::string_view rest = field.substr(name.size() + 1, field.size() - name.size() - 3);
    for (std::size_t i = 0; i < rest.size(); ++i) {
        if (rest.substr(i, 2) == "\r\n") {
            ++i;
            continue;
        }  // unfold: CRLF before the space
        value += rest[i];
    }
    if (!value.empty()) {
        require(value[0] == ' ');
        value.erase(0, 1);
    }
    for (std::size_t i = 0; i < field.size(); ++i)
        require(field[i] != '\n' || i == field.size() - 1 || field[i + 1] == ' ');
    if (!value.starts_with("=?UTF-8?")) return value;
    std::vector<std::string> words;
    std::size_t pos = 0;
    while (pos <= value.size()) {
        std::size_t sp = value.find(' ', pos);
        if (sp == std::string::npos) sp = value.size();
        words.push_back(value.substr(pos, sp - pos));
        pos = sp + 1;
    }
    return decode_words(words, 80);
}

std::string read_parameter(const std::vector<std::string>& pieces, std::string_view name)
{
    std::string joined;
    for (std::size_t i = 0; i < pieces.size(); ++i) {
        std::string_view piece = pieces[i];
        if (i + 1 < pieces.size()) {
            require(piece.ends_with(";"));
            piece.remove_suffix(1);
        }
        require(piece.size() <= mailqd::header_line_limit - 3);  // " " + piece + ";" fits a line
        auto eq = piece.find('=');
        require(eq != std::string_view::npos);
        std::string_view value = piece.substr(eq + 1);
        if (value.starts_with("\"")) {
            require(pieces.size() == 1 && value.size() >= 2 && value.ends_with("\""));
            std::string out;
            for (std::size_t j = 1; j + 1 < value.size(); ++j) {
                if (value[j] == '\\') ++j;
                out += value[j];
            }
            return out;
        }
        if (value.starts_with("UTF-8''")) value.remove_prefix(7);
        auto text = unescape(value, '%', false);
        require(text.has_value());
        joined += *text;
    }
    (void)name;
    return joined;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size == 0) return 0;
    std::size_t line_length = data[0] % 80;
    std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);

    require(mailqd::base64_decode(mailqd::base64_encode(input, line_length)) == input);
    std::string qp = mailqd::quoted_printable_encode(input);
    require(mailqd::quoted_printable_decode(qp) == input);
    for (std::size_t pos = 0; pos < qp.size();) {
        std::size_t eol = qp.find("\r\n", pos);
        if (eol == std::string::npos) eol = qp.size();
        require(eol - pos <= 76);
        pos = eol + 2;
    }
    auto encoding = mailqd::choose_text_encoding(input);
    std::string body = mailqd::encode_body(input, encoding);
    if (encoding == mailqd::BodyEncoding::seven_bit) require(body == input);

    std::size_t max_word = 16 + data[0] % 60;
    require(decode_words(mailqd::encoded_words(input, max_word), max_word) == input);

    // Header values hold no line breaks (the builder checks that first).
    if (input.find_first_of("\r\n") != std::string_view::npos) return 0;
    require(read_unstructured(mailqd::unstructured_header("Subject", input), "Subject") == input);
    auto name_pieces = mailqd::display_name_pieces(input);
    require(read_parameter(mailqd::parameter_pieces("filename", input), "filename") == input);
    (void)name_pieces;
    return 0;
}
