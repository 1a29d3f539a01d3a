// The one sanitizer (see text_sanitize.hpp).
#include "spool/text_sanitize.hpp"

namespace mailqd {
namespace {

// The length of the unsafe character at text[i] (1, or 2 for a UTF-8 C1
// control), or 0 if it is safe.
std::size_t unsafe_at(std::string_view text, std::size_t i)
{
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f) return 1;
    if (c == 0xc2 && i + 1 < text.size()) {
        const auto next = static_cast<unsigned char>(text[i + 1]);
        if (next >= 0x80 && next <= 0x9f) return 2;
    }
    return 0;
}

std::string replaced(std::string_view text, char replacement, std::size_t max_length)
{
    const bool cut = text.size() > max_length;
    if (cut) {
        // Back to the start of a UTF-8 sequence: no half character before "...".
        std::size_t end = max_length;
        while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xc0) == 0x80) --end;
        text = text.substr(0, end);
    }
    std::string out;
    out.reserve(text.size() + 3);
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (std::size_t n = unsafe_at(text, i)) {
            out += replacement;
            i += n - 1;
        } else {
            out += text[i];
        }
    }
    if (cut) out += "...";
    return out;
}

}  // namespace

std::string printable(std::string_view text, std::size_t max_length)
{
    return replaced(text, '?', max_length);
}

std::string one_line(std::string_view text, std::size_t max_length)
{
    return replaced(text, ' ', max_length);
}

bool is_printable(std::string_view text)
{
    for (std::size_t i = 0; i < text.size(); ++i)
        if (unsafe_at(text, i)) return false;
    return true;
}

}  // namespace mailqd
