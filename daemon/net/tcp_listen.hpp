// TCP listening sockets on a configured address: the submit door's
// submit.listen and the metrics endpoint (metrics.listen). The Unix socket
// is bound with daemon/net/unix_listener.hpp. Trusts the config it is given.
#pragma once

#include <string_view>

#include "daemon/net/asio.hpp"
#include "spool/result.hpp"

namespace mailqd {

using TcpAcceptor = asio::ip::tcp::acceptor;

// "127.0.0.1:2525", "[::1]:2525", "localhost:2525" (loopback). Numeric
// addresses only otherwise; port 0 asks the kernel for a free one.
Result<asio::ip::tcp::endpoint> parse_listen_address(std::string_view text);

// Binds and listens (SO_REUSEADDR, so a restart does not wait for TIME_WAIT).
Result<TcpAcceptor> bind_tcp_socket(asio::any_io_executor executor, std::string_view address);

}  // namespace mailqd
