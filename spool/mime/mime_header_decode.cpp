// RFC 2047 encoded words and RFC 2231 parameters (see mime_parser.hpp).
// Lenient where real mail is sloppy (unpadded base64, encoded words inside
// quoted parameter values, words glued to text); bounded by the input size.
#include <algorithm>
#include <optional>
#include <vector>

#include "spool/message_text.hpp"
#include "spool/mime/mime_charset.hpp"
#include "spool/mime/mime_encoding.hpp"
#include "spool/mime/mime_parser.hpp"

namespace mailqd {

namespace {

int hex_digit(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    c = ascii_lower(c);
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

bool base64_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

}  // namespace

std::string base64_decode_lenient(std::string_view text)
{
    std::string clean;
    for (char c : text)
        if (base64_char(c)) clean += c;
    if (clean.size() % 4 == 1) clean.pop_back();
    while (clean.size() % 4 != 0) clean += '=';
    return base64_decode(clean).value_or(std::string());
}

namespace {

// "_" is a space in the Q encoding; "=XX" a byte; a bad "=" stays as it is.
std::string q_decode(std::string_view text)
{
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '_') {
            out += ' ';
            continue;
        }
        if (c == '=' && i + 2 < text.size() && hex_digit(text[i + 1]) >= 0 && hex_digit(text[i + 2]) >= 0) {
            out += static_cast<char>(hex_digit(text[i + 1]) * 16 + hex_digit(text[i + 2]));
            i += 2;
            continue;
        }
        out += c;
    }
    return out;
}

constexpr std::size_t max_charset = 64;
constexpr std::size_t max_word_text = 512;

struct EncodedWord {
    std::size_t begin = 0, end = 0;  // the "=?...?=" range in the value
    std::string charset;
    std::string bytes;  // decoded, still in charset
};

// The encoded word starting at `at` ("=?cs?E?text?="), if there is one.
std::optional<EncodedWord> encoded_word_at(std::string_view v, std::size_t at)
{
    // Searches are bounded so that a header full of "=?" stays linear; real
    // encoded words are at most 75 characters.
    std::size_t q1 = v.substr(0, at + 2 + max_charset).find('?', at + 2);
    if (q1 == std::string_view::npos || q1 + 3 >= v.size() || v[q1 + 2] != '?') return std::nullopt;
    std::size_t close = v.substr(0, q1 + 3 + max_word_text).find("?=", q1 + 3);
    if (close == std::string_view::npos) return std::nullopt;
    std::string_view charset = v.substr(at + 2, q1 - at - 2);
    std::string_view text = v.substr(q1 + 3, close - q1 - 3);
    if (charset.empty() || charset.find_first_of(" \t") != std::string_view::npos ||
        text.find_first_of(" \t") != std::string_view::npos)
        return std::nullopt;
    EncodedWord w;
    w.begin = at;
    w.end = close + 2;
    w.charset = std::string(charset.substr(0, charset.find('*')));  // RFC 2231 language suffix
    char e = ascii_lower(v[q1 + 1]);
    if (e == 'b')
        w.bytes = base64_decode_lenient(text);
    else if (e == 'q')
        w.bytes = q_decode(text);
    else
        return std::nullopt;
    return w;
}

std::string percent_decode(std::string_view text)
{
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size() && hex_digit(text[i + 1]) >= 0 &&
            hex_digit(text[i + 2]) >= 0) {
            out += static_cast<char>(hex_digit(text[i + 1]) * 16 + hex_digit(text[i + 2]));
            i += 2;
        } else {
            out += text[i];
        }
    }
    return out;
}

// Splits at ';' outside quoted strings.
std::vector<std::string_view> split_params(std::string_view v)
{
    std::vector<std::string_view> out;
    bool quoted = false;
    std::size_t start = 0;
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (quoted && v[i] == '\\') {
            ++i;
            continue;
        }
        if (v[i] == '"')
            quoted = !quoted;
        else if (v[i] == ';' && !quoted) {
            out.push_back(v.substr(start, i - start));
            start = i + 1;
        }
    }
    out.push_back(v.substr(start));
    return out;
}

