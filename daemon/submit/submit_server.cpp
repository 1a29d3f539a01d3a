// The submit door's listeners, accept loops and session registry; see
// submit_server.hpp. The conversation itself is in submit_session.cpp.
#include "daemon/submit/submit_server.hpp"

#include <unistd.h>
#include <algorithm>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

#include <spdlog/spdlog.h>

#include "daemon/net/accept_backoff.hpp"
#include "daemon/net/peer_access.hpp"
#include "daemon/net/transport.hpp"
#include "daemon/net/unix_listener.hpp"
#include "daemon/submit/submit_listen.hpp"
#include "daemon/submit/submit_session.hpp"
#include "daemon/submit/user_rate.hpp"

namespace mailqd {
namespace {

// Who is connecting, from the kernel alone (no NSS on the io thread): the
// Unix socket's peer, or the owner of a loopback TCP client's socket.
std::optional<PeerCredentials> credentials(asio::local::stream_protocol::socket& socket)
{
    return unix_peer_credentials(socket.native_handle());
}

std::optional<PeerCredentials> credentials(asio::ip::tcp::socket& socket)
{
    return tcp_peer_credentials(socket.native_handle());
}

std::size_t budget_for(const SubmitOptions& options)
{
    return options.data_budget ? options.data_budget : DataBudget::for_message_size(options.max_message_size);
}

// One user may hold three quarters of the slots: the rest stay for others.
unsigned per_user_limit(unsigned max_clients) { return std::max(1u, max_clients - max_clients / 4); }

}  // namespace

struct SubmitServer::Impl : std::enable_shared_from_this<Impl> {
    Impl(asio::any_io_executor ex, SubmitOptions opts, AcceptFn fn)
        : executor(std::move(ex)),
          options(std::move(opts)),
          accept(std::make_shared<const AcceptFn>(std::move(fn))),
          budget(std::make_shared<DataBudget>(budget_for(options))),
          rate(std::make_shared<UserRate>(options.user_rate))
    {
    }

    asio::any_io_executor executor;
    SubmitOptions options;
    std::shared_ptr<const AcceptFn> accept;
    std::shared_ptr<DataBudget> budget;                                           // io thread only
    std::shared_ptr<UserRate> rate;                                               // io thread only
    std::shared_ptr<RefusalCounts> refusals = std::make_shared<RefusalCounts>();  // io thread only
    std::optional<UnixAcceptor> unix_acceptor;
    std::optional<SocketFile> unix_file;  // removed at stop
    std::optional<TcpAcceptor> tcp_acceptor;
    bool stopped = false;

    mutable std::mutex mutex;  // guards options and sessions (read by other threads)
    std::map<std::uint64_t, std::weak_ptr<Transport>> sessions;
    std::map<uid_t, unsigned> sessions_of;  // by the peer's uid
    std::uint64_t next_session = 0;
    // Name and group lookups (NSS, maybe LDAP) wait here, not on the io thread.
    asio::thread_pool nss{1};

