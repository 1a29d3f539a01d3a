// See spool_watcher.hpp.
#include "daemon/spool_watcher.hpp"

#include <spdlog/spdlog.h>
#include <sys/inotify.h>
#include <unistd.h>
#include <array>
#include <cerrno>
#include <cstring>
#include <deque>
#include <optional>
#include <set>

#include "daemon/net/spawn.hpp"
#include "spool/text_sanitize.hpp"

namespace mailqd {
namespace {
// A spool file's name is chosen by whoever dropped it: outside text.
std::string shown(const std::string& name) { return printable(name, 200); }

// co_spawn default-constructs its result for the exception path: hence the
// optional (never empty once awaited).
awaitable<std::optional<Result<NewMessage>>> read_here(const SpoolDir& spool, std::string name,
                                                       std::uint64_t max_size, std::string hostname)
{
    co_return spool.read(name, max_size, hostname);
}

}  // namespace

struct SpoolWatcher::Impl : std::enable_shared_from_this<Impl> {
    Impl(asio::any_io_executor executor, SpoolDir spool, Store& reader, Intake& intake,
         SpoolWatcherOptions options)
        : events(executor),
          retry_timer(executor),
          spool(std::move(spool)),
          reader(reader),
          intake(intake),
          options(std::move(options))
    {
    }

    awaitable<void> watch_loop();
    void handle_events(const char* data, std::size_t size);
    void scan();
    void enqueue(const std::string& name);
    void start_next();
    awaitable<void> process(std::string name);
    void read_failed(const std::string& name, const Error& error);
    void quarantine(const std::string& name, const std::string& reason);
    void retry_later();

