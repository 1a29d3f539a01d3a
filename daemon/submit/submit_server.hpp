// The submit door (DESIGN.md section 3.1): an ESMTP and LMTP server on the
// Unix socket and the optional TCP listener. Knows neither the config file
// nor the store: it is given options and a function that commits a message,
// and says 250 only after that function says the commit is durable.
// Trusts nothing a client sends: lines, commands and DATA are bounded, a
// stalled client is disconnected.
#pragma once

#include <sys/types.h>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "daemon/net/asio.hpp"
#include "daemon/submit/submit_options.hpp"
#include "spool/result.hpp"

namespace mailqd {

class SubmitServer {
public:
    SubmitServer(asio::any_io_executor executor, SubmitOptions options, AcceptFn accept);
    ~SubmitServer();

    // Binds; a stale socket file is replaced, a live one is an error.
    // group: the socket file's group (empty: leave it as is). Who may
    // submit is options.users, checked with SO_PEERCRED whatever the mode.
    Status listen_unix(const std::filesystem::path& path, mode_t mode, const std::string& group);
    // "127.0.0.1:2525" or "[::1]:2525".
    Status listen_tcp(const std::string& address);

    // Call these on the executor's thread; listen_* before start().
    void start();                             // spawns the accept loops
    void stop();                              // closes listeners and every session (a commit in flight
                                              // finishes; its client just gets no reply)
    void set_options(SubmitOptions options);  // on SIGHUP; applies to new sessions

    std::size_t active_sessions() const;
    // Clients and messages turned away so far, by reason. Executor's thread.
    RefusalCounts refusals() const;
    // Bytes of DATA the sessions hold now (of the budget). Executor's thread.
    std::size_t data_in_use() const;
    // The bound TCP port (useful with ":0"); 0 when not listening on TCP.
    std::uint16_t tcp_port() const;

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace mailqd
