// Awaitable access to the StoreWriter: a coroutine posts a job to the writer
// thread and resumes on its own executor once the job's transaction is
// durable (group commit: concurrent callers share one fsync).
// Trusts the StoreWriter to call every Done exactly once, even on shutdown.
#pragma once

#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "daemon/net/asio.hpp"
#include "spool/result.hpp"
#include "spool/store_writer.hpp"

namespace mailqd {

// Runs job in the writer's next batch; completes with its Status (or the
// commit's) on the calling coroutine's executor. Keeps that executor busy
// until then, so io_context::run() does not return with a commit in flight.
awaitable<Status> run_in_writer(StoreWriter& writer, StoreWriter::Job job);

// fn(Store&) returns Status or Result<T>; its value is handed back only after
// the commit succeeded.
//
// GCC 12 destroys some temporaries of a co_await full-expression twice (a
// lambda or std::function argument holding a shared_ptr is the classic):
// callers build such arguments as named locals first, as done here.
template <class F>
awaitable<std::invoke_result_t<F&, Store&>> write_store(StoreWriter& writer, F fn)
{
    using R = std::invoke_result_t<F&, Store&>;
    if constexpr (std::is_same_v<R, Status>) {
        StoreWriter::Job job = std::move(fn);
        awaitable<Status> op = run_in_writer(writer, std::move(job));
        co_return co_await std::move(op);
    } else {
        auto out = std::make_shared<std::optional<R>>();
        StoreWriter::Job job = [fn = std::move(fn), out](Store& store) mutable -> Status {
            R result = fn(store);
            if (!result) return result.error();
            out->emplace(std::move(result));
            return {};
        };
        awaitable<Status> op = run_in_writer(writer, std::move(job));
        Status status = co_await std::move(op);
        if (!status) co_return status.error();
        co_return std::move(**out);
    }
}

}  // namespace mailqd
