// See secret_command.hpp.
#include "spool/secret_command.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace mailqd {
namespace {

constexpr std::size_t max_output = 64 * 1024;  // OAuth2 tokens are a few KiB

Error command_error(std::string message) { return make_error(ErrorKind::config, std::move(message)); }

std::string errno_text(int err) { return std::strerror(err); }

void strip_line_end(std::string& text)
{
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
}

// Closes a descriptor when it goes out of scope.
struct Fd {
    int fd = -1;
    ~Fd()
    {
        if (fd >= 0) ::close(fd);
    }
};

// Reads the child's stdout until EOF, the size cap or the deadline.
// Returns false on a timeout.
bool read_until_eof(int fd, std::chrono::milliseconds timeout, std::string& out, bool& too_long)
{
    auto deadline = std::chrono::steady_clock::now() + timeout;
    char buf[4096];
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                          std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        pollfd p{fd, POLLIN, 0};
        int r = ::poll(&p, 1, static_cast<int>(left.count()));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return r == 0 ? false : true;
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return true;
        if (out.size() + static_cast<std::size_t>(n) > max_output) {
            too_long = true;
            return true;
        }
        out.append(buf, static_cast<std::size_t>(n));
    }
}

}  // namespace

Result<std::string> run_secret_command(const std::string& command, std::chrono::milliseconds timeout)
{
    const std::string what = "password_command";
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return command_error(what + ": pipe: " + errno_text(errno));
    Fd read_end{pipe_fds[0]};
    Fd write_end{pipe_fds[1]};

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, write_end.fd, 1);
    std::string shell = "/bin/sh";
    std::string dash_c = "-c";
    std::string cmd = command;
    char* argv[] = {shell.data(), dash_c.data(), cmd.data(), nullptr};
    pid_t pid = -1;
    int err = ::posix_spawn(&pid, "/bin/sh", &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    if (err != 0) return command_error(what + ": cannot start /bin/sh: " + errno_text(err));
    ::close(write_end.fd);
    write_end.fd = -1;

    std::string out;
    bool too_long = false;
    bool finished = read_until_eof(read_end.fd, timeout, out, too_long);
    if (!finished || too_long) ::kill(pid, SIGKILL);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (!finished)
        return command_error(what + ": no answer within " + std::to_string(timeout.count() / 1000) +
                             "s, killed");
    if (too_long) return command_error(what + ": output longer than 64 KiB");
    if (WIFSIGNALED(status))
        return command_error(what + ": killed by signal " + std::to_string(WTERMSIG(status)));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return command_error(what + ": exited with status " + std::to_string(WEXITSTATUS(status)));
    strip_line_end(out);
    if (out.empty()) return command_error(what + ": printed nothing");
    return out;
}

}  // namespace mailqd
