// See control_server.hpp.
#include "daemon/control/control_server.hpp"

#include <spdlog/spdlog.h>
#include <list>
#include <map>
#include <optional>

#include "daemon/net/accept_backoff.hpp"
#include "daemon/net/peer_access.hpp"
#include "daemon/net/spawn.hpp"
#include "daemon/net/unix_listener.hpp"

namespace mailqd {
namespace {

using Socket = asio::local::stream_protocol::socket;
constexpr std::chrono::seconds idle_timeout{120};
// A client that does not read its answer is dropped after this.
constexpr std::chrono::seconds write_timeout{30};
// Sessions at once; more are answered with an error and closed, so a
// local user cannot hold every descriptor the daemon has.
constexpr std::size_t max_sessions = 64;
constexpr unsigned max_sessions_per_user = max_sessions / 4;

}  // namespace

struct ControlServer::Impl : std::enable_shared_from_this<Impl> {
    Impl(asio::any_io_executor executor, ControlCommands& commands) : acceptor(executor), commands(commands)
    {
    }

    awaitable<void> accept_loop();
    awaitable<void> session(std::shared_ptr<Socket> socket, PeerCredentials peer);
    awaitable<bool> answer(std::shared_ptr<Socket> socket, const Json& reply);
    awaitable<void> await_request(std::shared_ptr<Socket> socket);
    awaitable<void> refuse(std::shared_ptr<Socket> socket, Error why);

