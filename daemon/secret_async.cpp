// See secret_async.hpp.
#include "daemon/secret_async.hpp"

#include <utility>

namespace mailqd {
namespace {

// co_spawn default-constructs its result for the exception path, which a
// Result cannot be: hence the optional (never empty once awaited).
awaitable<std::optional<Result<std::string>>> read_here(SecretSource source)
{
    co_return read_secret(source);
}

}  // namespace

awaitable<Result<std::string>> read_secret_async(std::optional<asio::any_io_executor> blocking,
                                                 SecretSource source)
{
    if (!blocking) co_return read_secret(source);
    awaitable<std::optional<Result<std::string>>> op =
        asio::co_spawn(*blocking, read_here(std::move(source)), use_awaitable);
    std::optional<Result<std::string>> read = co_await std::move(op);
    co_return std::move(*read);
}

}  // namespace mailqd
