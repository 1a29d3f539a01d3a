// Wire forms of a message (see smtp_data.hpp).
#include "daemon/smtp_data.hpp"

#include <algorithm>

namespace mailqd {

std::string to_wire_data(std::string_view message)
{
    std::string out;
    out.reserve(message.size() + message.size() / 32 + 8);
    bool line_start = true;
    for (std::size_t i = 0; i < message.size(); ++i) {
        char c = message[i];
        if (c == '\r' || c == '\n') {
            if (c == '\r' && i + 1 < message.size() && message[i + 1] == '\n') ++i;
            out += "\r\n";
            line_start = true;
            continue;
        }
        if (line_start && c == '.') out += '.';
        out += c;
        line_start = false;
    }
    if (!line_start) out += "\r\n";
    out += ".\r\n";
    return out;
}

bool has_8bit(std::string_view text)
{
    return std::any_of(text.begin(), text.end(),
                       [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

bool wire_safe_address(std::string_view address)
{
    return std::none_of(address.begin(), address.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return u <= 0x20 || u == 0x7f || c == '<' || c == '>';
    });
}

std::string mail_from_command(std::string_view sender, const MailParameters& params)
{
    std::string out = "MAIL FROM:<" + std::string(sender) + ">";
    if (params.size) out += " SIZE=" + std::to_string(params.size_value);
    if (params.body_8bitmime) out += " BODY=8BITMIME";
    if (params.smtputf8) out += " SMTPUTF8";
    return out;
}

std::string rcpt_to_command(std::string_view recipient)
{
    return "RCPT TO:<" + std::string(recipient) + ">";
}

}  // namespace mailqd
