// See relay_pool.hpp.
#include "daemon/smtp/relay_pool.hpp"

#include <spdlog/spdlog.h>
#include <algorithm>
#include <random>

#include "daemon/logging.hpp"
#include "daemon/net/spawn.hpp"
#include "daemon/secret_async.hpp"

namespace mailqd {
namespace {

double random01()
{
    thread_local std::mt19937_64 generator{std::random_device{}()};
    return std::uniform_real_distribution<double>(0.0, 1.0)(generator);
}

bool needs_secret(const RelayConfig& relay)
{
    return relay.auth != RelayAuth::none && !relay.password.empty() &&
           (relay.auth != RelayAuth::automatic || !relay.username.empty());
}

std::uint64_t recipients_of(const Delivery& delivery) { return delivery.recipients.size(); }

}  // namespace

RelayPool::RelayPool(asio::any_io_executor io, asio::any_io_executor blocking, RelaySettings settings,
                     PoolOwner& owner, DeliveryRecorder& recorder)
    : io_(io),
      blocking_(std::move(blocking)),
      settings_(std::move(settings)),
      owner_(owner),
      recorder_(recorder),
      rate_timer_(io)
{
    make_tls_context();
}

void RelayPool::make_tls_context()
{
    tls_context_.reset();
    if (settings_.relay.tls == TlsMode::none) return;
    auto context =
        make_client_tls_context(TlsClientOptions{settings_.relay.verify, settings_.relay.ca_file.string()});
    // On error each session builds its own and fails with the reason.
    if (context)
        tls_context_ = std::move(*context);
    else
        spdlog::warn("relay {}: {}", name(), context.error().message);
}

void RelayPool::update(RelaySettings settings)
{
    const bool tls_changed = settings.relay.tls != settings_.relay.tls ||
                             settings.relay.verify != settings_.relay.verify ||
                             settings.relay.ca_file != settings_.relay.ca_file;
    const bool endpoint_changed = tls_changed || settings.relay.host != settings_.relay.host ||
                                  settings.relay.port != settings_.relay.port;
    settings_ = std::move(settings);
    if (tls_changed) make_tls_context();
    if (endpoint_changed) {  // a new relay deserves a fresh try
        suspended_until_.reset();
        healthy_ = false;
    }
    pump();
}

bool RelayPool::suspended() const { return suspended_until_ && now_seconds() < *suspended_until_; }

bool RelayPool::has_room() const
{
    if (stopped_ || draining_) return false;
    const std::uint64_t backlog = std::clamp<std::uint64_t>(
        std::uint64_t(settings_.relay.connections) * settings_.relay.messages_per_connection, 1, 1000);
    return queued_recipients_ < backlog;
}

void RelayPool::enqueue(Delivery delivery)
{
    if (suspended()) {
        const auto left = std::chrono::duration_cast<std::chrono::seconds>(*suspended_until_ - now_seconds());
        recorder_.defer(delivery, name(), suspended_peer_,
                        "delivery temporarily suspended: " + suspended_reason_, random01(), left);
        return;
    }
    queued_recipients_ += recipients_of(delivery);
    queue_.push_back(std::move(delivery));
    pump();
}

void RelayPool::drain()
{
    draining_ = true;
    rate_timer_.cancel();
    for (const auto& delivery : queue_) owner_.release(delivery);
    queue_.clear();
    queued_recipients_ = 0;
}

void RelayPool::stop()
{
    stopped_ = true;
    rate_timer_.cancel();
    queue_.clear();
    queued_recipients_ = 0;
    for (const auto& session : sessions_) session->control->abort();
}

void RelayPool::pump()
{
    if (stopped_ || draining_) return;
    while (!queue_.empty() && may_start_session()) start_session();
}

bool RelayPool::may_start_session()
{
    const RelayConfig& relay = settings_.relay;
    if (sessions_.size() >= std::max(1u, relay.connections)) return false;
    if (!healthy_ && setting_up_ > 0) return false;  // one probe at a time
    if (queue_.size() <= setting_up_) return false;  // sessions on their way will take these
    if (relay.rate == 0) return true;
    // Do not open a connection only to hold it idle until the next slot.
    const auto hold = std::chrono::duration_cast<std::chrono::steady_clock::duration>(relay.timeout) / 2;
    const auto now = std::chrono::steady_clock::now();
    if (next_send_ <= now + hold) return true;
    rate_timer_.expires_at(next_send_ - hold);
    rate_timer_.async_wait([self = weak_from_this()](error_code ec) {
        if (auto pool = self.lock(); pool && !ec) pool->pump();
    });
    return false;
}

void RelayPool::start_session()
{
    auto session = std::make_shared<Session>();
    sessions_.push_back(session);
    ++setting_up_;
    // The session holds the pool: it may outlive the pool's place in the
    // scheduler (a reload that removed the relay).
    spawn_logged(io_, run_session(shared_from_this(), session), "relay " + name() + " session");
}

awaitable<void> RelayPool::run_session(std::shared_ptr<RelayPool> /*keeps this alive*/,
                                       std::shared_ptr<Session> session)
{
    std::string secret;
    if (needs_secret(settings_.relay)) {
        auto op = read_secret_async(blocking_, settings_.relay.password);  // named: see store_async.hpp
        Result<std::string> read = co_await std::move(op);
        if (!read) {
            SessionResult result;
            result.error = failure_outcome(SmtpStage::auth, SmtpFailure::policy, read.error().message);
            session_ended(*session, result);
            co_return;
        }
        secret = std::move(*read);
    }
    MessageSource source = [this, session](Pull pull) { return next_message(session, pull); };
    MessageSink sink = [this, session](const MessageOutcome& outcome) { message_done(*session, outcome); };
    auto op = run_smtp_session(client_options(std::move(secret)), std::move(source), std::move(sink),
                               session->control);
    SessionResult result = co_await std::move(op);
    session_ended(*session, result);
}

SmtpClientOptions RelayPool::client_options(std::string secret) const
{
    const RelayConfig& relay = settings_.relay;
    SmtpClientOptions options;
    options.relay_name = relay.name;
    options.host = relay.host;
    options.port = relay.port;
    options.tls = relay.tls;
    options.verify = relay.verify;
    options.ca_file = relay.ca_file.string();
    options.tls_context = tls_context_;
    options.helo_name = relay.helo.empty() ? settings_.default_helo : relay.helo;
    options.auth = relay.auth;
    options.username = relay.username;
    options.secret = std::move(secret);
    options.timeout = relay.timeout;
    // Long enough for a big batch, short enough that a trickling server
    // cannot hold a connection slot for ever.
    options.session_limit = std::max<std::chrono::milliseconds>(std::chrono::minutes(5), relay.timeout * 10);
    options.max_messages = std::max(1u, relay.messages_per_connection);
    options.protocol_trace = settings_.protocol_trace;
    return options;
}

// The set-up worked: the relay is usable, more sessions may open (the
// caller pumps once it has taken its message, so none opens for that one).
void RelayPool::session_ready(Session& session)
{
    if (session.set_up) return;
    session.set_up = true;
    --setting_up_;
    healthy_ = true;
    suspended_until_.reset();
}

awaitable<std::optional<OutgoingMessage>> RelayPool::next_message(std::shared_ptr<Session> session, Pull pull)
{
    session_ready(*session);
    std::optional<OutgoingMessage> message = co_await take_message(session, pull);
    pump();
    co_return message;
}

awaitable<std::optional<OutgoingMessage>> RelayPool::take_message(std::shared_ptr<Session> session, Pull pull)
{
    while (!stopped_ && !draining_ && !queue_.empty()) {
        if (settings_.relay.rate > 0) {
            // Ahead of time, only a slot that is free now: never hold back the data in hand.
            if (pull == Pull::ahead && next_send_ > std::chrono::steady_clock::now()) break;
            if (!co_await wait_for_rate()) break;
        }
        if (stopped_ || draining_ || queue_.empty()) break;
        Delivery delivery = std::move(queue_.front());
        queue_.pop_front();
        queued_recipients_ -= recipients_of(delivery);
        std::optional<OutgoingMessage> message = owner_.prepare(delivery);
        if (!message) continue;  // held or deleted meanwhile: handed back
        sending_recipients_ += recipients_of(delivery);
        session->pulled.push_back(std::move(delivery));
        co_return message;
    }
    co_return std::nullopt;
}

// Takes the next slot of `rate` messages per minute, shared by the relay's
// sessions; false when that slot is too far away to keep a connection idle.
awaitable<bool> RelayPool::wait_for_rate()
{
    using namespace std::chrono;
    const auto interval = duration_cast<steady_clock::duration>(minutes(1)) / settings_.relay.rate;
    const auto hold = duration_cast<steady_clock::duration>(settings_.relay.timeout) / 2;
    const auto now = steady_clock::now();
    const auto slot = std::max(now, next_send_);
    if (slot > now + hold) co_return false;
    next_send_ = slot + interval;
    if (slot > now) {
        asio::steady_timer timer(io_);
        timer.expires_at(slot);
        error_code ec;
        co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
    }
    co_return !stopped_;
}

void RelayPool::message_done(Session& session, const MessageOutcome& outcome)
{
    // Outcomes come in the order the messages were pulled.
    if (session.pulled.empty() || session.pulled.front().message_id != outcome.id) return;
    Delivery delivery = std::move(session.pulled.front());
    session.pulled.pop_front();
    sending_recipients_ -= recipients_of(delivery);
    MessageOutcome recorded = outcome;
    if (stopped_) {
        // Aborted at shutdown: keep only what the server decided, so an
        // interrupted transaction leaves its recipients as they were.
        std::erase_if(recorded.recipients, [](const RecipientOutcome& r) {
            return classify(r.outcome) == RecipientState::deferred;
        });
        if (recorded.recipients.empty()) return;
    }
    recorder_.record(delivery, recorded, name(), session.control->peer());
}

void RelayPool::session_ended(Session& session, const SessionResult& result)
{
    if (!session.set_up) --setting_up_;
    std::erase_if(sessions_, [&](const auto& s) { return s.get() == &session; });
    for (const auto& delivery : session.pulled) {  // cannot happen: every pulled message gets an outcome
        sending_recipients_ -= recipients_of(delivery);
        owner_.release(delivery);
    }
    session.pulled.clear();
    if (stopped_) return;
    if (result.relay_failed())
        relay_failed(*result.error, result.peer);
    else if (result.error)
        spdlog::info("relay {}: session with {} ended: {} stage={}", name(), result.peer,
                     describe(*result.error), to_string(result.error->stage));
    pump();
}

void RelayPool::relay_failed(const SmtpOutcome& error, const std::string& peer)
{
    const std::string reason = describe(error);
    healthy_ = false;
    const double draw = random01();
    int attempts = queue_.empty() ? 0 : std::numeric_limits<int>::max();
    for (const auto& delivery : queue_)
        for (const auto& r : delivery.recipients) attempts = std::min(attempts, r.attempts);
    const auto delay = backoff_delay(recorder_.policy().backoff, attempts + 1, draw);
    spdlog::warn("relay {}: {}: stage={}: {} queued messages deferred, next try in {}s",
                 log_relay(name(), peer), log_quoted(reason), to_string(error.stage), queue_.size(),
                 delay.count());
    for (const auto& delivery : queue_)
        recorder_.defer(delivery, name(), peer, reason, draw, std::chrono::seconds(0));
    queue_.clear();
    queued_recipients_ = 0;
    suspended_until_ = now_seconds() + delay;
    suspended_reason_ = reason;
    suspended_peer_ = peer;
}

}  // namespace mailqd
