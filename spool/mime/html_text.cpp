// HTML to readable text for `mailqctl inbox show` (see mime_parser.hpp).
// A single pass over tags and text; trusts nothing (unclosed tags and
// comments end the text), never builds a DOM.
#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <string>

#include "spool/message_text.hpp"
#include "spool/mime/mime_parser.hpp"

namespace mailqd {

namespace {

void append_utf8(std::string& out, std::uint32_t cp)
{
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

struct Entity {
    std::string_view name;
    std::uint32_t cp;
};
constexpr std::array entities{
    Entity{"amp", '&'},       Entity{"lt", '<'},       Entity{"gt", '>'},       Entity{"quot", '"'},
    Entity{"apos", '\''},     Entity{"nbsp", 0xA0},    Entity{"copy", 0xA9},    Entity{"reg", 0xAE},
    Entity{"hellip", 0x2026}, Entity{"mdash", 0x2014}, Entity{"ndash", 0x2013}, Entity{"rsquo", 0x2019},
    Entity{"lsquo", 0x2018},  Entity{"rdquo", 0x201D}, Entity{"ldquo", 0x201C}, Entity{"euro", 0x20AC},
    Entity{"bull", 0x2022},
};

// Decodes the entity at html[i] == '&'; returns the characters consumed.
std::size_t decode_entity(std::string_view html, std::size_t i, std::string& out)
{
    std::size_t semi = html.find(';', i);
    if (semi == std::string_view::npos || semi - i > 12) {
        out += '&';
        return 1;
    }
    std::string_view name = html.substr(i + 1, semi - i - 1);
    if (!name.empty() && name[0] == '#') {
        bool hex = name.size() > 1 && (name[1] == 'x' || name[1] == 'X');
        std::string digits(name.substr(hex ? 2 : 1));
        std::uint32_t cp = 0;
        for (char c : digits) {
            int v = std::isxdigit(static_cast<unsigned char>(c))
                        ? (c <= '9' ? c - '0' : (ascii_lower(c) - 'a' + 10))
                        : -1;
            if (v < 0 || (!hex && v > 9)) {
                out += '&';
                return 1;
            }
            cp = cp * (hex ? 16 : 10) + static_cast<std::uint32_t>(v);
            if (cp > 0x10FFFF) cp = 0x110000;
        }
        append_utf8(out, cp);
        return semi - i + 1;
    }
    for (const auto& e : entities)
        if (e.name == name) {
            append_utf8(out, e.cp);
            return semi - i + 1;
        }
    out += '&';
    return 1;
}

bool is_block(std::string_view tag)
{
    static constexpr std::array blocks{"p",  "div", "br",      "tr",      "table",      "h1",     "h2",
                                       "h3", "h4",  "h5",      "h6",      "blockquote", "hr",     "ul",
                                       "ol", "pre", "section", "article", "header",     "footer", "title"};
    for (std::string_view b : blocks)
        if (tag == b) return true;
    return false;
}

class Converter {
public:
    std::string run(std::string_view html);

private:
    void text(char c);
    void newline(int count);
    std::size_t tag(std::string_view html, std::size_t i);

    std::string out_;
    bool space_ = false;
};

void Converter::text(char c)
{
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') {
        space_ = !out_.empty() && out_.back() != '\n';
        return;
    }
    if (space_) out_ += ' ';
    space_ = false;
    out_ += c;
}

void Converter::newline(int count)
{
    space_ = false;
    while (!out_.empty() && out_.back() == ' ') out_.pop_back();
    int have = 0;
    for (auto it = out_.rbegin(); it != out_.rend() && *it == '\n' && have < 2; ++it) ++have;
    if (out_.empty()) return;
    for (int k = have; k < count; ++k) out_ += '\n';
}

// Handles the tag at html[i] == '<'; returns where the text resumes.
std::size_t Converter::tag(std::string_view html, std::size_t i)
{
    if (html.compare(i, 4, "<!--") == 0) {
        std::size_t end = html.find("-->", i + 4);
        return end == std::string_view::npos ? html.size() : end + 3;
    }
    std::size_t close = html.find('>', i);
    if (close == std::string_view::npos) return html.size();
    std::string_view inner = html.substr(i + 1, close - i - 1);
    bool end_tag = !inner.empty() && inner[0] == '/';
    if (end_tag) inner.remove_prefix(1);
    std::size_t name_end = 0;
    while (name_end < inner.size() && std::isalnum(static_cast<unsigned char>(inner[name_end]))) ++name_end;
    std::string name = ascii_lowercase(inner.substr(0, name_end));
    if (!end_tag && (name == "script" || name == "style" || name == "head")) {
        // Case-insensitive search for the end tag; what it passes is skipped,
        // so the whole conversion stays linear.
        std::string end = "</" + name;
        auto it = std::search(html.begin() + static_cast<std::ptrdiff_t>(close), html.end(), end.begin(),
                              end.end(), [](char a, char b) { return ascii_lower(a) == b; });
        if (it == html.end()) return html.size();
        std::size_t skip = static_cast<std::size_t>(it - html.begin());
        std::size_t after = html.find('>', skip);
        return after == std::string_view::npos ? html.size() : after + 1;
    }
    if (name == "li" && !end_tag) {
        newline(1);
        out_ += "- ";
    } else if (name == "br")
        newline(1);
    else if (name == "p" || name == "h1" || name == "h2" || name == "h3" || name == "blockquote" ||
             name == "table")
        newline(2);
    else if (is_block(name))
        newline(1);
    else if (name == "td" || name == "th")
        text(' ');
    return close + 1;
}

std::string Converter::run(std::string_view html)
{
    std::size_t i = 0;
    while (i < html.size()) {
        char c = html[i];
        if (c == '<') {
            i = tag(html, i);
            continue;
        }
        if (c == '&') {
            std::string decoded;
            i += decode_entity(html, i, decoded);
            for (char d : decoded) text(d);
            continue;
        }
        text(c);
        ++i;
    }
    while (!out_.empty() && (out_.back() == '\n' || out_.back() == ' ')) out_.pop_back();
    if (!out_.empty()) out_ += '\n';
    return out_;
}

}  // namespace

std::string html_to_text(std::string_view html) { return Converter().run(html); }

}  // namespace mailqd
