// The submit door's listeners, accept loops and session registry; see
// submit_server.hpp. The conversation itself is in submit_session.cpp.
#include "daemon/submit/submit_server.hpp"

#include <unistd.h>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

#include <spdlog/spdlog.h>

#include "daemon/net/peer_access.hpp"
#include "daemon/net/transport.hpp"
#include "daemon/net/unix_listener.hpp"
#include "daemon/submit/submit_listen.hpp"
#include "daemon/submit/submit_session.hpp"

namespace mailqd {
namespace {

// The submitting Unix user (DESIGN.md section 3): the peer's uid from the
// kernel, as a name when it has one.
std::string peer_identity(asio::local::stream_protocol::socket& socket)
{
    auto peer = peer_credentials(socket.native_handle());
    return peer ? peer->user : std::string("unknown");
}

// Only members of the socket's group (and root, and the daemon's own user)
// may submit through the Unix socket, whatever its file mode says. The TCP
// listener has no credentials; it is for loopback.
Status peer_allowed(asio::local::stream_protocol::socket& socket, const std::string& group)
{
    return check_peer_group(socket.native_handle(), group);
}

Status peer_allowed(asio::ip::tcp::socket&, const std::string&) { return {}; }

std::string peer_identity(asio::ip::tcp::socket& socket)
{
    error_code ec;
    auto endpoint = socket.remote_endpoint(ec);
    return ec ? std::string("tcp:unknown") : "tcp:" + endpoint.address().to_string();
}

}  // namespace

struct SubmitServer::Impl : std::enable_shared_from_this<Impl> {
    Impl(asio::any_io_executor ex, SubmitOptions opts, AcceptFn fn)
        : executor(std::move(ex)),
          options(std::move(opts)),
          accept(std::make_shared<const AcceptFn>(std::move(fn)))
    {
    }

    asio::any_io_executor executor;
    SubmitOptions options;
    std::shared_ptr<const AcceptFn> accept;
    std::optional<UnixAcceptor> unix_acceptor;
    std::optional<SocketFile> unix_file;  // removed at stop
    std::string unix_group;               // peers must be in it; empty: anyone the file mode lets in
    std::optional<TcpAcceptor> tcp_acceptor;
    bool stopped = false;

    mutable std::mutex mutex;  // guards options and sessions (read by other threads)
    std::map<std::uint64_t, std::weak_ptr<Transport>> sessions;
    std::uint64_t next_session = 0;

