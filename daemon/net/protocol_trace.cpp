// Secret masking for protocol traces (see protocol_trace.hpp).
#include "daemon/net/protocol_trace.hpp"

#include <algorithm>
#include <cctype>

#include "spool/text_sanitize.hpp"

namespace mailqd {
namespace {

constexpr std::string_view masked = "***";

// Case-insensitive "line starts with word followed by a space or the end".
bool starts_with_word(std::string_view line, std::string_view word)
{
    if (line.size() < word.size()) return false;
    for (std::size_t i = 0; i < word.size(); ++i)
        if (std::toupper(static_cast<unsigned char>(line[i])) != word[i]) return false;
    return line.size() == word.size() || line[word.size()] == ' ';
}

// "AUTH PLAIN abc" -> "AUTH PLAIN ***"; "AUTH LOGIN" stays.
std::string mask_after_words(std::string_view line, int words_kept)
{
    std::size_t pos = 0;
    for (int i = 0; i < words_kept; ++i) {
        pos = line.find(' ', pos);
        if (pos == std::string_view::npos) return std::string(line);
        ++pos;
    }
    return std::string(line.substr(0, pos)) + std::string(masked);
}

}  // namespace

bool ProtocolTraceMasker::contains_secret(std::string_view line) const
{
    return !secret_.empty() && line.find(secret_) != std::string_view::npos;
}

std::string ProtocolTraceMasker::client(std::string_view line)
{
    if (in_auth_) return std::string(masked);
    if (starts_with_word(line, "AUTH")) {
        in_auth_ = true;
        return printable(mask_after_words(line, 2));
    }
    if (starts_with_word(line, "PASS")) return mask_after_words(line, 1);
    if (starts_with_word(line, "APOP")) return mask_after_words(line, 2);
    if (contains_secret(line)) return std::string(masked);
    return printable(line);
}

std::string ProtocolTraceMasker::server(std::string_view line)
{
    // 334 (SMTP) and "+ " (POP3 SASL) continue an exchange; anything else ends it.
    bool continuation = line.substr(0, 3) == "334" || line.substr(0, 2) == "+ " || line == "+";
    if (in_auth_ && !continuation) in_auth_ = false;
    if (contains_secret(line)) return std::string(masked);
    return printable(line);
}

}  // namespace mailqd
