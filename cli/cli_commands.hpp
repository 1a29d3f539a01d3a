// The subcommands of mailqctl, each a function of (context, its arguments)
// returning a Status; cli_dispatch.cpp maps names to them, and the edge maps
// a failed Status to an exit code. Adding a command: declare it here, add one
// row to the table in cli_dispatch.cpp.
#pragma once

#include <string>
#include <vector>

#include "cli/cli_context.hpp"
#include "spool/result.hpp"

namespace mailqd {

using CommandArgs = std::vector<std::string>;
using CommandFn = Status (*)(CliContext& context, const CommandArgs& args);

// cmd_queue.cpp
Status cmd_list(CliContext& context, const CommandArgs& args);
Status cmd_show(CliContext& context, const CommandArgs& args);
Status cmd_retry(CliContext& context, const CommandArgs& args);
Status cmd_hold(CliContext& context, const CommandArgs& args);
Status cmd_release(CliContext& context, const CommandArgs& args);
Status cmd_delete(CliContext& context, const CommandArgs& args);
Status cmd_stats(CliContext& context, const CommandArgs& args);
// cmd_fetch.cpp
Status cmd_fetch(CliContext& context, const CommandArgs& args);
// cmd_submit.cpp
Status cmd_submit(CliContext& context, const CommandArgs& args);
// cmd_send.cpp: compose a MIME message from options and submit it.
Status cmd_send(CliContext& context, const CommandArgs& args);
// cmd_inbox.cpp: read the Maildirs that POP3 fetching writes.
Status cmd_inbox(CliContext& context, const CommandArgs& args);
// The sendmail personality is not a command: see cmd_sendmail.hpp.

}  // namespace mailqd