    // self keeps the acceptor, which lives in *self, alive.
    template <class Acceptor>
    static awaitable<void> accept_loop(std::shared_ptr<Impl> self, Acceptor& acceptor, std::string door);
    template <class Socket>
    void start_session(Socket socket, std::string door);
    void close_listeners();
};

namespace {

awaitable<void> refuse(std::shared_ptr<Transport> stream, std::string line)
{
    co_await stream->write(line + "\r\n", std::chrono::seconds(5));
    stream->close();
}

}  // namespace

template <class Acceptor>
awaitable<void> SubmitServer::Impl::accept_loop(std::shared_ptr<Impl> self, Acceptor& acceptor,
                                                std::string door)
{
    asio::steady_timer pause(self->executor);
    while (!self->stopped && acceptor.is_open()) {
        error_code ec;
        auto socket = co_await acceptor.async_accept(asio::redirect_error(use_awaitable, ec));
        if (self->stopped || ec == asio::error::operation_aborted) co_return;
        if (ec) {
            // EMFILE and friends: back off instead of spinning.
            spdlog::warn("submit: accept on {} listener: {}", door, ec.message());
            pause.expires_after(std::chrono::milliseconds(200));
            co_await pause.async_wait(asio::redirect_error(use_awaitable, ec));
            continue;
        }
        self->start_session(std::move(socket), door);
    }
}

template <class Socket>
void SubmitServer::Impl::start_session(Socket socket, std::string door)
{
    SessionParams params{{}, accept, std::move(door), peer_identity(socket)};
    {
        std::lock_guard lock(mutex);
        params.options = options;
    }
    Status allowed = peer_allowed(socket, unix_group);
    TransportOptions transport;
    transport.timeout = params.options.timeout;
    auto stream = std::make_shared<Transport>(StreamSocket(std::move(socket)), std::move(transport));
    if (!allowed) {
        spdlog::warn("submit: refused {}: {}", params.submitter, allowed.error().message);
        asio::co_spawn(executor,
                       refuse(stream, "554 5.7.1 not authorised to submit (" + allowed.error().message + ")"),
                       asio::detached);
        return;
    }
    std::uint64_t id = 0;
    {
        std::lock_guard lock(mutex);
        const unsigned max_clients = params.options.max_clients;
        if (sessions.size() >= max_clients) {
            spdlog::warn("submit: refusing a {} client: max_clients={} reached", params.door, max_clients);
            asio::co_spawn(executor, refuse(stream, "421 4.3.2 Too many connections"), asio::detached);
            return;
        }
        id = ++next_session;
        sessions.emplace(id, stream);
    }
    spdlog::debug("submit: {} connection from {}", params.door, params.submitter);
    auto session = std::make_shared<SubmitSession>(stream, std::move(params));
    asio::co_spawn(
        executor, [session]() -> awaitable<void> { co_await session->run(); },
        [self = shared_from_this(), id, stream](std::exception_ptr error) {
            if (error) {
                try {
                    std::rethrow_exception(error);
                } catch (const std::exception& e) {
                    spdlog::warn("submit: session ended by an exception: {}", e.what());
                } catch (...) {
                    spdlog::warn("submit: session ended by an unknown exception");
                }
            }
            stream->close();
            std::lock_guard lock(self->mutex);
            self->sessions.erase(id);
        });
}

void SubmitServer::Impl::close_listeners()
{
    error_code ec;
    if (unix_acceptor) unix_acceptor->close(ec);
    if (tcp_acceptor) tcp_acceptor->close(ec);
    if (unix_file) unix_file->remove();
}

SubmitServer::SubmitServer(asio::any_io_executor executor, SubmitOptions options, AcceptFn accept)
    : impl_(std::make_shared<Impl>(std::move(executor), std::move(options), std::move(accept)))
{
}

SubmitServer::~SubmitServer() { stop(); }

Status SubmitServer::listen_unix(const std::filesystem::path& path, mode_t mode, const std::string& group)
{
    UnixAcceptor acceptor(impl_->executor);
    auto bound = bind_unix_socket(acceptor, path, mode, group);
    if (!bound) return bound.error();
    impl_->unix_acceptor.emplace(std::move(acceptor));
    impl_->unix_file = std::move(*bound);
    impl_->unix_group = group;
    return {};
}

Status SubmitServer::listen_tcp(const std::string& address)
{
    auto acceptor = bind_tcp_socket(impl_->executor, address);
    if (!acceptor) return acceptor.error();
    impl_->tcp_acceptor.emplace(std::move(*acceptor));
    return {};
}

void SubmitServer::start()
{
    auto log_end = [](std::exception_ptr error) {
        if (!error) return;
        try {
            std::rethrow_exception(error);
        } catch (const std::exception& e) {
            spdlog::error("submit: accept loop failed: {}", e.what());
        }
    };
    if (impl_->unix_acceptor)
        asio::co_spawn(impl_->executor, Impl::accept_loop(impl_, *impl_->unix_acceptor, "socket"), log_end);
    if (impl_->tcp_acceptor)
        asio::co_spawn(impl_->executor, Impl::accept_loop(impl_, *impl_->tcp_acceptor, "tcp"), log_end);
}

void SubmitServer::stop()
{
    impl_->stopped = true;
    impl_->close_listeners();
    std::vector<std::shared_ptr<Transport>> live;
    {
        std::lock_guard lock(impl_->mutex);
        for (auto& [id, weak] : impl_->sessions)
            if (auto stream = weak.lock()) live.push_back(std::move(stream));
    }
    // Closing ends each session at its next read or write; a session waiting
    // on a commit finishes it, then finds its socket closed.
    for (auto& stream : live) stream->close();
}

void SubmitServer::set_options(SubmitOptions options)
{
    std::lock_guard lock(impl_->mutex);
    impl_->options = std::move(options);
}

std::size_t SubmitServer::active_sessions() const
{
    std::lock_guard lock(impl_->mutex);
    return impl_->sessions.size();
}

std::uint16_t SubmitServer::tcp_port() const
{
    if (!impl_->tcp_acceptor || !impl_->tcp_acceptor->is_open()) return 0;
    error_code ec;
    auto endpoint = impl_->tcp_acceptor->local_endpoint(ec);
    return ec ? 0 : endpoint.port();
}

}  // namespace mailqd
