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

// The standard output of /bin/sh -c command, once it has exited 0 within
// timeout. Errors (ErrorKind::config) start with "password_command: ".
Result<std::string> run_secret_command(const std::string& command,
                                       std::chrono::milliseconds timeout = secret_command_timeout);

}  // namespace mailqd
