// The SMTP client's entry point and its stop handle (see smtp_client.hpp);
// the conversation is SmtpSession's (smtp_session.cpp, smtp_transaction.cpp).
#include "daemon/smtp/smtp_client.hpp"

#include "daemon/smtp/smtp_connection.hpp"
#include "daemon/smtp/smtp_session.hpp"

namespace mailqd {

void SmtpSessionControl::abort()
{
    aborted_ = true;
    if (auto connection = connection_.lock()) connection->abort();
}

std::string SmtpSessionControl::peer() const
{
    auto connection = connection_.lock();
    return connection ? connection->peer() : std::string();
}

awaitable<SessionResult> run_smtp_session(SmtpClientOptions options, MessageSource source, MessageSink sink,
                                          std::shared_ptr<SmtpSessionControl> control)
{
    SmtpSession session(co_await asio::this_coro::executor, std::move(options), std::move(control));
    // Awaitables holding std::function or shared_ptr arguments are named
    // first: GCC 12 can destroy such temporaries of a co_await twice.
    auto run = session.run(std::move(source), std::move(sink));
    co_return co_await std::move(run);
}

}  // namespace mailqd
