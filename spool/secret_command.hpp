// Runs a password_command (spool/config_secret.cpp reads the secret out of
// its output). Synchronous: the daemon calls it off the io thread
// (daemon/secret_async). Trusts the command as much as the config file that
// names it; never puts any part of its output into an error.
#pragma once

#include <chrono>
#include <string>

#include "spool/result.hpp"

namespace mailqd {

// How long a password_command may take (mailqd.conf(5) says 30 seconds).
inline constexpr std::chrono::milliseconds secret_command_timeout{30'000};

// The standard output (at most 64 KiB) of /bin/sh -c command, once the shell
// has exited 0 within timeout. The shell runs with stdin /dev/null, stdout a
// pipe, the caller's stderr and no other descriptor, as the leader of a
// process group of its own; whatever is left in that group when the shell
// exits, or at the deadline, is killed with SIGKILL, and the shell reaped.
// The deadline holds even when the command closes its stdout and runs on.
// Errors (ErrorKind::config) start with "password_command: ".
Result<std::string> run_secret_command(const std::string& command,
                                       std::chrono::milliseconds timeout = secret_command_timeout);

}  // namespace mailqd
