// Blocking Unix socket client (see unix_socket.hpp).
#include "cli/unix_socket.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>

namespace mailqd {

namespace {

std::string errno_text(int error) { return std::strerror(error); }

}  // namespace

UnixSocket::UnixSocket(UnixSocket&& other) noexcept : fd_(other.fd_), buffer_(std::move(other.buffer_))
{
    other.fd_ = -1;
}

UnixSocket& UnixSocket::operator=(UnixSocket&& other) noexcept
{
    if (this != &other) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = other.fd_;
        buffer_ = std::move(other.buffer_);
        other.fd_ = -1;
    }
    return *this;
}

UnixSocket::~UnixSocket()
{
    if (fd_ >= 0) ::close(fd_);
}

Result<UnixSocket> UnixSocket::connect(const std::filesystem::path& path)
{
    std::string where = "cannot reach mailqd at " + path.string();
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.native().size() >= sizeof address.sun_path)
        return make_error(ErrorKind::unavailable, where + ": socket path too long");
    std::memcpy(address.sun_path, path.c_str(), path.native().size());

    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return make_error(ErrorKind::failure, "socket: " + errno_text(errno));
    UnixSocket socket(fd);
    int rc;
    do {
        rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) {
        int error = errno;
        ErrorKind kind = (error == EACCES || error == EPERM) ? ErrorKind::permission : ErrorKind::unavailable;
        return make_error(kind, where + ": " + errno_text(error));
    }
    return socket;
}

Status UnixSocket::write_all(std::string_view data)
{
    while (!data.empty()) {
        ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return make_error(ErrorKind::unavailable, "write: " + errno_text(errno));
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
}

Status UnixSocket::wait_readable(std::chrono::seconds timeout)
{
    pollfd p{fd_, POLLIN, 0};
    int ms = static_cast<int>(timeout.count() * 1000);
    for (;;) {
        int rc = ::poll(&p, 1, ms);
        if (rc > 0) return {};
        if (rc == 0)
            return make_error(ErrorKind::temporary,
                              "no answer within " + std::to_string(timeout.count()) + "s");
        if (errno != EINTR) return make_error(ErrorKind::failure, "poll: " + errno_text(errno));
    }
}

Result<std::string> UnixSocket::read_line(std::size_t max_length, std::chrono::seconds timeout)
{
    for (;;) {
        auto newline = buffer_.find('\n');
        if (newline != std::string::npos) {
            std::string line = buffer_.substr(0, newline);
            buffer_.erase(0, newline + 1);
            if (!line.empty() && line.back() == '\r') line.pop_back();
            return line;
        }
        if (buffer_.size() > max_length)
            return make_error(ErrorKind::failure,
                              "answer line longer than " + std::to_string(max_length) + " bytes");
        if (auto ready = wait_readable(timeout); !ready) return ready.error();
        char chunk[65536];
        ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return make_error(ErrorKind::unavailable, "read: " + errno_text(errno));
        if (n == 0) return make_error(ErrorKind::unavailable, "connection closed by mailqd");
        buffer_.append(chunk, static_cast<std::size_t>(n));
    }
}

}  // namespace mailqd
