// See store_async.hpp.
#include "daemon/store_async.hpp"

namespace mailqd {

awaitable<Status> run_in_writer(StoreWriter& writer, StoreWriter::Job job)
{
    auto executor = co_await asio::this_coro::executor;
    auto initiate = [&writer, executor](auto handler, StoreWriter::Job job) {
        // Done is a std::function (copyable); the coroutine's handler is not.
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        asio::any_io_executor work = asio::prefer(executor, asio::execution::outstanding_work.tracked);
        // The handler moves into what is posted: the coroutine it resumes is
        // then owned by the io thread alone, never released by the writer.
        writer.post(std::move(job), [shared = std::move(shared), work](Status status) mutable {
            asio::any_io_executor to = std::move(work);  // released once posted
            asio::post(to, [shared = std::move(shared), status = std::move(status)]() mutable {
                (*shared)(std::move(status));
            });
        });
    };
    co_return co_await asio::async_initiate<decltype(use_awaitable), void(Status)>(initiate, use_awaitable,
                                                                                   std::move(job));
}

}  // namespace mailqd
