// Reads a relay's or mailbox's secret: the first line of password_file
// (refused unless private to its owner) or the stdout of password_command.
// Trusts the admin's command as much as the config file; never puts any part
// of a secret, or of the command's output, into an error.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "spool/config.hpp"

extern char** environ;

namespace mailqd {
namespace {

constexpr std::size_t max_secret = 64 * 1024;  // OAuth2 tokens are a few KiB
constexpr int command_timeout_ms = 30'000;

Error secret_error(std::string message) { return make_error(ErrorKind::config, std::move(message)); }

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

Result<std::string> read_secret_file(const std::filesystem::path& path)
{
    std::string what = "password_file " + path.string();
    Fd file{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY)};
    if (file.fd < 0) return secret_error(what + ": " + errno_text(errno));
    // fstat the opened file, not the name: the check and the read see the same inode.
    struct stat st {};
    if (::fstat(file.fd, &st) != 0) return secret_error(what + ": " + errno_text(errno));
    if (!S_ISREG(st.st_mode)) return secret_error(what + ": not a regular file");
    if (st.st_mode & (S_IRGRP | S_IROTH))
        return secret_error(what + ": readable by group or others, refused");
    std::string text;
    char buf[4096];
    while (text.size() < max_secret && text.find('\n') == std::string::npos) {
        ssize_t n = ::read(file.fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return secret_error(what + ": " + errno_text(errno));
        if (n == 0) break;
        text.append(buf, static_cast<std::size_t>(n));
    }
    text = text.substr(0, text.find('\n'));
    strip_line_end(text);
    if (text.empty()) return secret_error(what + ": first line is empty");
    return text;
}

// Reads the child's stdout until EOF, the size cap or the deadline.
// Returns false on a timeout.
bool read_until_eof(int fd, std::string& out, bool& too_long)
{
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(command_timeout_ms);
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
        if (out.size() + static_cast<std::size_t>(n) > max_secret) {
            too_long = true;
            return true;
        }
        out.append(buf, static_cast<std::size_t>(n));
    }
}

Result<std::string> run_secret_command(const std::string& command)
{
    const std::string what = "password_command";
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return secret_error(what + ": pipe: " + errno_text(errno));
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
    if (err != 0) return secret_error(what + ": cannot start /bin/sh: " + errno_text(err));
    ::close(write_end.fd);
    write_end.fd = -1;

    std::string out;
    bool too_long = false;
    bool finished = read_until_eof(read_end.fd, out, too_long);
    if (!finished || too_long) ::kill(pid, SIGKILL);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (!finished)
        return secret_error(what + ": no answer within " + std::to_string(command_timeout_ms / 1000) +
                            "s, killed");
    if (too_long) return secret_error(what + ": output longer than 64 KiB");
    if (WIFSIGNALED(status))
        return secret_error(what + ": killed by signal " + std::to_string(WTERMSIG(status)));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return secret_error(what + ": exited with status " + std::to_string(WEXITSTATUS(status)));
    strip_line_end(out);
    if (out.empty()) return secret_error(what + ": printed nothing");
    return out;
}

}  // namespace

Result<std::string> read_secret(const SecretSource& source)
{
    if (!source.file.empty() && !source.command.empty())
        return secret_error("password_file and password_command are exclusive");
    if (!source.file.empty()) return read_secret_file(source.file);
    if (!source.command.empty()) return run_secret_command(source.command);
    return secret_error("no password_file or password_command");
}

}  // namespace mailqd
