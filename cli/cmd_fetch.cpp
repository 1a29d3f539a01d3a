// mailqctl fetch [MAILBOX...]: asks the daemon to pull POP3 mailboxes now and
// prints "NAME: N new" per mailbox. Waits as long as a slow POP3 server may
// take; a failed mailbox is reported on stderr and makes the exit 75.
#include <iostream>

#include "cli/cli_commands.hpp"
#include "cli/control_client.hpp"
#include "cli/exit_codes.hpp"
#include "cli/queue_format.hpp"

namespace mailqd {

Status cmd_fetch(CliContext& context, const CommandArgs& args)
{
    auto parsed = parse_command_args("fetch", args, {{"--json"}});
    if (!parsed) return parsed.error();
    auto socket = context.control_socket();
    if (!socket) return socket.error();
    Json request{{"cmd", "fetch"}, {"mailboxes", parsed->positional}};
    auto reply = control_request(*socket, request, std::chrono::minutes(30));
    if (!reply) return context.explain(reply.error());
    if (parsed->has("--json")) {
        context.out() << raw_result(reply->line) << '\n';
        return {};
    }
    FetchView view = render_fetch(reply->result);
    context.out() << view.text;
    context.out().flush();
    if (view.errors.empty()) return {};
    for (std::size_t i = 0; i + 1 < view.errors.size(); ++i)
        print_error(std::cerr, context.program(),
                    make_error(ErrorKind::temporary, "fetch " + view.errors[i]));
    return make_error(ErrorKind::temporary, "fetch " + view.errors.back());
}

}  // namespace mailqd
