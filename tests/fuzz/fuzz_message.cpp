// libFuzzer target: what the intake doors do with untrusted message text
// (spool/message*.cpp): line-ending normalisation, the header block, the
// envelope taken from it, address lists and single mailboxes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "spool/message.hpp"

namespace {

// Every line ending is CRLF, and the text ends with one.
void check_crlf(std::string_view text)
{
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\r' && (i + 1 == text.size() || text[i + 1] != '\n')) std::abort();
        if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) std::abort();
    }
    if (!text.empty() && !text.ends_with("\r\n")) std::abort();
}

void check_headers(std::string_view message)
{
    auto headers = mailqd::parse_headers(message);
    if (!headers) return;
    if (headers->body_offset > message.size()) std::abort();
    for (const auto& field : headers->fields)
        if (field.begin > field.end || field.end > message.size()) std::abort();
    (void)mailqd::envelope_from_headers(*headers, "example.org");
}

void check_addresses(std::string_view value)
{
    (void)mailqd::parse_address_list(value);
    (void)mailqd::parse_mailbox_list(value, "example.org");
    if (auto mailbox = mailqd::parse_mailbox(value, true, "example.org")) {
        if (!mailbox->empty() && !mailqd::valid_address(*mailbox)) std::abort();
    }
    mailqd::valid_address(value);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    std::string_view raw(reinterpret_cast<const char*>(data), size);
    std::string message = mailqd::normalize_crlf(raw);
    check_crlf(message);
    // The shortcut prepare_for_queue takes must agree with the long way.
    if (mailqd::is_crlf_normal(raw) != (message == raw)) std::abort();
    check_headers(message);
    check_addresses(raw);
    mailqd::PrepareOptions options;
    options.hostname = "fuzz.example.org";
    options.remove_bcc = true;
    if (auto prepared = mailqd::prepare_for_queue(std::string(raw), options)) {
        check_crlf(*prepared);
        if (!mailqd::parse_headers(*prepared)) std::abort();  // what we queue parses again
    }
    return 0;
}
