// Bounded line reads and deadline writes; see line_reader.hpp.
#include "daemon/net/line_reader.hpp"

#include <algorithm>

namespace mailqd {
namespace {
constexpr std::size_t read_chunk = 16 * 1024;
}  // namespace

// The socket and its deadline timer live apart from the LineStream so that a
// timer handler still queued when the stream is gone finds nothing to touch.
struct LineStream::Shared {
    explicit Shared(StreamSocket s)
        : socket(std::move(s)), timer(socket.get_executor()) {}

    StreamSocket socket;
    asio::steady_timer timer;
    unsigned generation = 0;  // tells a stale timer handler from the live one
    bool timed_out = false;

    static void arm(const std::shared_ptr<Shared>& self, Duration timeout)
    {
        unsigned generation = ++self->generation;
        self->timed_out = false;
        self->timer.expires_after(timeout);
        self->timer.async_wait([weak = std::weak_ptr<Shared>(self), generation](error_code ec) {
            auto s = weak.lock();
            if (!s || ec || s->generation != generation) return;
            // Cancel rather than close: the session still says 421 before it hangs up.
            s->timed_out = true;
            error_code ignored;
            s->socket.cancel(ignored);
        });
    }

    void disarm()
    {
        ++generation;
        timer.cancel();
    }
};

LineStream::LineStream(StreamSocket socket)
    : shared_(std::make_shared<Shared>(std::move(socket))) {}

LineStream::~LineStream() { close(); }

void LineStream::close()
{
    error_code ignored;
    shared_->socket.close(ignored);
    shared_->disarm();
}

bool LineStream::is_open() const { return shared_->socket.is_open(); }

bool LineStream::has_buffered_line() const
{
    return !discarding_ && buffer_.find('\n', begin_) != std::string::npos;
}

awaitable<IoStatus> LineStream::fill(Duration timeout)
{
    if (timeout <= Duration::zero()) co_return IoStatus::timeout;
    if (!shared_->socket.is_open()) co_return IoStatus::error;
    // One move per read, not one per line: pipelined input stays linear.
    if (begin_ > 0) {
        buffer_.erase(0, begin_);
        scanned_ -= begin_;
        begin_ = 0;
    }
    auto old_size = buffer_.size();
    buffer_.resize(old_size + read_chunk);
    error_code ec;
    Shared::arm(shared_, timeout);
    std::size_t n = co_await shared_->socket.async_read_some(
        asio::buffer(buffer_.data() + old_size, read_chunk), asio::redirect_error(use_awaitable, ec));
    bool timed_out = shared_->timed_out;
    shared_->disarm();
    buffer_.resize(old_size + n);
    if (n > 0) co_return IoStatus::ok;
    if (ec == asio::error::eof) co_return IoStatus::eof;
    co_return timed_out ? IoStatus::timeout : IoStatus::error;
}

awaitable<IoStatus> LineStream::read_line(std::string& line, LineLimit limit, Duration timeout)
{
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        auto lf = buffer_.find('\n', std::max(begin_, scanned_));
        if (lf != std::string::npos) {
            std::size_t end = (lf > begin_ && buffer_[lf - 1] == '\r') ? lf - 1 : lf;
            bool overlong = discarding_ || end - begin_ > limit.max_length;
            if (!overlong) line.assign(buffer_, begin_, end - begin_);
            begin_ = scanned_ = lf + 1;
            discarding_ = false;
            co_return overlong ? IoStatus::too_long : IoStatus::ok;
        }
        scanned_ = buffer_.size();
        // +1: the CR of a CRLF may be all that is missing.
        if (buffer_.size() - begin_ > limit.max_length + 1 || discarding_) {
            if (!limit.discard_overlong) co_return IoStatus::too_long;
            discarding_ = true;
            buffer_.clear();
            begin_ = scanned_ = 0;
        }
        if (limit.extend_on_progress) deadline = std::chrono::steady_clock::now() + timeout;
        IoStatus status = co_await fill(deadline - std::chrono::steady_clock::now());
        if (status != IoStatus::ok) co_return status;
    }
}

awaitable<IoStatus> LineStream::write(std::string_view data, Duration timeout)
{
    if (!shared_->socket.is_open()) co_return IoStatus::error;
    error_code ec;
    Shared::arm(shared_, timeout);
    co_await asio::async_write(shared_->socket, asio::buffer(data.data(), data.size()),
                               asio::redirect_error(use_awaitable, ec));
    bool timed_out = shared_->timed_out;
    shared_->disarm();
    if (!ec) co_return IoStatus::ok;
    co_return timed_out ? IoStatus::timeout : IoStatus::error;
}

}  // namespace mailqd
