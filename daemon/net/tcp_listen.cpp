// Loopback TCP listeners; see tcp_listen.hpp.
#include "daemon/net/tcp_listen.hpp"

#include <optional>
#include <string>

namespace mailqd {
namespace {

std::optional<unsigned short> parse_port(std::string_view text)
{
    if (text.empty() || text.size() > 5) return std::nullopt;
    unsigned value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value > 65535) return std::nullopt;
    return static_cast<unsigned short>(value);
}

}  // namespace

Result<asio::ip::tcp::endpoint> parse_listen_address(std::string_view text)
{
    auto bad = [&](std::string_view why) {
        return make_error(ErrorKind::config,
                          "listen address \"" + std::string(text) + "\": " + std::string(why));
    };
    std::string_view host, port;
    if (!text.empty() && text.front() == '[') {
        auto close = text.find("]:");
        if (close == std::string_view::npos) return bad("expected [address]:port");
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string_view::npos) return bad("expected host:port");
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (host.find(':') != std::string_view::npos) return bad("an IPv6 address goes in brackets");
    }
    auto number = parse_port(port);
    if (!number) return bad("bad port");
    if (host == "localhost") host = "127.0.0.1";
    error_code ec;
    auto address = asio::ip::make_address(std::string(host), ec);
    if (ec) return bad("not a numeric address");
    return asio::ip::tcp::endpoint(address, *number);
}

Result<TcpAcceptor> bind_tcp_socket(asio::any_io_executor executor, std::string_view address)
{
    auto endpoint = parse_listen_address(address);
    if (!endpoint) return endpoint.error();
    TcpAcceptor acceptor(executor);
    error_code ec;
    acceptor.open(endpoint->protocol(), ec);
    if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.bind(*endpoint, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return make_error(ErrorKind::io, "listen " + std::string(address) + ": " + ec.message());
    return acceptor;
}

}  // namespace mailqd