std::string unquote(std::string_view v)
{
    v = trim_wsp(v);
    if (v.empty() || v.front() != '"') return std::string(v);
    std::string out;
    for (std::size_t i = 1; i < v.size(); ++i) {
        if (v[i] == '"') break;
        if (v[i] == '\\' && i + 1 < v.size()) ++i;
        out += v[i];
    }
    return out;
}

struct Section {
    int number = 0;
    bool encoded = false;
    bool extended = false;  // written as name* or name*N
    std::string value;
};

constexpr int max_sections = 1000;

// One parameter's sections joined: RFC 2231 charset from the first
// encoded section; unencoded sections are taken as they are.
std::string join_sections(std::vector<Section>& sections)
{
    // A plain name= beside name*= is the fallback for old readers.
    if (std::any_of(sections.begin(), sections.end(), [](const Section& s) { return s.extended; }))
        std::erase_if(sections, [](const Section& s) { return !s.extended; });
    std::stable_sort(sections.begin(), sections.end(),
                     [](const Section& a, const Section& b) { return a.number < b.number; });
    std::string charset, bytes;
    bool any_encoded = false;
    for (std::size_t i = 0; i < sections.size(); ++i) {
        std::string_view v = sections[i].value;
        if (sections[i].encoded && i == 0) {
            std::size_t a = v.find('\''), b = a == std::string_view::npos ? a : v.find('\'', a + 1);
            if (b != std::string_view::npos) {
                charset = std::string(v.substr(0, a));
                v = v.substr(b + 1);
            }
        }
        any_encoded = any_encoded || sections[i].encoded;
        bytes += sections[i].encoded ? percent_decode(v) : std::string(v);
    }
    if (!any_encoded) return decode_header_text(bytes);
    return to_utf8(bytes, charset);
}

}  // namespace

std::string MimeParams::param(const std::string& name) const
{
    auto it = params.find(name);
    return it == params.end() ? std::string() : it->second;
}

std::string decode_header_text(std::string_view v)
{
    std::string out;
    std::string pending_charset, pending_bytes;  // adjacent encoded words
    auto flush = [&] {
        if (!pending_bytes.empty()) out += to_utf8(pending_bytes, pending_charset);
        pending_bytes.clear();
    };
    std::size_t i = 0, plain_start = 0;
    bool after_word = false;
    while (i < v.size()) {
        std::size_t at = v.find("=?", i);
        if (at == std::string_view::npos) break;
        auto word = encoded_word_at(v, at);
        if (!word) {
            i = at + 2;
            continue;
        }
        std::string_view between = v.substr(plain_start, at - plain_start);
        bool only_space = trim_wsp(between).empty();
        if (!(after_word && only_space)) {
            flush();
            out += to_utf8(between, "");
        } else if (!iequals(word->charset, pending_charset)) {
            flush();
        }
        pending_charset = word->charset;
        pending_bytes += word->bytes;
        after_word = true;
        i = plain_start = word->end;
    }
    flush();
    out += to_utf8(v.substr(plain_start), "");
    return out;
}

MimeParams parse_mime_params(std::string_view value)
{
    MimeParams result;
    std::string unfolded;
    for (char c : value)
        if (c != '\r' && c != '\n') unfolded += c;
    auto pieces = split_params(unfolded);
    result.value = ascii_lowercase(trim_wsp(pieces.front()));
    std::map<std::string, std::vector<Section>> by_name;
    for (std::size_t i = 1; i < pieces.size(); ++i) {
        std::string_view p = trim_wsp(pieces[i]);
        std::size_t eq = p.find('=');
        if (eq == std::string_view::npos) continue;
        std::string name = ascii_lowercase(trim_wsp(p.substr(0, eq)));
        Section s;
        s.value = unquote(p.substr(eq + 1));
        if (!name.empty() && name.back() == '*') {
            s.encoded = true;
            name.pop_back();
        }
        std::size_t star = name.find('*');
        s.extended = s.encoded || star != std::string::npos;
        if (star != std::string::npos) {
            std::string digits = name.substr(star + 1);
            name.resize(star);
            if (digits.empty() || digits.size() > 4 ||
                !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
                continue;
            s.number = std::stoi(digits);
            if (s.number >= max_sections) continue;
        }
        if (name.empty()) continue;
        by_name[name].push_back(std::move(s));
    }
    for (auto& [name, sections] : by_name) result.params[name] = join_sections(sections);
    return result;
}

}  // namespace mailqd
