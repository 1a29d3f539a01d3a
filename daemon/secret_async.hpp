// Reading a relay's or a mailbox's secret without holding the io thread:
// read_secret may run a password_command, which may take its time.
#pragma once

#include <optional>
#include <string>

#include "daemon/net/asio.hpp"
#include "spool/config.hpp"
#include "spool/result.hpp"

namespace mailqd {

// read_secret(source) on `blocking` when given, else inline; resumes on the
// caller's executor, which it keeps busy meanwhile. The error never contains
// the secret (read_secret's promise). Callers await it from a named local
// (GCC 12, see store_async.hpp).
awaitable<Result<std::string>> read_secret_async(std::optional<asio::any_io_executor> blocking,
                                                 SecretSource source);

}  // namespace mailqd
