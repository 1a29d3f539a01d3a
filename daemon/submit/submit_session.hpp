// One client conversation on the submit door (ESMTP or LMTP), as a
// coroutine that reads like RFC 5321: greet, then commands until QUIT.
// Knows neither config nor store: it gets its options, who the client is,
// and the function that commits a message; it answers 250 only after that
// function reports the commit. Trusts nothing the client sends: commands are
// bounded, DATA by max_message_size and the door's memory budget (451 4.3.1
// past it), header lines by RFC 5322's 998 characters; DATA ends only on
// CRLF.CRLF for a client that sends CRLF (DataDecoder: no smuggling); stalls,
// trickles and endless conversations end in 421.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "daemon/net/asio.hpp"
#include "daemon/net/transport.hpp"
#include "daemon/submit/data_budget.hpp"
#include "daemon/submit/submit_commands.hpp"
#include "daemon/submit/submit_options.hpp"
#include "daemon/submit/user_rate.hpp"

namespace mailqd {

struct SessionParams {
    SubmitOptions options;
    std::shared_ptr<const AcceptFn> accept;
    std::string door;                         // "socket" or "tcp"
    std::string submitter;                    // the peer's Unix user name (its uid when it has none)
    uid_t uid = static_cast<uid_t>(-1);       // the peer's
    std::shared_ptr<DataBudget> budget;       // shared by the door's sessions; null: unbounded
    std::shared_ptr<UserRate> rate;           // shared; null: unlimited
    std::shared_ptr<RefusalCounts> refusals;  // shared; null: not counted
};

// Limits of a conversation (not configurable: they only bound abuse).
inline constexpr std::size_t max_command_line = 4096;
inline constexpr unsigned max_errors = 10;
inline constexpr std::size_t max_pending_replies = 16 * 1024;  // bytes
// DATA may take the timeout plus the time its bytes take at this rate
// (Postfix's smtpd_min_data_rate): a client trickling a byte a minute is cut
// off, a large message on a slow link is not.
inline constexpr std::uint64_t min_data_rate = 500;  // bytes per second

class SubmitSession {
public:
    SubmitSession(std::shared_ptr<Transport> stream, SessionParams params);

    // The whole conversation; returns when the client is gone or was sent
    // away. Never throws for what a client does.
    awaitable<void> run();

private:
    enum class Next { proceed, hang_up };

    awaitable<Next> dispatch(const SubmitCommand& cmd);
    void on_hello(const SubmitCommand& cmd);
    void on_mail(const SubmitCommand& cmd);
    void on_rcpt(const SubmitCommand& cmd);
    awaitable<Next> on_data();
    enum class Refusal { none, too_big, header_line, no_memory };
    awaitable<IoResult> receive_data(std::string& raw, Refusal& refusal, DataClaim& claim);
    awaitable<void> commit(std::string raw);
    // Whether the user is over submit.user_rate (and if so, counted);
    // take: the message counts towards it from now.
    bool over_user_rate(bool take);
    std::string user_rate_text() const;
    void count(Refused why);
    void reply_each_recipient(std::string_view code, std::string_view enhanced, std::string_view text);

    void reply(std::string_view line);
    void reply_error(std::string_view line);  // counts towards max_errors
    awaitable<bool> flush();
    awaitable<void> hang_up(std::string_view line);
    void reset_transaction();

    std::shared_ptr<Transport> stream_;
    SessionParams params_;
    std::string out_;  // replies not yet flushed (PIPELINING)
    unsigned errors_ = 0;
    bool greeted_ = false;
    bool lmtp_ = false;
    bool crlf_client_ = false;  // some command line ended in CRLF
    bool have_mail_ = false;
    std::string sender_;
    MessageDsn dsn_;                           // MAIL's RET and ENVID
    std::vector<std::string> recipients_;      // as accepted, one LMTP reply each
    std::vector<RecipientDsn> recipient_dsn_;  // RCPT's NOTIFY and ORCPT, one per recipients_
};

}  // namespace mailqd