    // self keeps the acceptor, which lives in *self, alive.
    template <class Acceptor>
    static awaitable<void> accept_loop(std::shared_ptr<Impl> self, Acceptor& acceptor, std::string door);
    template <class Socket>
    void start_session(Socket socket, std::string door);
    awaitable<void> serve(std::shared_ptr<Transport> stream, SessionParams params, PeerCredentials peer);
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
    while (!self->stopped && acceptor.is_open()) {
        error_code ec;
        auto socket = co_await acceptor.async_accept(asio::redirect_error(use_awaitable, ec));
        if (self->stopped || ec == asio::error::operation_aborted) co_return;
        if (ec) {
            co_await back_off_after_accept_error(ec, "submit: " + door + " listener");
            continue;
        }
        self->start_session(std::move(socket), door);
    }
}

template <class Socket>
void SubmitServer::Impl::start_session(Socket socket, std::string door)
{
    std::optional<PeerCredentials> peer = credentials(socket);
    SessionParams params{{}, accept, std::move(door), "", static_cast<uid_t>(-1), budget, rate, refusals};
    {
        std::lock_guard lock(mutex);
        params.options = options;
    }
    TransportOptions transport;
    transport.timeout = params.options.timeout;
    transport.session_deadline = Transport::Clock::now() + params.options.session_limit;
    auto stream = std::make_shared<Transport>(StreamSocket(std::move(socket)), std::move(transport));
    if (!peer) {
        // A loopback TCP client whose socket the kernel cannot name: no user
        // to check or record, so no way in.
        spdlog::warn("submit: refused a {} client: cannot tell which local user it is", params.door);
        refusals->add(Refused::unidentified);
        asio::co_spawn(executor, refuse(stream, "421 4.7.0 cannot tell which local user is connecting"),
                       asio::detached);
        return;
    }
    std::uint64_t id = 0;
    {
        std::lock_guard lock(mutex);
        const unsigned max_clients = params.options.max_clients;
        if (sessions.size() >= max_clients) {
            spdlog::warn("submit: refusing a {} client: max_clients={} reached", params.door, max_clients);
            refusals->add(Refused::clients);
            asio::co_spawn(executor, refuse(stream, "421 4.3.2 Too many connections"), asio::detached);
            return;
        }
        if (sessions_of[peer->uid] >= per_user_limit(max_clients)) {
            spdlog::warn("submit: refusing a {} client: uid {} has {} sessions open", params.door, peer->uid,
                         sessions_of[peer->uid]);
            refusals->add(Refused::clients);
            asio::co_spawn(executor, refuse(stream, "421 4.7.0 Too many connections from your user"),
                           asio::detached);
            return;
        }
        id = ++next_session;
        sessions.emplace(id, stream);
        ++sessions_of[peer->uid];
    }
    const uid_t uid = peer->uid;
    asio::co_spawn(executor, serve(stream, std::move(params), std::move(*peer)),
                   [self = shared_from_this(), id, uid, stream](std::exception_ptr error) {
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
                       if (--self->sessions_of[uid] == 0) self->sessions_of.erase(uid);
                   });
}

// Names the peer and checks it against submit.users off the io thread,
// then runs the conversation under that name.
awaitable<void> SubmitServer::Impl::serve(std::shared_ptr<Transport> stream, SessionParams params,
                                          PeerCredentials peer)
{
    auto op = identify_peer(nss.get_executor(), std::move(peer), params.options.users);  // named: see
                                                                                         // store_async.hpp
    PeerIdentity identity = co_await std::move(op);
    params.submitter = identity.peer.user;
    params.uid = identity.peer.uid;
    if (!identity.allowed) {
        spdlog::warn("submit: refused {}: {} (submit.users)", params.submitter,
                     identity.allowed.error().message);
        refusals->add(Refused::user);
        co_return co_await refuse(stream, "554 5.7.1 user " + params.submitter + " may not submit");
    }
    spdlog::debug("submit: {} connection from {}", params.door, params.submitter);
    SubmitSession session(stream, std::move(params));
    co_await session.run();
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
    impl_->budget->set_total(budget_for(options));
    impl_->rate->set_limit(options.user_rate);
    std::lock_guard lock(impl_->mutex);
    impl_->options = std::move(options);
}

std::size_t SubmitServer::active_sessions() const
{
    std::lock_guard lock(impl_->mutex);
    return impl_->sessions.size();
}

RefusalCounts SubmitServer::refusals() const { return *impl_->refusals; }

std::size_t SubmitServer::data_in_use() const { return impl_->budget->in_use(); }

std::uint16_t SubmitServer::tcp_port() const
{
    if (!impl_->tcp_acceptor || !impl_->tcp_acceptor->is_open()) return 0;
    error_code ec;
    auto endpoint = impl_->tcp_acceptor->local_endpoint(ec);
    return ec ? 0 : endpoint.port();
}

}  // namespace mailqd
