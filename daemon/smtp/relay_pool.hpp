// One relay's share of the delivery engine: a queue of deliveries routed to
// it and up to `connections` concurrent SMTP sessions (run_smtp_session),
// each pulling messages from that queue (up to messages_per_connection,
// paced by `rate`) and QUITting when it is empty. Outcomes go to the
// DeliveryRecorder as each message's transaction ends.
// A session that fails before its first message (connect, greeting, TLS,
// STARTTLS, AUTH) says the relay is unusable: every delivery queued here is
// deferred with that reason and one backoff, and deliveries routed here
// until that retry time are deferred at once, so a dead relay costs one
// connection attempt per backoff step. After such a failure (and at start)
// only one session probes the relay; more open once it works.
// Runs on the io thread; secrets are read on the blocking executor.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "daemon/delivery_recorder.hpp"
#include "daemon/delivery_types.hpp"
#include "daemon/net/asio.hpp"
#include "daemon/net/tls_context.hpp"
#include "daemon/smtp/smtp_client.hpp"
#include "spool/config.hpp"

namespace mailqd {

// What a pool needs from the scheduler that owns it.
class PoolOwner {
public:
    virtual ~PoolOwner() = default;
    // Just before a delivery is sent: drops recipients that were held, sent
    // or deleted meanwhile (handing them back) and loads the message text.
    // nullopt: nothing is left to send.
    virtual std::optional<OutgoingMessage> prepare(Delivery& delivery) = 0;
    // Recipients handed back without an attempt (relay removed by a reload).
    virtual void release(const Delivery& delivery) = 0;
};

struct RelaySettings {
    RelayConfig relay;
    std::string default_helo;  // queue.hostname, when relay.helo is empty
    bool protocol_trace = false;
};

class RelayPool : public std::enable_shared_from_this<RelayPool> {
public:
    RelayPool(asio::any_io_executor io, asio::any_io_executor blocking, RelaySettings settings,
              PoolOwner& owner, DeliveryRecorder& recorder);

    const std::string& name() const { return settings_.relay.name; }
    void enqueue(Delivery delivery);
    // New options for sessions started from now on (SIGHUP).
    void update(RelaySettings settings);
    // Ends a suspension after a relay failure (an admin's retry): the next
    // delivery probes the relay again.
    void resume() { suspended_until_.reset(); }
    // The relay left the config: queued deliveries go back to the owner,
    // sessions end after their current message.
    void drain();
    // Shutdown: sessions are aborted; what they had not finished stays as
    // the store has it (only server-decided outcomes are recorded).
    void stop();
    // Recipients queued here or in a session.
    std::uint64_t in_flight() const { return queued_recipients_ + sending_recipients_; }
    // Whether more deliveries are welcome now: the backlog waiting for a
    // session is below what the sessions can take in one round
    // (connections x messages_per_connection, at most 1000 recipients).
    bool has_room() const;

private:
    struct Session {
        std::shared_ptr<SmtpSessionControl> control = std::make_shared<SmtpSessionControl>();
        std::deque<Delivery> pulled;  // outcome not yet told (the next one may be pulled ahead)
        bool set_up = false;          // pulled its first message
    };

    void pump();
    bool may_start_session();
    void start_session();
    awaitable<void> run_session(std::shared_ptr<RelayPool> self, std::shared_ptr<Session> session);
    awaitable<std::optional<OutgoingMessage>> next_message(std::shared_ptr<Session> session, Pull pull);
    awaitable<std::optional<OutgoingMessage>> take_message(std::shared_ptr<Session> session, Pull pull);
    awaitable<bool> wait_for_rate();
    void session_ready(Session& session);
    void message_done(Session& session, const MessageOutcome& outcome);
    void session_ended(Session& session, const SessionResult& result);
    void relay_failed(const SmtpOutcome& error, const std::string& peer);
    SmtpClientOptions client_options(std::string secret) const;
    void make_tls_context();
    bool suspended() const;

    asio::any_io_executor io_;
    asio::any_io_executor blocking_;
    RelaySettings settings_;
    PoolOwner& owner_;
    DeliveryRecorder& recorder_;
    std::shared_ptr<ssl::context> tls_context_;
    std::deque<Delivery> queue_;
    std::vector<std::shared_ptr<Session>> sessions_;
    unsigned setting_up_ = 0;
    std::uint64_t queued_recipients_ = 0;
    std::uint64_t sending_recipients_ = 0;
    bool healthy_ = false;  // a session got through set-up since the last relay failure
    bool draining_ = false;
    bool stopped_ = false;
    std::optional<TimePoint> suspended_until_;  // after a relay failure
    std::string suspended_reason_;
    std::string suspended_peer_;
    asio::steady_timer rate_timer_;
    std::chrono::steady_clock::time_point next_send_{};  // rate: the next free slot
};

}  // namespace mailqd
