// See sendmail_smtp.hpp.
#include "cli/sendmail_smtp.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <string>
#include <string_view>

#include "cli/unix_socket.hpp"
#include "spool/text_sanitize.hpp"

namespace mailqd {
namespace {

// Writes all of data to a pipe or file; false once the reader is gone.
bool write_fd(int fd, std::string_view data)
{
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

// What the first reply line says about the session: the daemon refuses a
// user, or is too busy, in its greeting and then hangs up.
struct Greeting {
    std::string line;  // up to its LF
    bool complete = false;

    void see(std::string_view data)
    {
        if (complete) return;
        std::size_t lf = data.find('\n');
        line.append(data.substr(0, lf));
        complete = lf != std::string_view::npos || line.size() > 512;
    }
    Status verdict() const
    {
        std::string text = one_line(line, 400);
        if (text.rfind("554", 0) == 0) return make_error(ErrorKind::permission, text);
        if (text.rfind("421", 0) == 0) return make_error(ErrorKind::temporary, text);
        return {};
    }
};

}  // namespace

Status relay_smtp_session(const std::filesystem::path& socket_path, int client_in, int client_out)
{
    // A client that closes its end early must not kill us mid-write: the
    // write just fails.
    std::signal(SIGPIPE, SIG_IGN);
    auto connected = UnixSocket::connect(socket_path);
    if (!connected) {
        write_fd(client_out, "421 4.3.2 mailqd is not available\r\n");
        return connected.error();
    }
    UnixSocket& server = *connected;
    Greeting greeting;
    bool client_open = true;
    char chunk[65536];
    for (;;) {
        pollfd fds[2] = {{server.native_handle(), POLLIN, 0}, {client_open ? client_in : -1, POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            return make_error(ErrorKind::failure, std::string("poll: ") + std::strerror(errno));
        }
        if (fds[0].revents) {
            ssize_t n = ::recv(server.native_handle(), chunk, sizeof chunk, 0);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;  // the daemon ended the session
            std::string_view data(chunk, static_cast<std::size_t>(n));
            greeting.see(data);
            if (!write_fd(client_out, data)) break;  // the client went away
        }
        if (client_open && fds[1].revents) {
            ssize_t n = ::read(client_in, chunk, sizeof chunk);
            if (n < 0 && errno == EINTR) continue;
            if (n > 0 && server.write_all(std::string_view(chunk, static_cast<std::size_t>(n)))) continue;
            // End of input (or it failed): the daemon sees EOF, answers
            // what it still has and closes, which ends the loop above.
            client_open = false;
            ::shutdown(server.native_handle(), SHUT_WR);
        }
    }
    return greeting.verdict();
}

}  // namespace mailqd
