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
        writer.post(std::move(job), [shared, work](Status status) mutable {
            asio::post(work, [shared, status = std::move(status)]() mutable {
                (*shared)(std::move(status));
            });
            work = asio::any_io_executor();  // release the work count
        });
    };
    co_return co_await asio::async_initiate<decltype(use_awaitable), void(Status)>(
        initiate, use_awaitable, std::move(job));
}

}  // namespace mailqd
