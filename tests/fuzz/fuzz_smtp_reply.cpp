// libFuzzer target: the SMTP client's reply parser and EHLO reading
// (spool/smtp_reply.cpp) on server bytes split at LF (CR kept, as the
// line reader would pass a line with a stray CR).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "spool/smtp_reply.hpp"
#include "spool/text_sanitize.hpp"

namespace {

void check_reply(const mailqd::SmtpReply& reply)
{
    if (reply.code < 200 || reply.code > 599) std::abort();
    if (reply.lines.empty() || reply.lines.size() > mailqd::max_reply_lines) std::abort();
    for (char c : reply.to_string())
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) std::abort();  // sanitised for logs
    auto caps = mailqd::parse_ehlo(reply);
    caps.offers_auth("PLAIN");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    std::string_view bytes(reinterpret_cast<const char*>(data), size);
    if (!mailqd::is_printable(mailqd::printable(bytes))) std::abort();
    mailqd::SmtpReplyParser parser;
    while (!bytes.empty()) {
        auto nl = bytes.find('\n');
        std::string_view line = bytes.substr(0, nl);
        bytes.remove_prefix(nl == std::string_view::npos ? bytes.size() : nl + 1);
        switch (parser.feed(line)) {
            case mailqd::SmtpReplyParser::Status::more: break;
            case mailqd::SmtpReplyParser::Status::done:
                check_reply(parser.take());
                parser.reset();
                break;
            case mailqd::SmtpReplyParser::Status::error:
                if (parser.error().empty()) std::abort();
                parser.reset();
                break;
        }
    }
    return 0;
}
