// libFuzzer target: the submit door's command parser
// (daemon/submit/submit_commands.cpp) on one untrusted command line.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "daemon/submit/submit_commands.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    std::string_view line(reinterpret_cast<const char*>(data), size);
    mailqd::SubmitCommand command = mailqd::parse_submit_command(line);
    // The address or argument is a piece of the line, never more.
    if (command.argument.size() > line.size()) std::abort();
    if (mailqd::to_string(command.verb).empty()) std::abort();
    // A DSN value taken is printable ASCII within RFC 3461's bounds, so it
    // can go into a DSN's header and a relay's command as it is.
    if (!command.dsn.envid.empty() && !mailqd::valid_envid(command.dsn.envid)) std::abort();
    if (!command.rcpt_dsn.orcpt.empty() && !mailqd::valid_orcpt(command.rcpt_dsn.orcpt)) std::abort();
    if (command.rcpt_dsn.notify.given &&
        mailqd::parse_dsn_notify(mailqd::to_string(command.rcpt_dsn.notify)) != command.rcpt_dsn.notify)
        std::abort();
    return 0;
}