    asio::posix::stream_descriptor events;
    asio::steady_timer retry_timer;
    SpoolDir spool;
    Store& reader;
    Intake& intake;
    SpoolWatcherOptions options;
    std::set<std::string> known;  // waiting or active: never two at once
    std::deque<std::string> waiting;
    std::size_t active = 0;
    bool retry_armed = false;
    bool stopped = false;
    // Reading and parsing a file (up to max_message_size, and the owner's
    // name from NSS) happens here, not on the io thread.
    asio::thread_pool reading{1};
};

SpoolWatcher::SpoolWatcher(asio::any_io_executor executor, SpoolDir spool, Store& reader, Intake& intake,
                           SpoolWatcherOptions options)
    : impl_(std::make_shared<Impl>(executor, std::move(spool), reader, intake, std::move(options)))
{
}

SpoolWatcher::~SpoolWatcher() { stop(); }

Status SpoolWatcher::start()
{
    const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0) return make_error(ErrorKind::failure, std::string("inotify_init1: ") + std::strerror(errno));
    const auto dir = impl_->spool.incoming();
    if (::inotify_add_watch(fd, dir.c_str(), IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
        const int err = errno;
        ::close(fd);
        return make_error(ErrorKind::failure, dir.string() + ": inotify_add_watch: " + std::strerror(err));
    }
    impl_->events.assign(fd);
    spawn_logged(impl_->events.get_executor(), impl_->watch_loop(), "spool watcher");
    impl_->scan();
    return {};
}

void SpoolWatcher::stop()
{
    impl_->stopped = true;
    impl_->waiting.clear();
    error_code ec;
    impl_->events.close(ec);
    impl_->retry_timer.cancel();
}

void SpoolWatcher::set_options(SpoolWatcherOptions options) { impl_->options = std::move(options); }

awaitable<void> SpoolWatcher::Impl::watch_loop()
{
    auto self = shared_from_this();
    // Room for many events at once; NAME_MAX bounds each one.
    alignas(inotify_event) std::array<char, 64 * 1024> buffer;
    while (!stopped) {
        error_code ec;
        const std::size_t n =
            co_await events.async_read_some(asio::buffer(buffer), asio::redirect_error(use_awaitable, ec));
        if (ec) {
            if (!stopped) spdlog::error("spool watcher: inotify: {}", ec.message());
            co_return;
        }
        handle_events(buffer.data(), n);
    }
}

void SpoolWatcher::Impl::handle_events(const char* data, std::size_t size)
{
    for (std::size_t offset = 0; offset + sizeof(inotify_event) <= size;) {
        inotify_event event;
        std::memcpy(&event, data + offset, sizeof event);
        const char* name = data + offset + sizeof(inotify_event);
        offset += sizeof(inotify_event) + event.len;
        if (event.mask & IN_Q_OVERFLOW) {
            spdlog::warn("spool watcher: inotify queue overflow, rescanning");
            scan();
            continue;
        }
        if (event.len == 0 || (event.mask & IN_ISDIR)) continue;
        const std::string file(name, ::strnlen(name, event.len));
        if (!file.empty() && file[0] != '.') enqueue(file);
    }
}

void SpoolWatcher::Impl::scan()
{
    for (const auto& name : spool.scan()) enqueue(name);
}

void SpoolWatcher::Impl::enqueue(const std::string& name)
{
    if (stopped || !known.insert(name).second) return;
    waiting.push_back(name);
    start_next();
}

void SpoolWatcher::Impl::start_next()
{
    while (!stopped && active < options.max_parallel && !waiting.empty()) {
        std::string name = std::move(waiting.front());
        waiting.pop_front();
        ++active;
        asio::co_spawn(events.get_executor(), process(name),
                       [self = shared_from_this(), name](std::exception_ptr e) {
                           if (e) {
                               spdlog::error("spool file {}: unexpected error, will retry", shown(name));
                               self->retry_later();
                           }
                           --self->active;
                           self->known.erase(name);
                           self->start_next();
                       });
    }
}

awaitable<void> SpoolWatcher::Impl::process(std::string name)
{
    auto self = shared_from_this();
    awaitable<std::optional<Result<NewMessage>>> op = asio::co_spawn(
        reading, read_here(spool, name, options.max_message_size, options.hostname), use_awaitable);
    std::optional<Result<NewMessage>> read = co_await std::move(op);
    if (stopped) co_return;
    Result<NewMessage>& message = *read;
    if (!message) {
        read_failed(name, message.error());
        co_return;
    }
    if (auto id = reader.find_by_spool_key(message->spool_key)) {
        // Committed before a crash that came ahead of the unlink.
        spdlog::info("{}: spool file {} was queued already, removing it", *id, shown(name));
    } else {
        auto accept = intake.accept(std::move(*message));  // named: see store_async.hpp
        auto accepted = co_await std::move(accept);
        if (!accepted) {
            if (accepted.error().kind == ErrorKind::bad_message)
                quarantine(name, accepted.error().message);
            else
                retry_later();
            co_return;
        }
    }
    if (Status s = spool.remove(name); !s)
        spdlog::error("spool file {}: queued but not removed: {}", shown(name), printable(s.error().message));
}

void SpoolWatcher::Impl::read_failed(const std::string& name, const Error& error)
{
    switch (error.kind) {
        case ErrorKind::not_found:  // taken already, or renamed away again
            return;
        case ErrorKind::bad_message:
        case ErrorKind::permission: quarantine(name, error.message); return;
        default:
            spdlog::warn("spool file {}: {}; will retry", shown(name), printable(error.message));
            retry_later();
    }
}

void SpoolWatcher::Impl::quarantine(const std::string& name, const std::string& reason)
{
    if (Status s = spool.quarantine(name, reason); !s) {
        spdlog::error("spool file {}: {}; could not move it to bad/: {}", shown(name), printable(reason),
                      printable(s.error().message));
        retry_later();
        return;
    }
    spdlog::error("spool file {}: moved to bad/: {}", shown(name), printable(reason));
}

void SpoolWatcher::Impl::retry_later()
{
    if (retry_armed || stopped) return;
    retry_armed = true;
    retry_timer.expires_after(options.retry_after);
    retry_timer.async_wait([self = shared_from_this()](error_code ec) {
        self->retry_armed = false;
        if (!ec) self->scan();
    });
}

}  // namespace mailqd
