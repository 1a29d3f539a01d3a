// Shared by "mailqctl submit" and sendmail mode: read stdin, prepare the
// envelope (submission.hpp), hand it to the submit socket.
#pragma once

#include <string>

#include "cli/cli_context.hpp"
#include "cli/submission.hpp"
#include "spool/result.hpp"

namespace mailqd {

// Returns the queue ID. dot_ends: a line with a single "." ends the input.
Result<std::string> submit_stdin(CliContext& context, const SubmitRequest& request, bool dot_ends);

}  // namespace mailqd
