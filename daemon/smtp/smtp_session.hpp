// Internal to the SMTP client: the session object whose member coroutines
// are the phases of the conversation. smtp_session.cpp has the set-up phases
// (connect ... AUTH, QUIT), smtp_transaction.cpp the per-message ones.
// Not for use outside daemon/smtp/; the API is smtp_client.hpp.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "daemon/smtp/smtp_auth.hpp"
#include "daemon/smtp/smtp_connection.hpp"
#include "daemon/smtp/smtp_types.hpp"

namespace mailqd {

// A phase's result: nothing, or the outcome that ended the session.
using PhaseError = std::optional<SmtpOutcome>;
// A message's recipients' outcomes, in order; empty while still open.
using Outcomes = std::vector<std::optional<SmtpOutcome>>;

class SmtpSession {
public:
    SmtpSession(asio::any_io_executor executor, SmtpClientOptions options,
                std::shared_ptr<SmtpSessionControl> control);

    awaitable<SessionResult> run(MessageSource source, MessageSink sink);

private:
    // set-up (smtp_session.cpp)
    awaitable<PhaseError> open();
    awaitable<PhaseError> connect();
    awaitable<PhaseError> greet();
    awaitable<PhaseError> hello();
    awaitable<PhaseError> starttls();
    awaitable<PhaseError> authenticate();
    awaitable<PhaseError> auth_exchange(AuthMechanism mechanism);
    awaitable<void> quit();
    awaitable<WireReply> command(std::string line);
    Result<std::shared_ptr<ssl::context>> tls_context();

    // messages (smtp_transaction.cpp)
    // The message pulled ahead to go next; its envelope may have left with
    // the data of the one before (PIPELINING).
    struct NextMessage {
        std::optional<OutgoingMessage> message;
        bool envelope_sent = false;
    };
    // How a transaction left the session: an outcome for every recipient.
    struct TransactionEnd {
        Outcomes outcomes;
        PhaseError error;           // the session is over
        bool reset_needed = false;  // it ended before its end of data: RSET first
        NextMessage next;
    };
    // Up to the reply to DATA: refused recipients settled, the others open.
    struct EnvelopeEnd {
        Outcomes outcomes;
        PhaseError error;
        bool data_wanted = false;  // 354: the data should follow
    };
    // The reply to the final ".": every open recipient's outcome.
    struct DataEnd {
        SmtpOutcome outcome;
        PhaseError error;
    };
    awaitable<SessionResult> deliver(MessageSource source, MessageSink sink);
    awaitable<TransactionEnd> transaction(const OutgoingMessage& message, bool reset_first,
                                          bool envelope_sent, MessageSource* ahead);
    std::vector<std::string> envelope_commands(const OutgoingMessage& message, bool reset_first) const;
    awaitable<EnvelopeEnd> send_envelope(const OutgoingMessage& message, bool reset_first,
                                         bool envelope_sent);
    awaitable<DataEnd> send_message_data(const OutgoingMessage& message, std::vector<std::string> then);
    awaitable<WireReply> exchange(bool pipelined, std::string line);
    bool sendable(const OutgoingMessage& message) const;
    std::optional<SmtpOutcome> check_unsendable(const OutgoingMessage& message) const;

    SmtpClientOptions options_;
    std::shared_ptr<SmtpSessionControl> control_;  // never null
    std::shared_ptr<SmtpConnection> connection_;
    EhloCapabilities capabilities_;
};

// The reply, if the exchange failed or the reply is not of the wanted class
// (2 for 2xx, 3 for 3xx): the outcome to report at that stage.
PhaseError unexpected(SmtpStage stage, const WireReply& reply, int wanted_class);

}  // namespace mailqd