    UnixAcceptor acceptor;
    ControlCommands& commands;
    std::optional<SocketFile> socket_file;  // once bound
    std::string group;                      // admins; empty: anyone the file mode lets in
    std::list<std::weak_ptr<Socket>> sessions;
    std::map<uid_t, unsigned> sessions_of;  // by the peer's uid
    bool stopped = false;
    // Name and group lookups (NSS, maybe LDAP) wait here, not on the io thread.
    asio::thread_pool nss{1};
};

ControlServer::ControlServer(asio::any_io_executor executor, ControlCommands& commands)
    : impl_(std::make_shared<Impl>(executor, commands))
{
}

ControlServer::~ControlServer() { stop(); }

Status ControlServer::listen(const std::filesystem::path& path, mode_t mode, const std::string& group)
{
    impl_->group = group;
    auto bound = bind_unix_socket(impl_->acceptor, path, mode, group);
    if (!bound) return bound.error();
    impl_->socket_file = std::move(*bound);
    return {};
}

void ControlServer::start()
{
    spawn_logged(impl_->acceptor.get_executor(), impl_->accept_loop(), "control accept loop");
}

void ControlServer::stop()
{
    if (impl_->stopped) return;
    impl_->stopped = true;
    error_code ec;
    impl_->acceptor.close(ec);
    for (auto& weak : impl_->sessions)
        if (auto socket = weak.lock()) socket->close(ec);
    if (impl_->socket_file) impl_->socket_file->remove();
}

awaitable<void> ControlServer::Impl::accept_loop()
{
    auto self = shared_from_this();
    while (!stopped) {
        auto socket = std::make_shared<Socket>(acceptor.get_executor());
        error_code ec;
        co_await acceptor.async_accept(*socket, asio::redirect_error(use_awaitable, ec));
        if (ec) {
            if (stopped || ec == asio::error::operation_aborted) break;
            co_await back_off_after_accept_error(ec, "control socket");
            continue;
        }
        sessions.remove_if([](const auto& weak) { return weak.expired(); });
        if (sessions.size() >= max_sessions) {
            spdlog::warn("control socket: refused a client: {} sessions open", sessions.size());
            spawn_logged(
                acceptor.get_executor(),
                self->refuse(socket, make_error(ErrorKind::temporary, "too many control connections")),
                "control refusal");
            continue;
        }
        auto peer = unix_peer_credentials(socket->native_handle());
        if (!peer) {
            spawn_logged(
                acceptor.get_executor(),
                self->refuse(socket, make_error(ErrorKind::permission,
                                                "permission denied: cannot read the peer's credentials")),
                "control refusal");
            continue;
        }
        if (sessions_of[peer->uid] >= max_sessions_per_user) {
            spdlog::warn("control socket: refused a client: uid {} has {} sessions open", peer->uid,
                         sessions_of[peer->uid]);
            spawn_logged(acceptor.get_executor(),
                         self->refuse(socket, make_error(ErrorKind::temporary,
                                                         "too many control connections from your user")),
                         "control refusal");
            continue;
        }
        sessions.push_back(socket);
        ++sessions_of[peer->uid];
        const uid_t uid = peer->uid;
        asio::co_spawn(acceptor.get_executor(), self->session(socket, std::move(*peer)),
                       [self, uid](std::exception_ptr error) {
                           if (--self->sessions_of[uid] == 0) self->sessions_of.erase(uid);
                           if (!error) return;
                           try {
                               std::rethrow_exception(error);
                           } catch (const std::exception& e) {
                               spdlog::error("control session failed: {}", e.what());
                           }
                       });
    }
}

awaitable<void> ControlServer::Impl::session(std::shared_ptr<Socket> socket, PeerCredentials peer)
{
    auto self = shared_from_this();
    std::vector<std::string> admins{group.empty() ? std::string("*") : "@" + group};
    auto op = identify_peer(nss.get_executor(), std::move(peer), std::move(admins));  // named: see
                                                                                      // store_async.hpp
    PeerIdentity identity = co_await std::move(op);
    const ControlCaller caller{identity.peer.user, identity.allowed.ok()};
    asio::steady_timer idle(socket->get_executor());
    std::string buffer;
    for (;;) {
        idle.expires_after(idle_timeout);
        idle.async_wait([socket](error_code ec) {
            if (!ec) socket->close(ec);
        });
        error_code ec;
        const std::size_t n =
            co_await asio::async_read_until(*socket, asio::dynamic_buffer(buffer, max_control_request + 1),
                                            '\n', asio::redirect_error(use_awaitable, ec));
        idle.cancel();
        if (ec == asio::error::not_found) {
            const Json too_large = error_response(make_error(
                ErrorKind::usage, "request larger than " + std::to_string(max_control_request) + " bytes"));
            co_await answer(socket, too_large);
            break;
        }
        if (ec && !(ec == asio::error::eof && !buffer.empty())) break;
        // A last request without its newline is still answered.
        const std::size_t used = ec ? buffer.size() : n;
        std::string line = buffer.substr(0, ec ? used : used - 1);
        buffer.erase(0, used);
        Json reply = co_await commands.handle(line, caller);
        if (!co_await answer(socket, reply) || ec) break;
    }
    error_code ignored;
    socket->close(ignored);
}

// An error answer, then the connection closed.
awaitable<void> ControlServer::Impl::refuse(std::shared_ptr<Socket> socket, Error why)
{
    co_await answer(socket, error_response(why));
    co_await await_request(socket);
    error_code ignored;
    socket->close(ignored);
}

// A client writes its request before it reads: closing at once could fail
// that write (EPIPE) before the client sees the answer. So the request is
// awaited, unread, for a few seconds.
awaitable<void> ControlServer::Impl::await_request(std::shared_ptr<Socket> socket)
{
    asio::steady_timer grace(socket->get_executor());
    grace.expires_after(std::chrono::seconds(5));
    grace.async_wait([socket](error_code ec) {
        if (!ec) socket->close(ec);
    });
    std::string request;
    error_code ec;
    co_await asio::async_read_until(*socket, asio::dynamic_buffer(request, max_control_request + 1), '\n',
                                    asio::redirect_error(use_awaitable, ec));
    grace.cancel();
}

// Writes one reply line; false when the client is gone or does not read it
// within write_timeout.
awaitable<bool> ControlServer::Impl::answer(std::shared_ptr<Socket> socket, const Json& reply)
{
    const std::string text = dump_line(reply);
    asio::steady_timer deadline(socket->get_executor());
    deadline.expires_after(write_timeout);
    deadline.async_wait([socket](error_code ec) {
        if (!ec) socket->close(ec);
    });
    error_code ec;
    co_await asio::async_write(*socket, asio::buffer(text), asio::redirect_error(use_awaitable, ec));
    deadline.cancel();
    co_return !ec;
}

}  // namespace mailqd
